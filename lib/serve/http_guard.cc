#include "serve/http_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/fd_io.h"
#include "core/log.h"
#include "core/position.h"
#include "serve/tcp_stats.h"

namespace ss::http_guard {

namespace {

struct Conn {
  UniqueFd fd;  // a dup of the connection's socket: shutting it down ends the connection, and the number stays ours
  int64_t deadline_us = 0;
  std::function<void()> serve;    // httplib's task for the connection, held while its head is awaited
  bool gating = false;            // its head is awaited here, off the workers
  std::atomic<bool> done{false};  // its head was read (or it was cut off): nothing more to watch
};

thread_local Conn* t_current = nullptr;

int local_port(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return -1;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return -1;
}

}  // namespace

struct Guard::Impl {
  Limits limits;
  std::mutex mu;
  bool stopping = false;
  std::atomic<int> listener{-1};
  bool plain = true;  // the server speaks plain HTTP, so a head can be seen (peeked) before a worker reads it
  int port = -1;
  std::map<ino_t, std::shared_ptr<Conn>> conns;  // by socket inode: unique while the socket lives
  std::unique_ptr<httplib::ThreadPool> workers;  // httplib's current task queue's
  UniqueFd epoll{::epoll_create1(EPOLL_CLOEXEC)};
  UniqueFd wake_r, wake_w;
  std::thread gate;
  std::string peek_buf;  // the gate's, reused for every peek

