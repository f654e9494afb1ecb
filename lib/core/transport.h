// How a server meets the network, the same for every gRPC server and the dashboard: where it listens, when it may
// listen off loopback (a token and TLS, or an explicit --insecure), and the TLS files of servers and their clients.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace ss::transport {

// Where ss-replay serve listens, and its clients look, unless told otherwise; and where ss-buffer serve listens.
inline constexpr const char* kDefaultReplayServer = "127.0.0.1:50052";
inline constexpr const char* kDefaultIngestorListen = "127.0.0.1:50051";

// A listen address: "HOST:PORT", ":PORT" or "PORT" (loopback), "[v6]:PORT"; port 0 picks a free one. Throws
// Error(64) naming `flag` for anything else.
std::pair<std::string, int> parse_listen(const std::string& addr, const std::string& flag = "--listen");

// 127.0.0.0/8, ::1 and "localhost": only this machine can connect.
bool is_loopback(const std::string& host);

// A server's TLS: its certificate chain and key (PEM files), and optionally the CA that client certificates must
// chain to (then a client without one is refused).
struct ServerTls {
  std::string cert, key, client_ca;
  bool on() const { return !cert.empty(); }
};
// A client's TLS: the CA that the server's certificate must chain to, and optionally its own certificate and key.
struct ClientTls {
  std::string ca, cert, key;
  bool on() const { return !ca.empty() || !cert.empty(); }
};

// Checks that --tls-cert and --tls-key come together and are readable. Error(64/78).
void check_server_tls(const ServerTls& tls);
void check_client_tls(const ClientTls& tls);

// Refuses (Error 64) to listen on `addr` off loopback without a token and TLS, unless `insecure` says the operator
// accepts the risk (e.g. a private network with TLS terminated elsewhere).
void check_exposure(const std::string& flag, const std::string& addr, bool has_token, bool has_tls, bool insecure);

// Error(69) when `addr`'s port is taken (port 0 always passes). Servers check before they do anything else, so a
// second server on a port in use fails at once instead of first taking over work (gRPC would share the port).
void check_port_free(const std::string& flag, const std::string& addr);

// The whole of a PEM (or token) file. Error(78) naming `what` when it cannot be read or is empty.
std::string read_file(const std::string& path, const std::string& what);

// Constant-time comparison, so a wrong token's answer time says nothing about how much of it was right.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace ss::transport
