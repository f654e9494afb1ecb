// What a client may cost an httplib server before its request head is read: cpp-httplib 0.11 bounds a header line
// but not their number, and gives each read its own timeout, so a client sending header lines slowly holds a worker
// for ever and one sending them fast grows the server without bound. The guard gives every connection a deadline
// from accept to its last header and a budget of bytes received before then, and closes the ones past either. On
// plain HTTP it waits for each head itself (one thread, epoll), so a worker only ever takes a connection whose head
// is whole: slow clients, however many, hold no worker.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <memory>

namespace ss::http_guard {

struct Limits {
  int64_t head_deadline_us = 10'000'000;  // from accept to the last header of the request
  size_t head_bytes = 64 << 10;           // bytes received before the head is complete (TLS included)...
  size_t body_bytes = 1 << 20;            // ... plus a body that arrives with it
  size_t workers = 32;
};

class Guard {
 public:
  explicit Guard(const Limits& limits);
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

  // Guards `server`'s connections from its next bind on (`plain`: it speaks plain HTTP, not TLS). Call before
  // bind_to_port; the server's listener must end before the guard does.
  void attach(httplib::Server& server, bool plain);

  // Called on the connection's own thread once its request head is read (a pre-routing or expect-100 handler): the
  // connection is no longer watched.
  static void head_read();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ss::http_guard
