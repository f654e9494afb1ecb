// ss-replay serve: the gRPC Replayer and ProgressTracker services over the replay job manager.
#pragma once

#include <string>

#include "replay_jobs.h"

namespace ss::replay_service {

struct ServeConfig {
  jobs::Config jobs;
  std::string listen = "127.0.0.1:50052";
  std::string token_file;  // when set, calls need "authorization: Bearer <token>"
};

// Serves until SIGTERM/SIGINT. Prints "listening on HOST:PORT" on stderr once bound (port 0 picks a free one).
int run_serve(const ServeConfig& cfg);

}  // namespace ss::replay_service
