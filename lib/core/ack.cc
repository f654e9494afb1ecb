#include "core/ack.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace ss {
namespace {
bool is_fifo(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}
}  // namespace

AckWriter::AckWriter(const std::string& path) : fifo_(is_fifo(path)), path_(path) {
  fd_.reset(fifo_ ? ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)
                  : ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd_.get() < 0) throw Error(kExitIoErr, "cannot open ack file " + path + ": " + errno_text(errno));
}

void AckWriter::ack(const Position& p) {
  if (last_ && p <= *last_) return;
  std::string line = format_position(p) + "\n";
  for (;;) {
    ssize_t n = ::write(fd_.get(), line.data(), line.size());
    if (n == static_cast<ssize_t>(line.size())) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // nobody is reading the FIFO; a later ack supersedes this one
    // Lines are far below PIPE_BUF, so a write is all or nothing; anything else is a real error.
    throw Error(kExitIoErr, "cannot write ack file " + path_ + ": " + (n < 0 ? errno_text(errno) : "short write"));
  }
  last_ = p;
}

AckReader::AckReader(const std::string& path) : fifo_(is_fifo(path)), path_(path) {
  if (!fifo_ && ::access(path.c_str(), F_OK) != 0) {
    // The sink creates the file on its first ack; create it empty so the order in which tools start does not matter.
    UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  }
  fd_.reset(::open(path.c_str(), (fifo_ ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC));
  if (fd_.get() < 0) throw Error(kExitIoErr, "cannot open ack file " + path + ": " + errno_text(errno));
}

std::optional<Position> AckReader::poll_acks() {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      partial_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) throw Error(kExitIoErr, "cannot read ack file " + path_ + ": " + errno_text(errno));
    break;  // EAGAIN, or EOF of a regular file: come back later
  }
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(partial_.data() + start, nl - start);
    if (line.empty()) continue;
    auto p = parse_position(line);
    if (!p)
      throw Error(kExitDataErr, "ack file " + path_ + ": expected a position like 0/16B3748:3, got \"" +
                                    std::string(line.substr(0, 40)) + "\"");
    if (!best_ || *p > *best_) best_ = p;
  }
  partial_.erase(0, start);
  return best_;
}

}  // namespace ss
