// A replay job's request checked (validate, in jobs.h) and its source opened: a file beneath --files-dir, or a pipe
// fed by an archive window read on a thread of its own.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "core/fd_io.h"
#include "replay/jobs.h"
#include "replay/replay.h"

namespace ss::jobs {

// A job's source: "kafka:<topic>" or "file:<path>" (anything else, or an empty name, is refused by validate()).
struct SourceName {
  enum Kind { kNone, kKafka, kFile } kind = kNone;
  std::string name;
};
SourceName parse_source(const std::string& src);

// The file a file: source names, confined to `dir`: a regular file beneath it, opened by the kernel's own
// confinement (openat2 RESOLVE_BENEATH: no "..", no symbolic link or mount leading out, no race between a check and
// the open). Error(64) for anything else; whether a path outside exists is never told.
UniqueFd open_source_file(const std::string& spec, const std::string& dir);

// Frames of the job's source on a descriptor: a file, or a pipe fed by an archive window read on its own thread.
class Source {
 public:
  Source(const shadowstream::v1::ReplayRequest& r, const replay::Config& rc, const Config& cfg,
         std::function<bool()> should_stop);
  ~Source() { finish(); }
  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }
  // Closes the read side (a writer still running gets EPIPE and ends) and reports the reader's failure.
  void finish() {
    fd_.reset();
    if (reader_.joinable()) reader_.join();
  }
  void check() const {
    if (!error_.empty()) throw Error(code_, error_);
  }

 private:
  std::string name_;
  UniqueFd fd_;
  std::thread reader_;
  std::string error_;
  int code_ = 0;
};

// A rebuild job's base (ReplayRequest.rebuild): the archive as of its start_time (the latest checkpoint before it,
// then the changes up to it) applied to its target at full speed, ahead of the window. Returns what it replayed; a
// stop or cancel (hooks.should_stop) ends it early, with progress.finished false.
replay::Progress build_base(const shadowstream::v1::ReplayRequest& r, const Config& cfg, const replay::Hooks& hooks);

}  // namespace ss::jobs
