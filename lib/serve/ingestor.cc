#include "serve/ingestor.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "core/record_check.h"
#include "serve/grpc_server.h"
#include "shadowstream.grpc.pb.h"

namespace ss::ingestor {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::PushResponse;

namespace {
std::string why_invalid(const ChangeRecord& rec) {
  try {
    validate_record(rec, PositionRule::kOptional);
  } catch (const Error& e) {
    return e.what();
  }
  switch (rec.op()) {
    case shadowstream::v1::OPERATION_UNSPECIFIED:
      return "op is required (insert, update, delete, truncate, snapshot, message or heartbeat)";
    case shadowstream::v1::OPERATION_INSERT:
    case shadowstream::v1::OPERATION_UPDATE:
    case shadowstream::v1::OPERATION_SNAPSHOT:
      if (rec.table().empty()) return "table is required for row changes";
      if (rec.columns_size() == 0)
        return "columns are required for " +
               std::string(rec.op() == shadowstream::v1::OPERATION_UPDATE ? "update" : "insert");
      break;
    case shadowstream::v1::OPERATION_DELETE:
      if (rec.table().empty()) return "table is required for row changes";
      if (rec.old_columns_size() == 0) return "old_columns (at least the key) are required for delete";
      break;
    case shadowstream::v1::OPERATION_TRUNCATE:
      if (rec.table().empty()) return "table is required for truncate";
      break;
    default:
      break;
  }
  for (const auto& c : rec.columns())
    if (c.name().empty()) return "every column needs a name";
  for (const auto& c : rec.old_columns())
    if (c.name().empty()) return "every old column needs a name";
  if (rec.commit_lsn() == 0 && rec.ordinal() != 0) return "ordinal without commit_lsn";
  return "";
}
}  // namespace

void validate(const ChangeRecord& rec) {
  if (std::string why = why_invalid(rec); !why.empty()) throw Error(kExitDataErr, why);
}

namespace {

// One call is one transaction, held in memory until it is stored.
constexpr size_t kMaxRecordsPerCall = 100'000, kMaxBytesPerCall = size_t{256} << 20;

class Service final : public shadowstream::v1::Ingestor::Service {
 public:
  Service(const ServeConfig& cfg, std::string token) : cfg_(cfg), token_(std::move(token)), store_(cfg.store) {}

  grpc::Status PushChange(grpc::ServerContext* ctx, const ChangeRecord* req, PushResponse* resp) override {
    std::vector<ChangeRecord> recs{*req};
    return push(ctx, recs, resp);
  }

  grpc::Status PushChanges(grpc::ServerContext* ctx, grpc::ServerReader<ChangeRecord>* reader,
                           PushResponse* resp) override {
    // The token first, then a bounded read: an unauthenticated or endless stream costs nothing.
    if (grpc::Status auth = grpc_server::check(ctx, token_); !auth.ok()) return auth;
    std::vector<ChangeRecord> recs;
    size_t bytes = 0;
    ChangeRecord r;
    while (reader->Read(&r)) {
      bytes += r.ByteSizeLong();
      if (recs.size() >= kMaxRecordsPerCall || bytes > kMaxBytesPerCall)
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            "one PushChanges call takes at most " + std::to_string(kMaxRecordsPerCall) +
                                " records and " + std::to_string(kMaxBytesPerCall >> 20) +
                                " MiB; split the transaction's records");
      recs.push_back(std::move(r));
    }
    return push(ctx, recs, resp);
  }

 private:
  grpc::Status push(grpc::ServerContext* ctx, std::vector<ChangeRecord>& recs, PushResponse* resp) {
    if (grpc::Status auth = grpc_server::check(ctx, token_); !auth.ok()) return auth;
    if (recs.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no records");
    const bool assign = recs.front().commit_lsn() == 0;
    for (size_t i = 0; i < recs.size(); ++i) {
      auto& r = recs[i];
      try {
        validate(r);
      } catch (const Error& e) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "record " + std::to_string(i) + ": " + e.what());
      }
      if ((r.commit_lsn() == 0) != assign)
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "either every record of a call carries a position or none does");
      if (r.source().name().empty()) r.mutable_source()->set_name(cfg_.default_source);
      if (r.source().name() != recs.front().source().name())
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "all records of a call must have one source");
      if (!allowed(r.source().name()))
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "this server does not take records of source \"" +
                                                                     r.source().name() + "\" (see --allow-source)");
      if (r.commit_time() == 0) r.set_commit_time(now_us());
    }
    try {
      buffer::PushResult res = store_.push(recs);
      resp->set_accepted(true);
      resp->set_stored(res.stored);
      resp->set_duplicates(res.duplicates);
      resp->set_commit_lsn(res.last.lsn);
      resp->set_ordinal(res.last.ordinal);
      resp->set_entry_id(res.entry_id);
      return grpc::Status::OK;
    } catch (const Conflict& e) {
      log::warn(e.what());
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, e.what());
    } catch (const Error& e) {
      log::warn(e.what());
      return grpc::Status(e.code() == kExitDataErr ? grpc::StatusCode::INVALID_ARGUMENT : grpc::StatusCode::UNAVAILABLE,
                          e.what());
    }
  }

  bool allowed(const std::string& source) const {
    const auto& allow = cfg_.allow_sources;
    if (allow.empty()) return source == cfg_.default_source;
    return std::any_of(allow.begin(), allow.end(), [&](const std::string& a) { return a == "*" || a == source; });
  }

  const ServeConfig& cfg_;
  std::string token_;
  buffer::RecordStore store_;
};

}  // namespace

int run_serve(const ServeConfig& cfg) {
  transport::check_port_free("--listen", cfg.listen);
  std::string token = grpc_server::read_token(cfg.token_file);
  Service service(cfg, token);
  // A pushed record may be as large as a frame.
  const int max_request = static_cast<int>(std::min<size_t>(cfg.store.max_frame + 4096, INT32_MAX));
  return grpc_server::serve(cfg.listen, {token, cfg.tls, cfg.insecure, max_request}, {&service});
}

}  // namespace ss::ingestor
