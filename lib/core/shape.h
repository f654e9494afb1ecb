// A relation's shape (its columns as change records carry them) and what a shadow table must change to take
// records of a new shape. Pure functions: the applier brings the target's catalog, so all of it is testable
// without a server.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shadowstream.pb.h"

namespace ss::shape {

// The fingerprint ChangeRecord.shape_id holds: relation_oid, schema, table, replica_identity and each column's
// name, type_oid, type_modifier and is_key, in order, from the record's new image (its old image when it has none:
// deletes). Never 0 for a record with columns; 0 without.
uint64_t id(const shadowstream::v1::ChangeRecord& rec);

// Makes `to` a schema record (op = schema) of `from`'s table: its schema, table, relation_oid, replica_identity and
// definition; the rest of `to` (source, position) stays. How the trigger's message, a Debezium message's content and
// a schema record turn into one another.
void take_schema(const shadowstream::v1::ChangeRecord& from, shadowstream::v1::ChangeRecord& to);

// A column of the target table, as its catalog describes it.
struct TargetColumn {
  std::string name;
  uint32_t type_oid = 0;
  std::string type_name;  // schema-qualified when not in pg_catalog, as records name types
  int32_t type_modifier = -1;
  bool is_key = false;  // part of the primary key
};

// How the target differs from a record's shape.
struct Change {
  std::vector<const shadowstream::v1::Column*> added;    // in the record, not in the target
  std::vector<std::string> dropped;                      // in the target, not in the record
  std::vector<const shadowstream::v1::Column*> retyped;  // in both, with another type or modifier
  bool key_changed = false;                              // the record's key columns are not the target's key
  std::vector<std::string> key;                          // the record's key columns (empty: no key)
  bool empty() const { return added.empty() && dropped.empty() && retyped.empty() && !key_changed; }
};

// Built-in types (OIDs below 16384) match by OID, user types by name, both with their modifier.
bool same_type(const shadowstream::v1::Column& c, const TargetColumn& t);

Change compare(const shadowstream::v1::ChangeRecord& rec, const std::vector<TargetColumn>& target);

// One line for humans: "+b int4, -c, a int4 -> int8, key (id, k)".
std::string describe(const Change& change, const std::vector<TargetColumn>& target);

}  // namespace ss::shape
