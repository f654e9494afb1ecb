#include "pg/pipeline.h"

#include <cstring>

#include "core/error.h"
#include "core/log.h"

namespace ss::apply {

Pipeline::Pipeline(const std::string& conninfo) : conn_(pg::connect(conninfo)) {
  PQsetNoticeProcessor(
      conn_.get(),
      [](void*, const char* msg) {
        std::string m = msg;
        while (!m.empty() && m.back() == '\n') m.pop_back();
        log::debug("target: " + m);
      },
      nullptr);
}

void Pipeline::start() {
  // Pipelining sends a transaction's statements without waiting for each reply: one round trip per pipeline_depth
  // statements instead of one per row.
  if (PQenterPipelineMode(conn_.get()) != 1)
    throw Error(kExitUnavailable, "cannot use pipeline mode on the target: " + pg::error_text(conn_.get()));
}

void Pipeline::lost() {
  throw Error(kExitTempFail, "lost the connection to the target PostgreSQL (" + pg::error_text(conn_.get()) +
                                 "); the open transaction was not applied: rerun to resume");
}

const std::string& Pipeline::prepared(const std::string& sql, const Origin& origin) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = "ss" + std::to_string(++names_);
  if (PQsendPrepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr) != 1) lost();
  pending_.push_back({Kind::kPrepare, origin, sql, false});
  return prepared_.emplace(sql, std::move(name)).first->second;
}

void Pipeline::send_named(const std::string& name, Kind kind, Origin origin, bool counts_rows) {
  if (PQsendQueryPrepared(conn_.get(), name.c_str(), static_cast<int>(values_.size()), values_.data(),
                          lengths_.empty() ? nullptr : lengths_.data(), nullptr, 0) != 1)
    lost();
  pending_.push_back({kind, std::move(origin), {}, counts_rows});
}

void Pipeline::send_prepared(const std::string& sql, const std::vector<std::string>& params) {
  const std::string& name = prepared(sql, {});
  values_.clear();
  lengths_.clear();
  for (const auto& p : params) values_.push_back(p.c_str());
  send_named(name, Kind::kControl, {}, false);
}

void Pipeline::send_statement(const Statement& st, Origin origin, bool counts_rows) {
  const std::string& name = prepared(st.sql, origin);
  values_.clear();
  lengths_.clear();
  for (const auto* c : st.params) {
    if (c->is_null()) {
      values_.push_back(nullptr);
      lengths_.push_back(0);
    } else {
      // Values that are not UTF-8 travel in `binary`, still in the server's text form.
      const std::string& v = c->binary().empty() ? c->text() : c->binary();
      values_.push_back(v.c_str());
      lengths_.push_back(static_cast<int>(v.size()));
    }
  }
  send_named(name, Kind::kStatement, std::move(origin), counts_rows);
  ++unsynced_;
}

void Pipeline::send(const std::string& sql, const std::vector<std::string>& params, Origin origin) {
  values_.clear();
  for (const auto& p : params) values_.push_back(p.c_str());
  if (PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values_.size()), nullptr, values_.data(), nullptr,
                        nullptr, 0) != 1)
    lost();
  pending_.push_back({Kind::kControl, std::move(origin), {}, false});
}

Outcome Pipeline::query(const std::string& sql, const std::vector<std::string>& params, pg::Result& out) {
  // Prepared once per text, as statements are: the applier's catalog queries are a fixed few, and planning them
  // costs more than running them.
  const std::string& name = prepared(sql, {});
  values_.clear();
  lengths_.clear();
  for (const auto& p : params) values_.push_back(p.c_str());
  send_named(name, Kind::kQuery, {}, false);
  Outcome o = drain();
  out = std::move(query_result_);
  return o;
}

