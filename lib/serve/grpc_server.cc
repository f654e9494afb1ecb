#include "serve/grpc_server.h"

#include <grpc/grpc_security.h>

#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "core/signals.h"

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

namespace {
bool token_ok(std::string_view authorization, const std::string& token) {
  return transport::same_secret(authorization, "Bearer " + token);
}

}  // namespace

grpc::Status check(const grpc::ServerContext* ctx, const std::string& token) {
  if (token.empty()) return grpc::Status::OK;
  auto it = ctx->client_metadata().find("authorization");
  if (it == ctx->client_metadata().end() || !token_ok(std::string_view(it->second.data(), it->second.size()), token))
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong bearer token");
  return grpc::Status::OK;
}

namespace {

// The token is checked on a call's metadata, before gRPC reads its message: an unauthenticated client costs no
// memory for what it sends (a 300 MB message was buffered whole before the handler could refuse it).
class TokenProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenProcessor(std::string token) : token_(std::move(token)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& md, grpc::AuthContext*, OutputMetadata*, OutputMetadata*) override {
    auto it = md.find("authorization");
    if (it != md.end() && token_ok(std::string_view(it->second.data(), it->second.size()), token_))
      return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong bearer token");
  }

 private:
  std::string token_;
};

// Plain-text credentials that take a metadata processor: gRPC's C++ InsecureServerCredentials() refuses one
// (asserts), its core credentials do not.
class InsecureWithToken final : public grpc::ServerCredentials {
 public:
  explicit InsecureWithToken(std::string token)
      : token_(std::move(token)), creds_(grpc_insecure_server_credentials_create()) {
    grpc_server_credentials_set_auth_metadata_processor(creds_.get(), {&process, nullptr, &token_});
  }
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  static void process(void* state, grpc_auth_context*, const grpc_metadata* md, size_t n,
                      grpc_process_auth_metadata_done_cb done, void* user_data) {
    const std::string& token = *static_cast<const std::string*>(state);
    for (size_t i = 0; i < n; ++i) {
      std::string_view key(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].key)),
                           GRPC_SLICE_LENGTH(md[i].key));
      std::string_view value(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(md[i].value)),
                             GRPC_SLICE_LENGTH(md[i].value));
      if (key == "authorization" && token_ok(value, token)) {
        done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
        return;
      }
    }
    done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED, "missing or wrong bearer token");
  }
  int AddPortToServer(const std::string& addr, ::grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_.get());
  }

  struct Release {
    void operator()(grpc_server_credentials* c) const { grpc_server_credentials_release(c); }
  };
  std::string token_;  // outlives creds_, which points at it
  std::unique_ptr<grpc_server_credentials, Release> creds_;
};

std::shared_ptr<grpc::ServerCredentials> server_credentials(const transport::ServerTls& tls, const std::string& token) {
  if (!tls.on()) {
    if (token.empty()) return grpc::InsecureServerCredentials();
    return std::make_shared<InsecureWithToken>(token);
  }
  grpc::SslServerCredentialsOptions opts(tls.client_ca.empty()
                                             ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                             : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!tls.client_ca.empty()) opts.pem_root_certs = transport::read_file(tls.client_ca, "TLS client CA");
  opts.pem_key_cert_pairs.push_back(
      {transport::read_file(tls.key, "TLS key"), transport::read_file(tls.cert, "TLS certificate")});
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(opts);
  if (!token.empty()) creds->SetAuthMetadataProcessor(std::make_shared<TokenProcessor>(token));
  return creds;
}
}  // namespace

std::shared_ptr<grpc::Channel> channel(const std::string& server, const transport::ClientTls& tls) {
  if (!tls.on()) return grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions opts;
  if (!tls.ca.empty()) opts.pem_root_certs = transport::read_file(tls.ca, "TLS CA");
  if (!tls.cert.empty()) {
    opts.pem_cert_chain = transport::read_file(tls.cert, "TLS certificate");
    opts.pem_private_key = transport::read_file(tls.key, "TLS key");
  }
  return grpc::CreateChannel(server, grpc::SslCredentials(opts));
}

int serve(const std::string& listen, const Exposure& exposure, const std::vector<grpc::Service*>& services) {
  transport::check_server_tls(exposure.tls);
  transport::check_exposure("--listen", listen, !exposure.token.empty(), exposure.tls.on(), exposure.insecure);
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(exposure.max_request_bytes);
  int port = 0;
  builder.AddListeningPort(listen, server_credentials(exposure.tls, exposure.token), &port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0)
    throw Error(kExitUnavailable, "cannot listen on " + listen + " (is another server using that port?)");
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
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      throw Error(kExitTempFail, st.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
      throw Error(kExitUsage, st.error_message());
    default:
      throw Error(kExitUnavailable, "cannot reach the server at " + server + ": " + st.error_message());
  }
}

}  // namespace ss::grpc_server
