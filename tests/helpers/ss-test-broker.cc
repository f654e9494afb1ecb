// ss-test-broker: the Kafka test broker. librdkafka's mock cluster speaks the Kafka wire protocol on loopback TCP
// (transactions, idempotence, consumer groups), so kcat and our tools talk to it as to a real cluster. It lives in
// this process's memory only; see HACKING.md (Test harness) for its limits.
//
// Prints "BOOTSTRAP host:port,..." when ready, then takes one command per line on stdin and answers "OK <cmd>" or
// "ERR <why>" on stdout:
//   down ID | up ID                    broker ID stops / resumes accepting connections
//   errors APIKEY ERRCODE COUNT        the next COUNT requests of APIKEY fail with ERRCODE (numeric Kafka codes)
//   topic NAME PARTITIONS              create a topic
// Exits 0 on end of input, SIGTERM or SIGINT.
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/cli.h"
#include "core/error.h"
#include "core/fd_io.h"
#include "kafka/handle.h"

namespace {

struct MockDeleter {
  void operator()(rd_kafka_mock_cluster_t* m) const { rd_kafka_mock_cluster_destroy(m); }
};
using Mock = std::unique_ptr<rd_kafka_mock_cluster_t, MockDeleter>;

void answer(const std::string& line) {
  std::string out = line + "\n";
  ssize_t n = ::write(STDOUT_FILENO, out.data(), out.size());
  (void)n;
}

std::string run_command(rd_kafka_mock_cluster_t* mc, const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  auto result = [](rd_kafka_resp_err_t err) { return err ? std::string(rd_kafka_err2str(err)) : std::string(); };
  if (cmd == "down" || cmd == "up") {
    int id;
    if (!(in >> id)) return "usage: " + cmd + " BROKER_ID";
    return result(cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id) : rd_kafka_mock_broker_set_up(mc, id));
  }
  if (cmd == "errors") {
    int apikey, errcode;
    size_t count;
    if (!(in >> apikey >> errcode >> count) || count == 0) return "usage: errors APIKEY ERRCODE COUNT";
    std::vector<rd_kafka_resp_err_t> errs(count, static_cast<rd_kafka_resp_err_t>(errcode));
    rd_kafka_mock_push_request_errors_array(mc, static_cast<int16_t>(apikey), count, errs.data());
    return "";
  }
  if (cmd == "topic") {
    std::string name;
    int partitions;
    if (!(in >> name >> partitions) || partitions < 1) return "usage: topic NAME PARTITIONS";
    return result(rd_kafka_mock_topic_create(mc, name.c_str(), partitions, 1));
  }
  return "unknown command '" + cmd + "' (down, up, errors, topic)";
}

}  // namespace

// The 2.0.2 mock leaves Nagle's algorithm on for the connections it accepts, which real brokers do not (Kafka sets
// TCP_NODELAY). With it on, a client's delayed ACK holds the last small ProduceResponse of a burst for ~40 ms, so
// every transaction commit paid 40 ms for the test broker's reason. The executable's accept/accept4 interpose the
// library's calls (the dynamic linker finds these first) and switch Nagle off, as a real broker would.
extern "C" {
namespace {
void no_delay(int fd) {
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on non-TCP sockets
}
}  // namespace
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  using Fn = int (*)(int, sockaddr*, socklen_t*, int);
  static Fn real = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, "accept4"));
  int c = real(fd, addr, len, flags);
  no_delay(c);
  return c;
}
int accept(int fd, sockaddr* addr, socklen_t* len) {
  return accept4(fd, addr, len, 0);
}  // the same call on Linux
}

int main(int argc, char** argv) {
  CLI::App app{"Kafka test broker (librdkafka mock cluster) for ShadowStream's tests and demo.", "ss-test-broker"};
  int brokers = 3;
  int partitions = 64;
  std::vector<std::string> topics;
  app.add_option("--brokers", brokers, "Number of brokers")->default_val(3)->check(CLI::Range(1, 9));
  app.add_option("--partitions", partitions, "Partitions of topics created by --topic without :N")
      ->default_val(64)
      ->check(CLI::Range(1, 1024));
  app.add_option("--topic", topics, "Topic to create at start, NAME or NAME:PARTITIONS (repeatable)");
  return ss::run_main(app, argc, argv, [&] {
    char err[256];
    ss::kafka::Conf conf(rd_kafka_conf_new());
    // The handle only hosts the cluster; keep its own logging quiet.
    rd_kafka_conf_set(conf.get(), "log_level", "3", err, sizeof err);
    ss::kafka::Handle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), err, sizeof err));
    if (!rk) throw ss::Error(ss::kExitSoftware, std::string("cannot create a Kafka handle: ") + err);
    Mock mc(rd_kafka_mock_cluster_new(rk.get(), brokers));
    if (!mc) throw ss::Error(ss::kExitSoftware, "cannot create the mock cluster");
    for (const auto& t : topics) {
      auto colon = t.rfind(':');
      std::string name = colon == std::string::npos ? t : t.substr(0, colon);
      int n = colon == std::string::npos ? partitions : std::stoi(t.substr(colon + 1));
      ss::kafka::check(rd_kafka_mock_topic_create(mc.get(), name.c_str(), n, 1), "creating topic " + name,
                       ss::kExitSoftware);
    }
    answer(std::string("BOOTSTRAP ") + rd_kafka_mock_cluster_bootstraps(mc.get()));
    ss::LineReader lines(STDIN_FILENO);
    std::string_view line;
    while (lines.next(line)) {
      std::string cmd(line);
      if (cmd.find_first_not_of(" \t") == std::string::npos) continue;
      std::string why = run_command(mc.get(), cmd);
      answer(why.empty() ? "OK " + cmd : "ERR " + why);
    }
    return ss::kExitOk;
  });
}
