// The pure half of applying a schema record (schema_apply.h): the record the shape follower takes for it, and the
// statements that take a target table from what its catalog holds to the record's definition. No connection, so
// every case is a unit test.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shadowstream.pb.h"

namespace ss::apply {

// A definition's column as a row's column names it (no value).
shadowstream::v1::Column as_column(const shadowstream::v1::ColumnDefinition& c);

// A schema-qualified name as a record gives it (a sequence's, a collation's), quoted again by us; nullopt when it is
// not one (core/type_name.h's rules: a name, never SQL).
std::optional<std::string> qualified_name(const std::string& text);

// The record the shape follower takes for a schema record: the definition's columns as a row of that shape carries
// them (without generated columns, which pgoutput leaves out), and its shape_id. Pure.
shadowstream::v1::ChangeRecord shape_record(const shadowstream::v1::ChangeRecord& schema);

// A checkpoint table's definition (CheckpointTable.definition) as the schema record it stands for. Pure.
shadowstream::v1::ChangeRecord schema_record_of(const shadowstream::v1::CheckpointTable& table);

// A foreign key as pg_get_constraintdef prints it (PostgreSQL 15 to 18): "FOREIGN KEY (a) REFERENCES s.t(id) MATCH
// FULL ON UPDATE CASCADE ON DELETE SET NULL (a) DEFERRABLE INITIALLY DEFERRED NOT VALID". Names are parsed into
// identifiers and every clause is one of the grammar's words, so a key rebuilt from it (foreign_key_sql) carries
// nothing but a key.
struct ForeignKey {
  std::vector<std::string> columns;
  std::string schema, table;  // the referenced table
  std::vector<std::string> referenced;
  std::string match, on_update, on_delete;  // "" when the default
  std::vector<std::string> delete_columns;  // ON DELETE SET NULL/DEFAULT (columns)
  bool deferrable = false, deferred = false, not_valid = false;
  bool operator==(const ForeignKey&) const = default;
};
std::optional<ForeignKey> parse_foreign_key(std::string_view definition);
// The key's definition, every name quoted, referencing `table` (quoted, qualified).
std::string foreign_key_sql(const ForeignKey& key, const std::string& table);

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
  std::vector<std::string> others;     // the schema's other sequences: never taken over
  // The tables the definition's foreign keys reference, as the replay maps them, and whether each is one this
  // replay made for the record's source (a key to any other is not made).
  struct Referenced {
    std::string schema, table;                // the source's
    std::string target_schema, target_table;  // the target's
    bool replayed = false;
  };
  std::vector<Referenced> referenced;
  std::string no_foreign_keys;      // why the target makes no foreign key at all ("" when it does)
  bool defer_foreign_keys = false;  // made in a later pass (a checkpoint's tables, before all of them exist)
};

// One statement towards the definition. `probe` (when not empty) is the same statement on the temporary copy: the
// statement carries an expression of the record, tried there first, and used only if the copy reads the object back
// (`readback`: 'd' the default or generation expression of column `object`, 'c' constraint `object`, 'i' index
// `object`) exactly as the record says (`expect`). Text that holds more than the expression (another ALTER TABLE
// subcommand after a comma, a USING, a TABLESPACE) is never read back as it was written, so it is never run.
struct SchemaStep {
  std::string sql;
  std::string probe;
  std::string what;    // "default of column v", "index t_v": how a skipped step is reported
  std::string skip;    // not to be run, and why (reported once)
  std::string column;  // a generated column to add: its SQL waits for the target's spelling of its type
  char readback = 0;
  std::string object;
  std::string expect;
  std::string needs;  // run only if the step of this `what` was (a comment on a constraint this record makes)
};

// The steps that take the target (`table` quoted, in schema `schema` unquoted; `probe_table` the temporary copy)
// from `now` to `def` (owned sequences only in the table's schema, never one that is another's), in order: sequences,
// generated columns, column defaults / NOT NULL / identity / comments, constraints, indexes, the other comments, the
// replica identity. `literal` quotes an SQL literal. Pure.
std::vector<SchemaStep> schema_steps(const shadowstream::v1::TableDefinition& def, const std::string& replica_identity,
                                     const TargetSchema& now, const std::string& schema, const std::string& table,
                                     const std::string& probe_table,
                                     const std::function<std::string(const std::string&)>& literal);

}  // namespace ss::apply
