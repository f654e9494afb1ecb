// Following the source's schema on a PostgreSQL target: with --create-tables, a table is created from its first
// record, altered before the first record of a new shape (columns added with their missing values, dropped, retyped,
// the key moved), renamed with its relation and replaced when its relation is dropped and created again; without,
// the target is never altered and a record with columns it lacks is refused. Every change is made in the open
// target transaction, so a replay that stops leaves the table as it was.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/shape.h"
#include "pg/pipeline.h"

namespace ss::apply {

// What following a relation's OID asks of its target table (ShapeFollower::plan_relation).
struct RelationPlan {
  bool known = false;       // registered under this name already: nothing to do
  std::string was;          // the table it had, to be renamed to the new name (empty: none to rename)
  bool drop = false;        // the new name's table belongs to another relation of the source: dropped first
  bool unregister = false;  // other relations were registered under the new name: their rows go
};

// The DDL that takes `table` (quoted) to the record's shape (`ch`), in order: the old primary key constraint
// `old_key` dropped (when the key changes and the table has one), columns dropped, added (`added_types[i]` the
// target's spelling of ch.added[i]'s type; a column with a missing value gets it as a default for the rows already
// there, dropped again right after), retyped (`retyped_types` likewise), the new key added. `literal` quotes a value
// as an SQL literal. Pure, for unit tests.
std::vector<std::string> alter_statements(const std::string& table, const shape::Change& ch, const std::string& old_key,
                                          const std::vector<std::string>& added_types,
                                          const std::vector<std::string>& retyped_types,
                                          const std::function<std::string(const std::string&)>& literal);

class ShapeFollower {
 public:
  // `relations`: the quoted table that records which target table holds each source relation (--create-tables).
  ShapeFollower(bool create_tables, std::string relations);
  // DDL for Positions::create: the relations table, with --create-tables.
  std::string create_sql() const;

  // Whether `table`'s records of `shape` were checked against the target already.
  bool knows(const std::string& table, uint64_t shape) const;
  // Before the first record of a new shape, the target takes that shape (`altered`: its columns or key changed).
  Outcome follow_shape(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& table,
                       std::string_view payload, bool& altered);
  // --create-tables: a relation is known by its OID. Renamed on the source (same OID, new name), its table is
  // renamed; dropped and recreated (a new OID under a name whose table held another), the table is replaced. Plan
  // (queries only), then change (DDL, once the caller has applied the rows folded under the old names).
  Outcome plan_relation(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& table,
                        RelationPlan& plan);
  Outcome change_relation(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& table,
                          std::string_view payload, const RelationPlan& plan);
  // --create-tables: the target relation is made from the record's own column names and types.
  Outcome ensure_table(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& schema,
                       const std::string& table, std::string_view payload);
  // Whether --create-tables registered `table` (quoted, qualified) for `source`'s relation `oid` (0: any of its
  // relations), or the table holding index `index` (quoted, qualified): what a schema record may drop or reference.
  Outcome registered(Pipeline& p, const std::string& source, uint32_t oid, const std::string& table, bool& yes);
  Outcome index_registered(Pipeline& p, const std::string& source, const std::string& index, bool& yes);
  // A dropped table is no longer the source's: a table made later under its name is not the replay's.
  void unregister(Pipeline& p, const std::string& source, const std::string& table);
  // Whether other tables' keys reference `table` (through other tables' keys too: what TRUNCATE ... CASCADE of it
  // would empty), and whether every one of those tables is one of `source`'s.
  Outcome referenced(Pipeline& p, const std::string& source, const std::string& table, bool& referenced,
                     bool& all_ours);
  // The foreign keys of `source`'s other tables that reference `table`, as ALTER TABLE ... DROP CONSTRAINT
  // statements.
  Outcome keys_to(Pipeline& p, const std::string& source, const std::string& table, std::vector<std::string>& drops);
  // Whether the target has this (quoted, qualified) table, as seen by the open transaction.
  Outcome table_exists(Pipeline& p, const std::string& table, bool& exists);
  // A DDL statement of the open transaction, logged with the position that called for it.
  void run_ddl(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& sql,
               std::string_view payload);
  // What the rolled-back transaction created or changed is gone with it: known again from the target when needed.
  void clear();
  // The table was changed behind the follower's back (a schema record): known again from the target when needed.
  void forget(const std::string& table);
  // The target's own spelling of a column's type (core/type_name.h): a record's type name is never pasted.
  Outcome sql_type(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const shadowstream::v1::Column& c,
                   std::string_view payload, std::string& out);

 private:
  struct TargetShape {
    uint64_t shape = 0;  // the shape_id the target was last checked against
    std::vector<shape::TargetColumn> columns;
  };
  Outcome target_columns(Pipeline& p, const std::string& table, std::vector<shape::TargetColumn>& out);
  Outcome alter(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& table,
                std::string_view payload, const shape::Change& ch, const std::vector<shape::TargetColumn>& had);

  bool create_tables_;
  std::string relations_;
  std::unordered_map<std::string, TargetShape> shapes_;  // target -> what it is known to match
  std::unordered_set<std::string> checked_;              // target relations known to exist
  // oid -> (source, target) as registered: a vector, as sources replayed into one target may share OIDs.
  std::unordered_map<uint32_t, std::vector<std::pair<std::string, std::string>>> rel_targets_;
};

}  // namespace ss::apply
