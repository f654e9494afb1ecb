#include "core/transport.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace ss::transport {

std::pair<std::string, int> parse_listen(const std::string& addr, const std::string& flag) {
  std::string host = "127.0.0.1", port = addr;
  if (auto colon = addr.rfind(':'); colon != std::string::npos) {
    if (colon > 0) host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535)
    throw Error(kExitUsage, flag + ": expected HOST:PORT, :PORT or PORT, got '" + addr + "'");
  return {host, static_cast<int>(p)};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(kExitConfig, "cannot read " + what + " " + path);
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().empty()) throw Error(kExitConfig, what + " " + path + " is empty");
  return s.str();
}

void check_server_tls(const ServerTls& tls) {
  if (tls.cert.empty() != tls.key.empty()) throw Error(kExitUsage, "--tls-cert and --tls-key go together");
  if (!tls.client_ca.empty() && !tls.on()) throw Error(kExitUsage, "--tls-ca needs --tls-cert and --tls-key");
  if (!tls.on()) return;
  read_file(tls.cert, "TLS certificate");
  read_file(tls.key, "TLS key");
  if (!tls.client_ca.empty()) read_file(tls.client_ca, "TLS client CA");
}

void check_client_tls(const ClientTls& tls) {
  if (tls.cert.empty() != tls.key.empty()) throw Error(kExitUsage, "--tls-cert and --tls-key go together");
  if (!tls.ca.empty()) read_file(tls.ca, "TLS CA");
  if (!tls.cert.empty()) read_file(tls.cert, "TLS certificate");
  if (!tls.key.empty()) read_file(tls.key, "TLS key");
}

void check_exposure(const std::string& flag, const std::string& addr, bool has_token, bool has_tls, bool insecure) {
  auto [host, port] = parse_listen(addr, flag);
  (void)port;
  if (is_loopback(host) || insecure || (has_token && has_tls)) return;
  std::string missing = !has_token && !has_tls ? "--token-file and --tls-cert/--tls-key"
                        : !has_token           ? "--token-file"
                                               : "--tls-cert/--tls-key";
  throw Error(kExitUsage, flag + " " + addr + " is reachable from other hosts: it needs " + missing +
                              " (or --insecure, to accept the risk on a network you trust)");
}

void check_port_free(const std::string& flag, const std::string& addr) {
  auto [host, port] = parse_listen(addr, flag);
  if (port == 0) return;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    throw Error(kExitUsage, flag + ": cannot resolve " + host);
  int err = 0;
  for (addrinfo* a = res; a && !err; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EADDRINUSE) err = errno;
    ::close(fd);
  }
  freeaddrinfo(res);
  if (err) throw Error(kExitUnavailable, flag + " " + addr + ": the port is in use (is another server running?)");
}

bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

}  // namespace ss::transport
