#include "grpc_server.h"

#include <fstream>
#include <thread>

#include "error.h"
#include "log.h"
#include "signals.h"

namespace ss::grpc_server {

std::string read_token(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  if (!in) throw Error(kExitConfig, "cannot read token file " + path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) throw Error(kExitConfig, "token file " + path + " is empty");
  return token;
}

grpc::Status check(const grpc::ServerContext* ctx, const std::string& token) {
  if (token.empty()) return grpc::Status::OK;
  auto it = ctx->client_metadata().find("authorization");
  if (it == ctx->client_metadata().end() || std::string(it->second.data(), it->second.size()) != "Bearer " + token)
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong bearer token");
  return grpc::Status::OK;
}

int serve(const std::string& listen, const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) throw Error(kExitUnavailable, "cannot listen on " + listen);
  log::warn("listening on " + listen.substr(0, listen.rfind(':')) + ":" + std::to_string(port));
  while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return kExitOk;
}

void add_token(grpc::ClientContext& ctx, const std::string& token) {
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
}

void throw_status(const grpc::Status& st, const std::string& server) {
  switch (st.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      throw Error(kExitNoInput, st.error_message() + " on " + server);
    case grpc::StatusCode::UNAUTHENTICATED:
      throw Error(kExitNoPerm, "the server refused the token: " + st.error_message() + " (see --token-file)");
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
      throw Error(kExitUsage, st.error_message());
    default:
      throw Error(kExitUnavailable, "cannot reach the server at " + server + ": " + st.error_message());
  }
}

}  // namespace ss::grpc_server
