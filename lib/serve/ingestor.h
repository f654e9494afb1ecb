// ss-buffer serve: the gRPC Ingestor service, for producers that are not PostgreSQL. Pushed records land in the
// same Redis stream as captured ones, with the same guarantees (lib/buffer.h RecordStore).
#pragma once

#include <string>
#include <vector>

#include "core/transport.h"
#include "redis/buffer.h"

namespace ss::ingestor {

struct ServeConfig {
  buffer::WriteConfig store;
  std::string listen = transport::kDefaultIngestorListen;
  std::string token_file;  // when set, calls need "authorization: Bearer <token>"
  transport::ServerTls tls;
  bool insecure = false;  // listen off loopback without a token and TLS
  std::string default_source = "grpc";
  // The source names this server stores records for ("*": any). Empty: default_source alone, so a client cannot
  // write into a captured source's stream unless the operator says so.
  std::vector<std::string> allow_sources;
};

// Serves until SIGTERM/SIGINT. Prints "listening on HOST:PORT" on stderr once bound (port 0 picks a free one).
int run_serve(const ServeConfig& cfg);

// Throws Error(65) saying why `rec` cannot be stored (the service answers INVALID_ARGUMENT with it).
void validate(const shadowstream::v1::ChangeRecord& rec);

}  // namespace ss::ingestor
