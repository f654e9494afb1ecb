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
#include "pg/shape_follower.h"
#include "shadowstream.pb.h"

namespace ss::apply {

// The record the shape follower takes for a schema record: the definition's columns as a row of that shape carries
// them (without generated columns, which pgoutput leaves out), and its shape_id. Pure.
shadowstream::v1::ChangeRecord shape_record(const shadowstream::v1::ChangeRecord& schema);

// A checkpoint table's definition (CheckpointTable.definition) as the schema record it stands for. Pure.
shadowstream::v1::ChangeRecord schema_record_of(const shadowstream::v1::CheckpointTable& table);

// What the target table holds now, beyond its columns' names and types.
struct TargetSchema {
  struct Column {
    std::string name;
    std::optional<std::string> default_expr;
    std::optional<std::string> generated;
    bool not_null = false;
    std::string identity;  // "a", "d" or ""
    std::optional<std::string> comment;
    std::string type;                      // the target's format_type()
    std::optional<std::string> collation;  // schema-qualified, where not the type's default
  };
  struct Named {
    std::string name;
    std::string definition;  // a constraint's pg_get_constraintdef; an index's "UNIQUE " (when unique) + its using
    std::optional<std::string> comment;
  };
  std::vector<Column> columns;
  std::vector<Named> constraints;
  std::vector<Named> indexes;  // those no constraint owns
  std::optional<std::string> comment;
  std::string replica_identity = "d";
  std::string identity_index;          // REPLICA IDENTITY USING INDEX's index
  std::vector<std::string> sequences;  // owned sequences that exist, as the definition names them
};

// One statement towards the definition. `probe` (when not empty) is the same statement on the temporary copy, and
// `in_place` names a column whose default the statement sets: either way the statement carries an expression of the
// record, tried first.
struct SchemaStep {
  std::string sql;
  std::string probe;
  std::string what;    // "default of column v", "index t_v": how a skipped step is reported
  std::string skip;    // not to be run, and why (reported once)
  std::string column;  // a generated column to add: its SQL waits for the target's spelling of its type
  // A default to set: tried on the table itself (a default is stored, not run), kept unless refused.
  std::string in_place;
};

// The steps that take the target (`table` quoted, in schema `schema` unquoted; `probe_table` the temporary copy)
// from `now` to `def`, in order: sequences, generated columns, column defaults / NOT NULL / identity / comments,
// constraints, indexes, the other comments, the replica identity. `literal` quotes an SQL literal. Pure.
std::vector<SchemaStep> schema_steps(const shadowstream::v1::TableDefinition& def, const std::string& replica_identity,
                                     const TargetSchema& now, const std::string& schema, const std::string& table,
                                     const std::string& probe_table,
                                     const std::function<std::string(const std::string&)>& literal);

class SchemaApplier {
 public:
  // Creates the table when the target lacks it (every column in the source's order, generated ones included), has
  // `follow_columns` take the columns as a row would, then reads the target's catalog and runs schema_steps,
  // probing each expression first.
  Outcome apply(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                const std::string& schema, const std::string& table, std::string_view payload,
                const std::function<Outcome()>& follow_columns);
  // DROP TABLE.
  Outcome drop_table(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                     const std::string& table, std::string_view payload);
  // DROP INDEX (its record names the index and its schema, `schema` mapped to the target's).
  Outcome drop_index(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& schema,
                     std::string_view payload);

 private:
  Outcome read(Pipeline& p, const std::string& table, TargetSchema& out);
  Outcome create(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                 const std::string& schema, const std::string& table, std::string_view payload);
  Outcome probe(Pipeline& p, const std::string& create_probe, const SchemaStep& step, std::string& refused);
  void report(const shadowstream::v1::ChangeRecord& rec, const std::string& table, const std::string& what,
              const std::string& why);
  std::set<std::string> reported_;
};

}  // namespace ss::apply
