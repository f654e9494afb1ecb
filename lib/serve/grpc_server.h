// What every gRPC server (ss-buffer serve, ss-replay serve) shares: optional bearer-token authentication, the
// token read from a file so it never appears on a command line, and the serve-until-stopped loop; and, for the
// command-line clients of those servers, the same token and one mapping of gRPC statuses to exit codes.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "core/transport.h"

namespace ss::grpc_server {

// First line of `path`, trailing spaces and CR removed; "" when `path` is empty. Error(78) when unreadable/empty.
std::string read_token(const std::string& path);

// OK when `token` is empty or the call carries "authorization: Bearer <token>"; UNAUTHENTICATED otherwise.
grpc::Status check(const grpc::ServerContext* ctx, const std::string& token);

// How a server is exposed: its token ("" = none), TLS, and whether the operator accepted listening off loopback
// without both (--insecure).
struct Exposure {
  std::string token;
  transport::ServerTls tls;
  bool insecure = false;
  // The largest request message accepted, checked by gRPC before the call (and its token) is looked at.
  int max_request_bytes = 1 << 20;
};

// Listens on `listen` (host:port; port 0 picks a free one) with `services`, prints "listening on HOST:PORT" on
// stderr once bound, and serves until SIGTERM/SIGINT. Error(64) when `listen` is off loopback without a token and
// TLS (and not `insecure`); Error(69) when it cannot listen, also when another server holds the port (no
// SO_REUSEPORT: two servers taking turns on one port would each answer half the calls).
int serve(const std::string& listen, const Exposure& exposure, const std::vector<grpc::Service*>& services);

// Client side: a channel to `server`, over TLS when `tls` says so.
std::shared_ptr<grpc::Channel> channel(const std::string& server, const transport::ClientTls& tls);

// Client side: adds "authorization: Bearer <token>" when `token` is not empty.
void add_token(grpc::ClientContext& ctx, const std::string& token);

// Client side: throws the ss::Error for a failed call to `server`: NOT_FOUND 66, UNAUTHENTICATED 77,
// RESOURCE_EXHAUSTED 75, INVALID_ARGUMENT / FAILED_PRECONDITION 64, anything else 69.
[[noreturn]] void throw_status(const grpc::Status& st, const std::string& server);

}  // namespace ss::grpc_server
