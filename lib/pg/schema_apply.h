// A schema record (ss-capture install-ddl, pg/ddl.h) applied to a --create-tables target at its position, in the
// open target transaction: the table's columns through the shape follower (as a row of that shape would take
// them), then what rows never carry: defaults, NOT NULL, generated columns, owned and identity sequences,
// constraints, indexes, comments and the replica identity.
//
// A definition's expressions (defaults, generation, CHECK and EXCLUDE constraints, index keys and predicates) are
// SQL text from the source. Each is first tried on an empty temporary copy of the table inside a savepoint, under
// search_path pg_catalog, and used only if what it calls is the server's own (pg_catalog) and free of side effects
// (not volatile, but for nextval, gen_random_uuid, random, clock_timestamp and timeofday); anything else is skipped
// and reported once.
//
// Foreign keys are made between the replay's own tables (a key to any other table is reported once and skipped),
// when the target session applies as PostgreSQL's own subscriber does, with session_replication_role = replica: the
// keys then neither check the replay's order of rows nor cascade the source's changes a second time (the source's
// cascaded changes are records of their own).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pg/pipeline.h"
#include "pg/schema_steps.h"
#include "pg/shape_follower.h"
#include "shadowstream.pb.h"

namespace ss::apply {

// The record with its TRUNCATE's CASCADE set.
shadowstream::v1::ChangeRecord with_cascade(const shadowstream::v1::ChangeRecord& rec);

class SchemaApplier {
 public:
  // `bookkeeping`: the schema of the replay's own tables (position, relations), which no record may change.
  // `target_of`: a source table's target (schema, table), unquoted, as the replay maps it.
  using TargetOf = std::function<std::pair<std::string, std::string>(const std::string&, const std::string&)>;
  SchemaApplier(std::string bookkeeping, TargetOf target_of)
      : bookkeeping_(std::move(bookkeeping)), target_of_(std::move(target_of)) {}
  // With --create-tables the target session applies as PostgreSQL's subscriber does, where its role may: keys
  // between the replay's tables can then be made.
  void replica_mode(PGconn* conn);
  // Whether a TRUNCATE the source sent without CASCADE takes it on the target: the source's emptied the tables whose
  // keys reference this one in the same command, and the replay's copies of those keys refuse it alone. Only when
  // every table that empties is one of the source's.
  Outcome cascades(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                   const std::string& table, bool& cascade);
  // A checkpoint's definitions are applied in two passes: 1 makes its tables, 2 the keys between them and sets the
  // sequences' values (a schema record's are not: a sequence is not transactional, and rows carry their values).
  // 0: a schema record.
  void checkpoint_pass(int pass) { pass_ = pass; }
  // Creates the table when the target lacks it (every column in the source's order, generated ones included), has
  // `follow_columns` take the columns as a row would, then reads the target's catalog and runs schema_steps,
  // probing each expression first.
  Outcome apply(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                const std::string& schema, const std::string& table, std::string_view payload,
                const std::function<Outcome()>& follow_columns);
  // --concurrent-indexes: the indexes schema records create are queued in `table` (in the record's transaction, so
  // that a crash loses none) and built CONCURRENTLY by build_queued once it commits.
  void build_concurrently(std::string table) { queue_ = std::move(table); }
  // The queue's DDL for Positions::create ("" without --concurrent-indexes).
  std::string create_sql() const;
  bool queued() const { return queued_; }
  // Outside any transaction (and outside the pipeline): builds every queued index, one at a time. An index a build
  // left invalid (a crash) is dropped and built again; one that cannot be built is said and left out.
  void build_queued(Pipeline& p);
  // DROP TABLE, of a table this replay made for the record's relation only.
  Outcome drop_table(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                     const std::string& table, std::string_view payload);
  // DROP INDEX (its record names the index and its schema, `schema` mapped to the target's), of an index on a table
  // this replay made for the record's source only.
  Outcome drop_index(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                     const std::string& schema, std::string_view payload);

 private:
  Outcome read(Pipeline& p, const std::string& schema, const std::string& table, TargetSchema& out);
  Outcome read_referenced(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                          TargetSchema& now);
  Outcome add_generated(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                        const std::string& table, const std::string& copy, std::string_view payload, SchemaStep& step);
  void queue_index(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& schema,
                   const std::string& table, const SchemaStep& step, std::string_view payload);
  // A queued index (quoted, qualified) leaves the queue: dropped, or refused now (not built from an earlier record's
  // statement either).
  void unqueue_index(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const std::string& index,
                     std::string_view payload);
  void set_sequences(Pipeline& p, const shadowstream::v1::ChangeRecord& rec, const TargetSchema& now,
                     std::string_view payload);
  Outcome create(Pipeline& p, ShapeFollower& follower, const shadowstream::v1::ChangeRecord& rec,
                 const std::string& schema, const std::string& table, std::string_view payload);
  Outcome probe(Pipeline& p, const std::vector<std::string>& make, const SchemaStep& step, const std::string& copy,
                std::string& refused);
  void report(const shadowstream::v1::ChangeRecord& rec, const std::string& table, const std::string& what,
              const std::string& why);
  std::string bookkeeping_;
  TargetOf target_of_;
  std::string no_foreign_keys_ = "the target session does not apply in replica mode";
  int pass_ = 0;
  std::string queue_;
  bool queued_ = false;
  std::set<std::string> reported_;
  std::map<std::string, std::string> copies_;  // table -> the probes' copy kept for it in this session
  uint64_t salt_ = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
};

}  // namespace ss::apply
