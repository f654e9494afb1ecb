// Acknowledgements flow backwards (docs/CONTRACTS.md): a sink given --ack FILE writes the highest durable position
// after each durable batch, one line "X/Y:N"; an upstream tool given --ack-from FILE reads those lines and confirms to
// its own source only what came back. FILE is usually a FIFO that a supervisor creates; a regular file works too.
#pragma once

#include <optional>
#include <string>

#include "core/fd_io.h"
#include "core/position.h"

namespace ss {

class AckWriter {
 public:
  // Opens `path` (creating a regular file if it does not exist). A FIFO is opened read-write and non-blocking so
  // that a sink never blocks on, or dies with, a reader that is not there yet or restarting.
  explicit AckWriter(const std::string& path);
  AckWriter(const AckWriter&) = delete;
  AckWriter& operator=(const AckWriter&) = delete;

  // Writes "X/Y:N\n". Acks are cumulative, so when a FIFO is full (nobody reading) the line is dropped: the next
  // one supersedes it. Positions that do not advance are not written again.
  void ack(const Position& p);
  const std::optional<Position>& last() const { return last_; }

 private:
  UniqueFd fd_;
  bool fifo_ = false;
  std::string path_;
  std::optional<Position> last_;
};

class AckReader {
 public:
  // A FIFO is opened read-write so that it never reports end-of-file while its writer restarts; a regular file is
  // followed like `tail -f`.
  explicit AckReader(const std::string& path);
  AckReader(const AckReader&) = delete;
  AckReader& operator=(const AckReader&) = delete;

  // A descriptor to poll for readability (FIFOs), or -1 for a regular file (call poll_acks() on a timer).
  int poll_fd() const { return fifo_ ? fd_.get() : -1; }
  // Reads whatever is available without blocking and returns the highest position acknowledged so far, if any.
  // Malformed lines are an Error(65) naming the file.
  std::optional<Position> poll_acks();

 private:
  UniqueFd fd_;
  bool fifo_ = false;
  std::string path_;
  std::string partial_;
  std::optional<Position> best_;
};

}  // namespace ss