// The results of one pending statement.
void Pipeline::read(Pending& p, std::optional<Failure>& fail) {
  while (PGresult* raw = PQgetResult(conn_.get())) {
    pg::Result r(raw);
    ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_FATAL_ERROR) {
      if (PQstatus(conn_.get()) == CONNECTION_BAD) lost();
      if (p.kind == Kind::kPrepare) prepared_.erase(p.sql);
      if (!fail) fail = Failure{std::move(p.origin), pg::error_text(raw), pg::sqlstate(raw)};
    } else if (st == PGRES_PIPELINE_ABORTED) {
      if (p.kind == Kind::kPrepare) prepared_.erase(p.sql);
    } else if (p.kind == Kind::kStatement) {
      ++tally_.statements;
      ++tally_.in_tx;
      if (p.counts_rows && std::strcmp(PQcmdTuples(raw), "0") == 0) ++tally_.not_found;
    } else if (p.kind == Kind::kQuery) {
      query_result_ = std::move(r);
    }
  }
  if (PQstatus(conn_.get()) == CONNECTION_BAD) lost();
}

Outcome Pipeline::drain() {
  if (pending_.empty()) return {};
  if (PQpipelineSync(conn_.get()) != 1) lost();
  std::optional<Failure> fail;
  while (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    read(p, fail);
  }
  pg::Result sync(PQgetResult(conn_.get()));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    if (PQstatus(conn_.get()) == CONNECTION_BAD) lost();
    throw Error(kExitSoftware, "PostgreSQL pipeline out of step: " + pg::error_text(conn_.get()));
  }
  unsynced_ = 0;
  if (fail) return *std::move(fail);
  return {};
}

void Pipeline::leave() {
  if (PQexitPipelineMode(conn_.get()) != 1)
    throw Error(kExitSoftware, "cannot leave pipeline mode: " + pg::error_text(conn_.get()));
}

void Pipeline::enter() {
  if (PQenterPipelineMode(conn_.get()) == 1) return;
  if (PQstatus(conn_.get()) == CONNECTION_BAD) lost();
  throw Error(kExitSoftware, "cannot use pipeline mode on the target: " + pg::error_text(conn_.get()));
}

Outcome Pipeline::exec(const std::string& sql, pg::Result* out) {
  pg::Result r(PQexec(conn_.get(), sql.c_str()));
  ExecStatusType st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    if (out) *out = std::move(r);
    return {};
  }
  if (PQstatus(conn_.get()) == CONNECTION_BAD) lost();
  return Failure{{}, pg::error_text(r.get()), pg::sqlstate(r.get())};
}

Outcome Pipeline::copy_start(const std::string& sql) {
  pg::Result r(PQexec(conn_.get(), sql.c_str()));
  if (PQresultStatus(r.get()) == PGRES_COPY_IN) return {};
  if (PQstatus(conn_.get()) == CONNECTION_BAD) lost();
  while (pg::Result extra{PQgetResult(conn_.get())}) {
  }
  return Failure{{}, pg::error_text(r.get()), pg::sqlstate(r.get())};
}

// Rows go to libpq in blocks of its own send size: fewer calls than a row each, while larger blocks (256 KiB) made
// the server wait for each one and loaded a checkpoint at half the speed.
void Pipeline::copy_put(std::string& buf, bool all) {
  static constexpr size_t kCopyBlock = size_t{8} << 10;
  if (buf.empty() || (!all && buf.size() < kCopyBlock)) return;
  if (PQputCopyData(conn_.get(), buf.data(), static_cast<int>(buf.size())) != 1) lost();
  buf.clear();
}

Outcome Pipeline::copy_end(const char* abort_message) {
  if (PQputCopyEnd(conn_.get(), abort_message) != 1) lost();
  std::optional<Failure> fail;
  while (PGresult* raw = PQgetResult(conn_.get())) {
    pg::Result r(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && !fail) fail = Failure{{}, pg::error_text(raw), pg::sqlstate(raw)};
  }
  if (PQstatus(conn_.get()) == CONNECTION_BAD) lost();
  if (fail) return *std::move(fail);
  return {};
}

}  // namespace ss::apply
