#include "serve/replay_service.h"

#include <grpcpp/grpcpp.h>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdio>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/position.h"
#include "core/signals.h"
#include "serve/dashboard.h"
#include "serve/grpc_server.h"
#include "shadowstream.grpc.pb.h"

namespace ss::replay_service {

namespace pb = shadowstream::v1;

namespace {

// Runs a manager call and maps its exceptions to gRPC statuses: the one place where job errors meet the wire.
template <class Fn>
grpc::Status call(grpc::ServerContext* ctx, const std::string& token, Fn fn) {
  if (grpc::Status auth = grpc_server::check(ctx, token); !auth.ok()) return auth;
  try {
    fn();
    return grpc::Status::OK;
  } catch (const jobs::NotFound& e) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, e.what());
  } catch (const jobs::Refused& e) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, e.what());
  } catch (const jobs::Busy& e) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, e.what());
  } catch (const Error& e) {
    if (e.code() == kExitUsage) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what());
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, e.what());
  }
}

constexpr size_t kDefaultPage = 100, kMaxPage = 1000;

class Replayer final : public pb::Replayer::Service {
 public:
  Replayer(jobs::Manager& m, const std::string& token) : m_(m), token_(token) {}
  grpc::Status ReplayEvent(grpc::ServerContext* ctx, const pb::ReplayRequest* req, pb::ReplayResponse* resp) override {
    return call(ctx, token_, [&] { *resp->mutable_job() = m_.create(*req); });
  }
  grpc::Status ListJobs(grpc::ServerContext* ctx, const pb::ListJobsRequest* req, pb::ListJobsResponse* resp) override {
    return call(ctx, token_, [&] {
      std::vector<pb::JobState> states;
      for (int s : req->states()) states.push_back(static_cast<pb::JobState>(s));
      size_t size = req->page_size() == 0 ? kDefaultPage : std::min<size_t>(req->page_size(), kMaxPage);
      // One more than asked tells whether another page follows.
      std::vector<pb::ReplayJob> page = m_.list(states, size + 1, req->page_token());
      if (page.size() > size) {
        page.resize(size);
        resp->set_next_page_token(page.back().id());
      }
      for (auto& j : page) *resp->add_jobs() = std::move(j);
    });
  }
  grpc::Status DeleteJob(grpc::ServerContext* ctx, const pb::JobRef* req, pb::DeleteJobResponse*) override {
    return call(ctx, token_, [&] { m_.remove(req->id()); });
  }
  grpc::Status GetJob(grpc::ServerContext* ctx, const pb::JobRef* req, pb::ReplayJob* resp) override {
    return call(ctx, token_, [&] { *resp = m_.get(req->id()); });
  }
  grpc::Status PauseJob(grpc::ServerContext* ctx, const pb::JobRef* req, pb::ReplayJob* resp) override {
    return call(ctx, token_, [&] { *resp = m_.pause(req->id()); });
  }
  grpc::Status ResumeJob(grpc::ServerContext* ctx, const pb::JobRef* req, pb::ReplayJob* resp) override {
    return call(ctx, token_, [&] { *resp = m_.resume(req->id()); });
  }
  grpc::Status CancelJob(grpc::ServerContext* ctx, const pb::JobRef* req, pb::ReplayJob* resp) override {
    return call(ctx, token_, [&] { *resp = m_.cancel(req->id()); });
  }

 private:
  jobs::Manager& m_;
  const std::string& token_;
};

class Tracker final : public pb::ProgressTracker::Service {
 public:
  Tracker(jobs::Manager& m, const std::string& token) : m_(m), token_(token) {}
  grpc::Status StreamProgress(grpc::ServerContext* ctx, const pb::ProgressRequest* req,
                              grpc::ServerWriter<pb::ProgressUpdate>* writer) override {
    return call(ctx, token_, [&] {
      uint64_t seen = 0;
      pb::ProgressUpdate u;
      // At least one update a second, and one for every change; the stream ends with the final state.
      while (!ctx->IsCancelled() && !stop_requested()) {
        m_.wait_progress(req->job_id(), seen, u, 1'000'000);
        if (!writer->Write(u)) return;
        if (jobs::is_final(u.state())) return;
      }
    });
  }

 private:
  jobs::Manager& m_;
  const std::string& token_;
};

}  // namespace

namespace {
// shadowstream_replay_jobs{state}: counted from the job store at each scrape, so it is right after a restart too.
class JobMetrics : public prometheus::Collectable {
 public:
  explicit JobMetrics(const jobs::Manager& m) : manager_(m) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily f;
    f.name = "shadowstream_replay_jobs";
    f.help = "Replay jobs in the server's store, by state";
    f.type = prometheus::MetricType::Gauge;
    std::map<std::string, double> by_state;
    for (int s = pb::JOB_STATE_PENDING; s <= pb::JOB_STATE_CANCELLED; ++s)
      by_state[jobs::state_name(static_cast<pb::JobState>(s))] = 0;
    try {
      for (const auto& job : manager_.list()) by_state[jobs::state_name(job.state())] += 1;
    } catch (const Error&) {
      return {};  // the store is unreachable: no figure rather than a wrong one
    }
    for (const auto& [state, n] : by_state) {
      prometheus::ClientMetric m;
      m.label = {{"state", state}};
      for (const auto& [k, v] : metrics::metric_labels()) m.label.push_back({k, v});
      m.gauge.value = n;
      f.metric.push_back(m);
    }
    return {f};
  }