  explicit Impl(const Limits& l) : limits(l) {
    int p[2];
    if (epoll.get() < 0 || ::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
      throw Error(kExitSoftware, "cannot set up the dashboard's connection guard: " + errno_text(errno));
    wake_r = UniqueFd(p[0]);
    wake_w = UniqueFd(p[1]);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake_r.get(), &ev);
    gate = std::thread([this] { run(); });
  }
  ~Impl() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stopping = true;
    }
    poke();
    gate.join();
  }

  void poke() {
    char c = 1;
    ssize_t ignored = ::write(wake_w.get(), &c, 1);
    (void)ignored;
  }

  // The socket httplib accepted just now, found on its listener's thread before it hands the socket on: the
  // connected socket on the listener's port that is not known yet (httplib 0.11 offers no hook with the socket).
  std::shared_ptr<Conn> adopt() {
    int lfd = listener.load();
    if (lfd < 0) return nullptr;
    if (port < 0) port = local_port(lfd);
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/fd"), closedir);
    if (!dir) return nullptr;
    std::lock_guard<std::mutex> lk(mu);
    while (dirent* e = readdir(dir.get())) {
      int fd = std::atoi(e->d_name);
      struct stat st {};
      if (e->d_name[0] == '.' || fd == lfd || fd == dirfd(dir.get()) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
          conns.count(st.st_ino) || local_port(fd) != port)
        continue;
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
      auto c = std::make_shared<Conn>();
      c->fd = UniqueFd(::dup(fd));
      c->deadline_us = now_us() + limits.head_deadline_us;
      // Known even without a dup (out of descriptors): unwatched, but never taken for the next accepted socket.
      if (c->fd.get() < 0) c->done = true;
      conns[st.st_ino] = c;
      return c;
    }
    return nullptr;
  }

  // httplib's task for a new connection: on plain HTTP its head is awaited here, off the workers; over TLS (whose
  // bytes say nothing before the handshake) a worker takes it at once, and the deadline and budget still apply.
  void enqueue(std::function<void()> serve) {
    std::shared_ptr<Conn> c = adopt();
    if (!c || !plain || c->done) return dispatch(c, std::move(serve));
    {
      std::lock_guard<std::mutex> lk(mu);
      c->serve = std::move(serve);
      c->gating = true;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;  // edge-triggered: woken by new bytes, not by bytes already seen
    ev.data.ptr = c.get();
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, c->fd.get(), &ev) != 0) {
      std::lock_guard<std::mutex> lk(mu);
      c->gating = false;
      return dispatch(c, std::move(c->serve));
    }
    poke();
  }

  void dispatch(const std::shared_ptr<Conn>& c, std::function<void()> serve) {
    workers->enqueue([this, c, serve = std::move(serve)] {
      t_current = c.get();
      serve();
      t_current = nullptr;
      if (c) release(c);
    });
  }

  // The connection is over: its dup is closed with it, before another accept could take the dup for a new socket.
  void release(const std::shared_ptr<Conn>& c) {
    std::lock_guard<std::mutex> lk(mu);
    c->done = true;
    c->fd.reset();
    for (auto it = conns.begin(); it != conns.end(); ++it)
      if (it->second == c) {
        conns.erase(it);
        return;
      }
  }

  // Takes a gated connection off the gate and gives it to a worker (mu held). Cut off, it still goes to a worker:
  // httplib owns the socket and closes it when its read fails. A whole head gets a new deadline: the time it may
  // wait for a busy worker is not the client's doing.
  void pass_on(const std::shared_ptr<Conn>& c, bool cut) {
    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr);
    c->gating = false;
    if (cut) {
      ::shutdown(c->fd.get(), SHUT_RDWR);
      c->done = true;
    } else {
      c->deadline_us = now_us() + limits.head_deadline_us;
    }
    dispatch(c, std::move(c->serve));
  }

  // Whether the head has arrived whole: "\r\n\r\n" within the budget. nullopt: not yet.
  std::optional<bool> head_status(int fd) {
    std::string& buf = peek_buf;
    buf.resize(limits.head_bytes + 4);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;  // closed before a head: a worker reads the EOF and closes
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? std::nullopt : std::optional<bool>(false);
    if (std::string_view(buf.data(), static_cast<size_t>(n)).find("\r\n\r\n") != std::string_view::npos) return true;
    if (static_cast<size_t>(n) >= limits.head_bytes) return false;
    return std::nullopt;
  }

  void run() {
    std::vector<epoll_event> events(64);
    std::unique_lock<std::mutex> lk(mu);
    while (!stopping) {
      bool watching = false;
      const int64_t now = now_us();
      for (auto& [ino, c] : conns) {
        if (c->done) continue;
        if (c->gating) {
          if (now > c->deadline_us) {
            log::debug("dashboard: closed a connection whose request head took too long");
            pass_on(c, true);
          } else {
            watching = true;
          }
          continue;
        }
        const bool late = now > c->deadline_us;
        if (late || tcp_stats::bytes_received(c->fd.get()) > limits.head_bytes + limits.body_bytes) {
          log::debug(std::string("dashboard: closed a connection whose request head ") +
                     (late ? "took too long" : "was too large"));
          ::shutdown(c->fd.get(), SHUT_RDWR);
          c->done = true;
        } else {
          watching = true;
        }
      }
      lk.unlock();
      // Heads in progress: deadlines and budgets every 20 ms (a fast sender gets that long past its budget).
      int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), watching ? 20 : 1000);
      lk.lock();
      for (int i = 0; i < n; ++i) {
        if (!events[i].data.ptr) {
          char drain[64];
          while (::read(wake_r.get(), drain, sizeof drain) > 0) {
          }
          continue;
        }
        Conn* raw = static_cast<Conn*>(events[i].data.ptr);
        for (auto& [ino, c] : conns)
          if (c.get() == raw && c->gating) {
            std::optional<bool> head = head_status(c->fd.get());
            if (head) pass_on(c, !*head && !(events[i].events & (EPOLLRDHUP | EPOLLHUP)));
            break;
          }
      }
    }
    // Stopping: whatever still waits for its head goes to a worker, cut off, so httplib's queue can end.
    for (auto& [ino, c] : conns)
      if (c->gating && workers) pass_on(c, true);
  }
};

namespace {

// The task queue httplib is given: its own pool behind the guard.
class Pool final : public httplib::TaskQueue {
 public:
  explicit Pool(Guard::Impl& g) : guard_(g) {
    std::lock_guard<std::mutex> lk(g.mu);
    g.workers = std::make_unique<httplib::ThreadPool>(g.limits.workers);
  }
  void enqueue(std::function<void()> fn) override { guard_.enqueue(std::move(fn)); }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lk(guard_.mu);
      for (auto& [ino, c] : guard_.conns)
        if (c->gating) guard_.pass_on(c, true);
    }
    guard_.workers->shutdown();
  }

 private:
  Guard::Impl& guard_;
};

}  // namespace

Guard::Guard(const Limits& limits) : impl_(std::make_unique<Impl>(limits)) {}
Guard::~Guard() = default;

void Guard::attach(httplib::Server& server, bool plain) {
  Impl* impl = impl_.get();
  impl->plain = plain;
  server.set_socket_options([impl](socket_t sock) {
    httplib::default_socket_options(sock);
    impl->listener = sock;
  });
  // httplib deletes the queue it is given when its listener ends.
  server.new_task_queue = [impl] { return std::make_unique<Pool>(*impl).release(); };
}

void Guard::head_read() {
  if (t_current) t_current->done = true;
}

}  // namespace ss::http_guard
