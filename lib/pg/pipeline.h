// The applier's connection to the target: libpq's pipeline mode (statements sent without waiting for each reply,
// their results read at a sync), statements prepared once per text, and, outside the pipeline for their duration,
// plain statements and COPY FROM STDIN.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "pg/conn.h"
#include "pg/outcome.h"
#include "pg/statements.h"

namespace ss::apply {

// What the target ran: statements (and rows loaded in bulk) in all and in the open transaction, and updates or
// deletes that found no row. Drains count; the applier adjusts for rows it loads or takes back.
struct Tally {
  uint64_t statements = 0;
  uint64_t in_tx = 0;
  uint64_t not_found = 0;
};

class Pipeline {
 public:
  // Connects (Error 69/77/78 as pg::connect); the pipeline starts with start(), after any setup on conn().
  explicit Pipeline(const std::string& conninfo);
  PGconn* conn() const { return conn_.get(); }
  void start();

  // A control statement (BEGIN, DDL, bookkeeping), with `origin` for the message if it fails.
  void send(const std::string& sql, const std::vector<std::string>& params = {}, Origin origin = {});
  // The same, prepared once: for what every transaction runs (the position write).
  void send_prepared(const std::string& sql, const std::vector<std::string>& params);
  // A record's statement, counted in the tally when it succeeds (`counts_rows`: an update or delete, counted as
  // not found when it changed no row).
  void send_statement(const Statement& st, Origin origin, bool counts_rows);
  // Statements sent since the last drain.
  size_t unsynced() const { return unsynced_; }
  // Sends a sync and reads every pending result: the first failure (later statements of the pipeline are then
  // aborted by the server) or done.
  Outcome drain();
  // A query of the open transaction (after whatever is pending), its rows in `out`.
  Outcome query(const std::string& sql, const std::vector<std::string>& params, pg::Result& out);

  // Outside the pipeline: leave() it (after a drain), run statements and COPYs, enter() it again.
  void leave();
  void enter();
  Outcome exec(const std::string& sql, pg::Result* out = nullptr);
  Outcome copy_start(const std::string& sql);
  // Hands `buf` to libpq once it holds a block (`all`: whatever it holds), and empties it.
  void copy_put(std::string& buf, bool all = false);
  // Ends the COPY (`abort_message`: abandons it with that reason); its outcome.
  Outcome copy_end(const char* abort_message = nullptr);
  // COPY of the lines `fill(buf)` appends, called until it returns false.
  template <typename Fill>
  Outcome copy_in(const std::string& sql, std::string& buf, Fill fill) {
    if (Outcome o = copy_start(sql); !o.ok()) return o;
    for (bool more = true; more;) {
      more = fill(buf);
      copy_put(buf);
    }
    copy_put(buf, true);
    return copy_end();
  }

  Tally& tally() { return tally_; }
  // Error(75): the connection is gone, and with it the open transaction; a rerun resumes.
  [[noreturn]] void lost();

 private:
  enum class Kind { kControl, kPrepare, kStatement, kQuery };
  struct Pending {
    Kind kind;
    Origin origin;
    std::string sql;  // kPrepare: the cached text, forgotten again if the prepare fails
    bool counts_rows = false;
  };
  const std::string& prepared(const std::string& sql, const Origin& origin);
  void send_named(const std::string& name, Kind kind, Origin origin, bool counts_rows);
  void read(Pending& p, std::optional<Failure>& fail);

  pg::Conn conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
  uint64_t names_ = 0;                                     // names handed out, never reused
  std::deque<Pending> pending_;
  size_t unsynced_ = 0;
  pg::Result query_result_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  Tally tally_;
};

}  // namespace ss::apply
