// ss-replay serve: the gRPC Replayer and ProgressTracker services over the replay job manager.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "replay/jobs.h"
#include "serve/progress.h"

namespace ss::replay_service {

struct ServeConfig {
  jobs::Config jobs;
  std::string listen = transport::kDefaultReplayServer;
  std::string token_file;                            // when set, calls need "authorization: Bearer <token>"
  transport::ServerTls tls;                          // for gRPC and the dashboard alike
  bool insecure = false;                             // listen off loopback without a token and TLS
  std::string http;                                  // when set, the web dashboard listens here too (dashboard.h)
  std::optional<progress::PipelineConfig> pipeline;  // the dashboard's pipeline panel
};

// Serves until SIGTERM/SIGINT. Prints "listening on HOST:PORT" on stderr once bound (port 0 picks a free one).
int run_serve(const ServeConfig& cfg);

// The command-line client: ss-replay submit / ss-replay jobs.
struct ClientConfig {
  std::string server = transport::kDefaultReplayServer;
  std::string token_file;
  transport::ClientTls tls;
};
// Creates a job; returns it (its id is what ss-progress follows).
shadowstream::v1::ReplayJob submit(const ClientConfig& cfg, const shadowstream::v1::ReplayRequest& req);
std::vector<shadowstream::v1::ReplayJob> list_jobs(const ClientConfig& cfg);
// pause, resume, cancel or delete one job; returns its state afterwards (empty for delete).
shadowstream::v1::ReplayJob job_action(const ClientConfig& cfg, const std::string& action, const std::string& id);
// One line for a listing: id, state, records, window, speed, target, name.
std::string job_line(const shadowstream::v1::ReplayJob& j);

}  // namespace ss::replay_service
