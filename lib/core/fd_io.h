// Buffered I/O on raw file descriptors: large blocks, EINTR-safe, EPIPE as ss::BrokenPipe. Shared by the frame
// writer and the text (JSON lines) paths so that both keep the same write-error semantics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ss {

// An owned descriptor, closed when it goes.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// True when `fd` is a regular file: once fsynced, what was written there is stored (a pipe's reader may still lose
// it), so a tool without --ack-from may acknowledge upstream what it wrote to a file, and only then.
bool is_regular_file(int fd);

// Makes the pipe or FIFO `fd` hold at least `bytes` (at most /proc/sys/fs/pipe-max-size, 1 MiB by default, for an
// unprivileged user). Best effort: anything else, or a pipe that cannot grow, is left as it is.
void widen_pipe(int fd, size_t bytes);

class BufferedWriter {
 public:
  explicit BufferedWriter(int fd, size_t buffer_size = 1u << 20);
  ~BufferedWriter();  // best-effort flush
  BufferedWriter(const BufferedWriter&) = delete;
  BufferedWriter& operator=(const BufferedWriter&) = delete;

  // Appends bytes; flushes when the buffer is full. Bytes as large as the buffer go straight out after what is
  // pending, so a 300 MB record is never copied into it.
  void write(std::string_view bytes) {
    if (bytes.size() >= limit_) {
      flush();
      write_all(bytes);
      return;
    }
    buf_.append(bytes);
    if (buf_.size() >= limit_) flush();
  }
  // Direct access for callers that serialize in place; call maybe_flush() afterwards.
  std::string& buffer() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= limit_) flush();
  }
  // Writes everything pending. Throws BrokenPipe when the reader went away, Error(74) otherwise.
  void flush();
  // flush() then fsync(2); EINVAL/EROFS (pipes, terminals) are not errors.
  void sync();
  size_t pending() const { return buf_.size(); }
  size_t limit() const { return limit_; }
  int fd() const { return fd_; }

 private:
  void write_all(std::string_view bytes);
  int fd_;
  size_t limit_;
  std::string buf_;
};

// A read buffer over a descriptor, filled in large blocks, whose unconsumed bytes stay contiguous at the front: the
// one piece of buffered-input logic that both the frame reader and the line reader stand on.
class ReadBuffer {
 public:
  explicit ReadBuffer(int fd, std::string name = "stdin", size_t initial = 1u << 20);
  // Reads more bytes, keeping the unconsumed ones. False at end of input (then eof()) or when a stop was requested
  // while waiting. Throws Error(74) on read errors.
  // `need`, when known, is how many unconsumed bytes the caller waits for (a frame's length): the buffer then grows
  // only up to that, not to the next power of two.
  bool fill(size_t need = 0);
  const char* data() const { return buf_.get() + pos_; }
  size_t size() const { return end_ - pos_; }
  void consume(size_t n) { pos_ += n; }
  bool eof() const { return eof_; }
  // Stream offset of data().
  uint64_t offset() const { return consumed_ + pos_; }
  const std::string& name() const { return name_; }
  // Whether input arrives within `timeout_ms` (or is buffered, or ended): false after a quiet or interrupted wait.
  bool readable(int timeout_ms) const;
  // Bytes in hand plus those waiting in the pipe (or socket) behind them, without reading.
  size_t waiting() const;

 private:
  int fd_;
  std::string name_;
  // malloc'd so that growing it is realloc: for large buffers that is mremap, with no moment holding both the old
  // and the new copy (a vector's growth peaks at three times the old size).
  std::unique_ptr<char, void (*)(void*)> buf_;
  size_t cap_;
  size_t pos_ = 0, end_ = 0;
  uint64_t consumed_ = 0;  // stream offset of buf_[0]
  bool eof_ = false;
};

// Reads newline-terminated lines from a descriptor in large blocks.
class LineReader {
 public:
  explicit LineReader(int fd, std::string name = "stdin") : in_(fd, std::move(name)) {}
  // Next line without its '\n' (valid until the next call); a last line without '\n' is returned too.
  // False at end of input or when a stop was requested while waiting. Throws Error(74) on read errors.
  bool next(std::string_view& line);
  uint64_t line_number() const { return line_no_; }
  const std::string& name() const { return in_.name(); }

 private:
  ReadBuffer in_;
  uint64_t line_no_ = 0;
};

// Opens `path` for reading ("-" = stdin, returned as fd 0 and not to be closed). Throws Error(66) when it cannot.
int open_input(const std::string& path);

}  // namespace ss
