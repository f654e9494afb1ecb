#include "core/fd_io.h"

#include <poll.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/error.h"
#include "core/signals.h"

namespace ss {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void widen_pipe(int fd, size_t bytes) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
  const int want = static_cast<int>(std::min<size_t>(bytes, 1u << 30));
  if (::fcntl(fd, F_GETPIPE_SZ) < want) ::fcntl(fd, F_SETPIPE_SZ, want);
}

BufferedWriter::BufferedWriter(int fd, size_t buffer_size) : fd_(fd), limit_(buffer_size) {
  buf_.reserve(buffer_size + 4096);
}

BufferedWriter::~BufferedWriter() {
  try {
    flush();
  } catch (...) {
    // Destruction during error handling: the caller already reports the real failure.
  }
}

void BufferedWriter::flush() {
  try {
    write_all(buf_);
  } catch (...) {
    buf_.clear();
    throw;
  }
  buf_.clear();
}

void BufferedWriter::write_all(std::string_view bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
    if (n >= 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;  // finish the batch in hand even when a stop was requested
    int err = errno;
    if (err == EPIPE) throw BrokenPipe();
    throw Error(kExitIoErr, "write failed: " + errno_text(err));
  }
}

bool is_regular_file(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

void BufferedWriter::sync() {
  flush();
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS)
    throw Error(kExitIoErr, "fsync failed: " + errno_text(errno));
}

ReadBuffer::ReadBuffer(int fd, std::string name, size_t initial)
    : fd_(fd), name_(std::move(name)), buf_(static_cast<char*>(std::malloc(initial)), std::free), cap_(initial) {
  if (!buf_) throw std::bad_alloc();
}

bool ReadBuffer::readable(int timeout_ms) const {
  if (size() > 0 || eof_) return true;
  pollfd p{fd_, POLLIN, 0};
  // An interrupted wait (a stop, a pause) counts as quiet: the caller looks at its signals before reading.
  return ::poll(&p, 1, timeout_ms) > 0;
}

size_t ReadBuffer::waiting() const {
  // (A regular file answers with what is left of it, which over 2 GiB an int cannot hold: counted as nothing then, a
  // figure for tuning, not correctness.)
  int n = 0;
  if (eof_ || ::ioctl(fd_, FIONREAD, &n) != 0 || n < 0) n = 0;
  return size() + static_cast<size_t>(n);
}

bool ReadBuffer::fill(size_t need) {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    consumed_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  if (cap_ - end_ < cap_ / 4 && (need == 0 || need > cap_)) {
    size_t grown = need ? std::min(cap_ * 2, need) : cap_ * 2;
    char* p = static_cast<char*>(std::realloc(buf_.get(), grown));
    if (!p) throw std::bad_alloc();
    buf_.release();
    buf_.reset(p);
    cap_ = grown;
  }
  for (;;) {
    ssize_t n = ::read(fd_, buf_.get() + end_, cap_ - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) {
      if (stop_requested()) return false;
      continue;
    }
    throw Error(kExitIoErr, name_ + ": read failed: " + errno_text(errno));
  }
}

bool LineReader::next(std::string_view& line) {
  size_t scanned = 0;
  for (;;) {
    const void* nl = std::memchr(in_.data() + scanned, '\n', in_.size() - scanned);
    if (nl) {
      size_t len = static_cast<const char*>(nl) - in_.data();
      line = std::string_view(in_.data(), len);
      in_.consume(len + 1);
      ++line_no_;
      return true;
    }
    scanned = in_.size();
    if (!in_.fill()) {
      if (!in_.eof() || in_.size() == 0) return false;
      line = std::string_view(in_.data(), in_.size());
      in_.consume(in_.size());
      ++line_no_;
      return true;
    }
  }
}

int open_input(const std::string& path) {
  if (path == "-") return STDIN_FILENO;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(kExitNoInput, "cannot open " + path + ": " + errno_text(errno));
  return fd;
}

}  // namespace ss