 private:
  const jobs::Manager& manager_;
};
}  // namespace

int run_serve(const ServeConfig& cfg) {
  std::string token = grpc_server::read_token(cfg.token_file);
  if (!cfg.http.empty() && token.empty())
    throw Error(kExitUsage, "--http needs --token-file: the dashboard always asks for a token");
  // Everything that can refuse the start is checked before the manager takes over the store's jobs.
  transport::check_server_tls(cfg.tls);
  transport::check_exposure("--listen", cfg.listen, !token.empty(), cfg.tls.on(), cfg.insecure);
  transport::check_port_free("--listen", cfg.listen);
  if (!cfg.http.empty()) {
    transport::check_exposure("--http", cfg.http, true, cfg.tls.on(), cfg.insecure);
    transport::check_port_free("--http", cfg.http);
  }
  jobs::Manager manager(cfg.jobs);
  auto job_metrics = std::make_shared<JobMetrics>(manager);
  metrics::add_collectable(job_metrics);
  // Destroyed before the manager: a scrape in progress ends first, and none starts after.
  struct Unregister {
    std::shared_ptr<JobMetrics> m;
    ~Unregister() { metrics::remove_collectable(m); }
  } unregister{job_metrics};
  std::unique_ptr<dashboard::Server> web;
  if (!cfg.http.empty()) {
    web = std::make_unique<dashboard::Server>(manager, dashboard::Config{cfg.http, token, cfg.tls, cfg.pipeline});
    web->start();
  }
  Replayer replayer(manager, token);
  Tracker tracker(manager, token);
  return grpc_server::serve(cfg.listen, {token, cfg.tls, cfg.insecure}, {&replayer, &tracker});
}

namespace {
// One unary call to the server's Replayer with the token and a deadline; a failed call becomes the ss::Error.
template <class Fn>
void replayer_call(const ClientConfig& cfg, Fn fn) {
  std::string token = grpc_server::read_token(cfg.token_file);
  auto stub = pb::Replayer::NewStub(grpc_server::channel(cfg.server, cfg.tls));
  grpc::ClientContext ctx;
  grpc_server::add_token(ctx, token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status st = fn(*stub, ctx);
  if (!st.ok()) grpc_server::throw_status(st, cfg.server);
}
}  // namespace

pb::ReplayJob submit(const ClientConfig& cfg, const pb::ReplayRequest& req) {
  pb::ReplayResponse resp;
  replayer_call(cfg,
                [&](pb::Replayer::Stub& stub, grpc::ClientContext& ctx) { return stub.ReplayEvent(&ctx, req, &resp); });
  return resp.job();
}

std::vector<pb::ReplayJob> list_jobs(const ClientConfig& cfg) {
  std::vector<pb::ReplayJob> all;
  pb::ListJobsRequest req;
  req.set_page_size(kMaxPage);
  do {
    pb::ListJobsResponse resp;
    replayer_call(cfg,
                  [&](pb::Replayer::Stub& stub, grpc::ClientContext& ctx) { return stub.ListJobs(&ctx, req, &resp); });
    all.insert(all.end(), resp.jobs().begin(), resp.jobs().end());
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return all;
}

pb::ReplayJob job_action(const ClientConfig& cfg, const std::string& action, const std::string& id) {
  pb::JobRef ref;
  ref.set_id(id);
  pb::ReplayJob job;
  replayer_call(cfg, [&](pb::Replayer::Stub& stub, grpc::ClientContext& ctx) {
    if (action == "pause") return stub.PauseJob(&ctx, ref, &job);
    if (action == "resume") return stub.ResumeJob(&ctx, ref, &job);
    if (action == "cancel") return stub.CancelJob(&ctx, ref, &job);
    if (action == "delete") {
      pb::DeleteJobResponse none;
      return stub.DeleteJob(&ctx, ref, &none);
    }
    throw Error(kExitUsage, "unknown job action " + action + " (pause, resume, cancel, delete)");
  });
  return job;
}

std::string job_line(const pb::ReplayJob& j) {
  const auto& r = j.request();
  const auto& p = j.progress();
  char speed[32] = "max";
  if (r.rate() > 0)
    std::snprintf(speed, sizeof speed, "%g/s", r.rate());
  else if (r.speed_factor() > 0)
    std::snprintf(speed, sizeof speed, "%gx", r.speed_factor());
  return j.id() + "  " + jobs::state_name(j.state()) + "  " + std::to_string(p.records_done()) +
         (p.records_total() ? "/" + std::to_string(p.records_total()) : "") + " records  " +
         (r.start_time() ? format_time_us(r.start_time()) : "-") + " .. " +
         (r.end_time() ? format_time_us(r.end_time()) : "-") + "  " + speed + "  " + log::printable(r.source()) +
         " -> " + (r.target().empty() ? "dry run" : log::printable(r.target())) +
         (r.name().empty() ? "" : "  " + log::printable(r.name()));
}

}  // namespace ss::replay_service
