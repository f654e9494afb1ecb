#include "replay/job_source.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "core/cli.h"
#include "core/fd_io.h"
#include "core/json.h"
#include "core/log.h"
#include "core/position.h"
#include "core/signals.h"
#include "kafka/archive.h"
#include "pg/target.h"
#include "redis/conn.h"
#include "replay/pacing.h"
#include "replay/replay.h"

namespace ss::jobs {

using shadowstream::v1::ReplayRequest;

SourceName parse_source(const std::string& src) {
  for (auto [prefix, kind] : {std::pair{"kafka:", SourceName::kKafka}, std::pair{"file:", SourceName::kFile}}) {
    std::string_view p(prefix);
    if (src.compare(0, p.size(), p) == 0) return {kind, src.substr(p.size())};
  }
  return {};
}

namespace {
std::optional<std::string> why_invalid(const ReplayRequest& r) {
  const std::string& src = r.source();
  if (r.name().size() > kMaxNameBytes) return "name is longer than " + std::to_string(kMaxNameBytes) + " bytes";
  if (src.size() > kMaxSourceBytes) return "source is longer than " + std::to_string(kMaxSourceBytes) + " bytes";
  if (r.target().size() > kMaxTargetBytes) return "target is longer than " + std::to_string(kMaxTargetBytes) + " bytes";
  if (static_cast<size_t>(r.tables_size()) > kMaxTables) return "more than " + std::to_string(kMaxTables) + " tables";
  for (const auto& t : r.tables())
    if (t.size() > kMaxTableBytes) return "a table name is longer than " + std::to_string(kMaxTableBytes) + " bytes";
  SourceName source = parse_source(src);
  if (source.kind == SourceName::kKafka && source.name.empty())
    return "source kafka: needs a topic, e.g. kafka:shadowstream.archive";
  if (source.kind == SourceName::kFile && source.name.empty()) return "source file: needs a path";
  if (source.kind == SourceName::kNone && !src.empty())
    return "source must be kafka:<topic> or file:<path>, not '" + src + "'";
  if (!(r.speed_factor() == 0 || (r.speed_factor() >= kMinSpeed && r.speed_factor() <= kMaxSpeed)))
    return "speed_factor must be 0 (as fast as possible) or from 0.000001 to 1000000";
  if (!(r.rate() == 0 || (r.rate() >= kMinRate && r.rate() <= kMaxRate)))
    return "rate must be 0 (unused) or from 0.001 to 1e9 records per second";
  if (r.max_gap_us() < 0) return "max_gap_us must not be negative";
  if (r.start_time() < 0 || r.end_time() < 0) return "start_time and end_time must not be negative";
  if (r.start_time() && r.end_time() && r.start_time() >= r.end_time()) return "start_time must be before end_time";
  if (r.to_lsn() && r.from_lsn() > r.to_lsn()) return "from_lsn must not be above to_lsn";
  // (An empty source is the server's default, checked again once it is filled in.)
  if (r.rebuild() && (source.kind == SourceName::kFile || !r.start_time() || r.target().empty()))
    return "rebuild needs a kafka: source, a start_time and a target";
  if (!replay::on_error_of(r)) return "on_error must be stop, skip or log (and on_error_name, if set, the same)";
  for (const auto& t : r.tables())
    if (t.empty()) return "tables: empty table name";
  return std::nullopt;
}
}  // namespace

void validate(const ReplayRequest& r) {
  if (std::optional<std::string> why = why_invalid(r)) throw Error(kExitUsage, *why);
  if (!r.target().empty()) pg::check_target_form(r.target());
}

UniqueFd open_source_file(const std::string& spec, const std::string& dir) {
  if (dir.empty()) throw Error(kExitUsage, "this server reads no files (start it with --files-dir DIR)");
  const std::string outside = "source file:" + spec + " is outside --files-dir";
  std::string rel = spec;
  if (!rel.empty() && rel.front() == '/') {
    std::string prefix = dir.back() == '/' ? dir : dir + "/";
    if (rel.rfind(prefix, 0) != 0) throw Error(kExitUsage, outside);
    rel = rel.substr(prefix.size());
  }
  UniqueFd dfd(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) throw Error(kExitConfig, "--files-dir " + dir + ": " + errno_text(errno));
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(syscall(SYS_openat2, dfd.get(), rel.c_str(), &how, sizeof how)));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == EXDEV || err == ELOOP) throw Error(kExitUsage, outside);
    throw Error(kExitUsage, "source file:" + spec + ": " + errno_text(err));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(kExitUsage, "source file:" + spec + " is not a regular file");
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

Source::Source(const ReplayRequest& r, const replay::Config& rc, const Config& cfg, std::function<bool()> should_stop) {
  SourceName source = parse_source(r.source());
  if (source.kind == SourceName::kFile) {
    name_ = source.name;
    fd_ = open_source_file(name_, cfg.files_dir);
    return;
  }
  const kafka::Settings& k = cfg.kafka;
  archive::ReadConfig rd;
  rd.kafka = k;
  rd.topic = source.name;
  rd.since_us = rc.window.since_us;
  rd.until_us = rc.window.until_us;
  rd.from = rc.window.from;
  rd.to = rc.window.to;
  rd.should_stop = std::move(should_stop);
  name_ = "kafka topic " + rd.topic;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(kExitIoErr, "pipe: " + errno_text(errno));
  fd_.reset(fds[0]);
  reader_ = std::thread([this, rd, wfd = std::make_shared<UniqueFd>(fds[1])] {
    try {
      archive::run_read(rd, wfd->get());
    } catch (const BrokenPipe&) {
      // The job stopped reading (cancelled or stopped): not an error of the source.
    } catch (const Error& e) {
      error_ = e.what();
      code_ = e.code();
    }
    wfd->reset();  // the job's reader sees the end now
  });
}

replay::Progress build_base(const ReplayRequest& r, const Config& cfg, const replay::Hooks& hooks) {
  // The request as asked (source, target, tables, what to create, on_error: and whatever is added later), with
  // the window and the pacing taken out: a rebuild as of the window's start, at full speed.
  ReplayRequest base = r;
  base.set_end_time(r.start_time());
  base.clear_start_time();
  base.clear_from_lsn();
  base.clear_to_lsn();
  base.clear_speed_factor();
  base.clear_rate();
  base.clear_max_gap_us();
  base.clear_no_base();
  base.clear_rebuild();
  const replay::Config rc = replay::config_of(base);
  replay::PostgresSink sink(replay::apply_config_of(base));
  Source src(base, rc, cfg, hooks.should_stop);
  FrameReader in(src.fd(), src.name());
  replay::Progress p = replay::run(rc, in, sink, hooks);
  src.finish();
  if (p.finished) src.check();
  return p;
}

}  // namespace ss::jobs
