// A schema record (ss-capture install-ddl, pg/ddl.h) applied to a --create-tables target at its position, in the
// open target transaction: the table's columns through the shape follower (as a row of that shape would take
// them), then what rows never carry: defaults, NOT NULL, generated columns, owned and identity sequences,
// constraints, indexes, comments and the replica identity.
//
// A definition's expressions (defaults, generation, CHECK and EXCLUDE constraints, index keys and predicates) are
// SQL text from the source. Each is first tried on an empty temporary copy of the table inside a savepoint, under
// search_path pg_catalog, and used only if what it calls is the server's own (pg_catalog) and free of side effects
// (not volatile, but for nextval, gen_random_uuid, random, clock_timestamp and timeofday); anything else is skipped
// and reported once, as are foreign keys, which the replay does not make (it applies the source's changes in order,
// and a shadow's cascades would apply them twice).
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/pipeline.h"
#include "pg/schema_steps.h"
#include "pg/shape_follower.h"
#include "shadowstream.pb.h"

namespace ss::apply {

class SchemaApplier {
 public:
  // `bookkeeping`: the schema of the replay's own tables (position, relations), which no record may change.
  explicit SchemaApplier(std::string bookkeeping) : bookkeeping_(std::move(bookkeeping)) {}
  // Creates the table when the target lacks it (every column in the source's order, generated ones included), has
  // `follow_columns` take the columns as a row would, then reads the target's catalog and runs schema_steps,
  // probing each expression first.
  Outcome apply(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                const std::string& schema, const std::string& table, std::string_view payload,
                const std::function<Outcome()>& follow_columns);
  // DROP TABLE, of a table this replay made for the record's relation only.
  Outcome drop_table(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                     const std::string& table, std::string_view payload);
  // DROP INDEX (its record names the index and its schema, `schema` mapped to the target's), of an index on a table
  // this replay made for the record's source only.
  Outcome drop_index(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                     const std::string& schema, std::string_view payload);

 private:
  Outcome read(Pipeline& p, const std::string& schema, const std::string& table, TargetSchema& out);
  Outcome create(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                 const std::string& schema, const std::string& table, std::string_view payload);
  Outcome probe(Pipeline& p, const std::string& create_probe, const SchemaStep& step, std::string& refused);
  void report(const shadowstream::v1::ChangeRecord& rec, const std::string& table, const std::string& what,
              const std::string& why);
  std::string bookkeeping_;
  std::set<std::string> reported_;
};

}  // namespace ss::apply
