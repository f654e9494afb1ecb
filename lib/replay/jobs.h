// Replay jobs: the one implementation behind ss-replay serve's gRPC services (and any other face on them). A job
// replays an archive window (Kafka) or a frames file into a PostgreSQL target, or counts it in a dry run, on its
// own thread, with pause/resume/cancel and live progress. Jobs and their progress are kept in Redis, so a
// restarted server lists them again and resumes the ones that were running (safe: the target skips what it has).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "kafka/archive.h"
#include "kafka/handle.h"
#include "shadowstream.pb.h"

namespace ss::jobs {

using shadowstream::v1::JobState;
using shadowstream::v1::ProgressUpdate;
using shadowstream::v1::ReplayJob;
using shadowstream::v1::ReplayRequest;

struct Config {
  std::string redis_url;  // job store; empty = REDIS_URL
  std::string key = "shadowstream:replay:jobs";
  kafka::Settings kafka;  // brokers for "kafka:<topic>" sources
  std::string default_source = std::string("kafka:") + archive::kDefaultTopic;
  int64_t persist_interval_us = 1'000'000;
  // Where a job may send the server's credentials: a target naming a host or port must match one of these
  // HOST[:PORT][/DBNAME] patterns (shell wildcards); a target naming neither goes to the server's own PGHOST.
  std::vector<std::string> allow_targets;
  // The only directory file: sources may read (regular files inside it); empty = no file: sources.
  std::string files_dir;
  // Finished jobs older than this are deleted (0 = kept).
  int64_t keep_jobs_us = 0;
  // A server's claim on a job it runs (a lease in Redis, renewed at a third of this): servers sharing a store never
  // run one job twice, and one takes over the jobs of another that died once its leases lapse.
  int64_t lease_us = 15'000'000;
  // Jobs not yet finished that this server holds at once (each a thread and a target connection), in all and per
  // target (conninfo as given); a job past either bound is refused (Busy), not queued.
  size_t max_jobs = 8;
  size_t max_target_jobs = 4;
};

// Field limits of a request, checked before anything else.
inline constexpr size_t kMaxNameBytes = 256, kMaxSourceBytes = 1024, kMaxTargetBytes = 1024, kMaxTables = 1000,
                        kMaxTableBytes = 256;

// Throws Error(64) saying why a request cannot become a job: its shape and bounds. What a server allows (targets,
// files) is checked by Manager::create.
void validate(const ReplayRequest& req);

// No job with that id.
class NotFound : public Error {
 public:
  explicit NotFound(const std::string& id) : Error(kExitNoInput, "no replay job " + id) {}
};
// The job's state does not allow the call (e.g. pausing a finished job).
class Refused : public Error {
 public:
  explicit Refused(const std::string& msg) : Error(kExitUsage, msg) {}
};

// The server already runs as many jobs as it may (Config::max_jobs, max_target_jobs): try again later.
class Busy : public Error {
 public:
  explicit Busy(const std::string& msg) : Error(kExitTempFail, msg) {}
};

bool is_final(JobState s);
std::string state_name(JobState s);

class Manager {
 public:
  // Connects to the store and takes over its jobs: running and pending ones are resumed, paused ones come back
  // paused. Throws Error(69) when Redis cannot be reached.
  explicit Manager(const Config& cfg);
  // Stops the workers; jobs still running stay "running" in the store for the next server to resume.
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Throws Error(64) for an invalid request.
  ReplayJob create(ReplayRequest req);
  // Newest first; only jobs in `states` unless empty; at most `limit` (0 = all) of those created before the job
  // `before` (empty = from the newest): the next page starts before the last job of this one.
  std::vector<ReplayJob> list(const std::vector<JobState>& states = {}, size_t limit = 0,
                              const std::string& before = "") const;
  ReplayJob get(const std::string& id) const;  // NotFound
  ReplayJob pause(const std::string& id);      // NotFound, Refused
  ReplayJob resume(const std::string& id);
  ReplayJob cancel(const std::string& id);
  // Deletes a finished job (Refused while it runs: cancel it first).
  void remove(const std::string& id);
  // Waits until the job's progress is newer than `seen` (a version number this call updates) or `timeout_us`
  // passes, then fills `out` with the latest. Throws NotFound.
  void wait_progress(const std::string& id, uint64_t& seen, ProgressUpdate& out, int64_t timeout_us) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ss::jobs
