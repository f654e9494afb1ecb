#include "replay/jobs.h"

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
#include "replay/job_source.h"
#include "replay/pacing.h"
#include "replay/replay.h"

namespace ss::jobs {

using shadowstream::v1::JobState;

bool is_final(JobState s) {
  return s == shadowstream::v1::JOB_STATE_DONE || s == shadowstream::v1::JOB_STATE_FAILED ||
         s == shadowstream::v1::JOB_STATE_CANCELLED;
}

std::string state_name(JobState s) {
  return json::enum_short_name(shadowstream::v1::JobState_descriptor()->FindValueByNumber(s));
}

namespace {

struct Job {
  ReplayJob rec;
  pacing::PauseGate gate;
  std::atomic<bool> cancel{false};
  std::atomic<bool> lost{false};     // the lease went to another server: stop without touching the stored state
  bool local = false;                // this server holds the job's lease and runs it
  bool unsaved = false;              // the last persist failed: keep_leases saves it again
  int64_t renewed_us = 0;            // when the lease was last renewed (monotonic)
  std::atomic<bool> running{false};  // the worker has not returned yet
  std::thread worker;
  uint64_t version = 1;
  int64_t persisted_us = 0;
  std::deque<std::pair<int64_t, uint64_t>> samples;  // (monotonic µs, records done) over the last few seconds
};

}  // namespace

struct Manager::Impl {
  Config cfg;
  redis::Endpoint ep;
  redis::Session store;  // guarded by mu; dropped after a failure and made again on the next command
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::map<std::string, std::unique_ptr<Job>> jobs;
  std::atomic<bool> shutting_down{false};
  uint64_t counter = 0;
  int64_t pruned_us = INT64_MIN / 2;

  std::string instance;  // this server's name on its leases
  std::string id_suffix;
  std::thread leaser;

  explicit Impl(const Config& c) : cfg(c), ep(redis::parse_url(c.redis_url)), store(ep, 1000) {
    std::random_device rd;
    char host[256] = "host";
    gethostname(host, sizeof host - 1);
    instance = std::string(host) + ":" + std::to_string(getpid()) + ":" + std::to_string(rd());
    // Servers sharing a store create ids in the same millisecond: a few random letters keep them apart.
    for (int i = 0; i < 4; ++i) id_suffix.push_back(static_cast<char>('a' + rd() % 26));
    {
      std::lock_guard<std::mutex> lk(mu);
      load();
    }
    leaser = std::thread([this] { keep_leases(); });
  }

  ~Impl() {
    shutting_down = true;
    cv.notify_all();
    if (leaser.joinable()) leaser.join();
    for (auto& [id, j] : jobs)
      if (j->worker.joinable()) j->worker.join();
    // What still runs here goes back to the store's other servers now, not when the leases lapse.
    std::lock_guard<std::mutex> lk(mu);
    for (auto& [id, j] : jobs)
      if (j->local) release(id);
  }

  // ---- leases: with mu held --------------------------------------------------------------------------------------
  std::string lease_key(const std::string& id) const { return cfg.key + ":lease:" + id; }

  // Runs one command on the store, reconnecting once; nullptr when Redis cannot be reached (the caller retries).
  redis::Reply store_command(std::initializer_list<std::string> argv) {
    try {
      return store.run(argv);
    } catch (const Error& e) {
      log::warn(std::string("job store: ") + e.what());
      return nullptr;
    }
  }

  bool acquire(const std::string& id) {
    redis::Reply r = store_command(
        {"SET", lease_key(id), instance, "NX", "PX", std::to_string(std::max<int64_t>(cfg.lease_us / 1000, 1))});
    return r && r->type == REDIS_REPLY_STATUS;
  }

  // True while the lease is still ours (renewed); false when another server took it. When Redis cannot be reached
  // the answer is unknown: the job goes on until its lease would have lapsed anyway (see keep_leases).
  std::optional<bool> renew(const std::string& id) {
    static const std::string kRenew =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
        "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0";
    redis::Reply r = store_command(
        {"EVAL", kRenew, "1", lease_key(id), instance, std::to_string(std::max<int64_t>(cfg.lease_us / 1000, 1))});
    if (!r || r->type != REDIS_REPLY_INTEGER) return std::nullopt;
    return r->integer == 1;
  }

  void release(const std::string& id) {
    static const std::string kRelease =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
    store_command({"EVAL", kRelease, "1", lease_key(id), instance});
  }

  // Renews this server's leases, stops jobs whose lease another server took, and takes over unfinished jobs that
  // no server holds (their server died).
  void keep_leases() {
    std::unique_lock<std::mutex> lk(mu);
    while (!shutting_down) {
      cv.wait_for(lk, std::chrono::microseconds(std::max<int64_t>(cfg.lease_us / 3, 1000)),
                  [&] { return shutting_down.load(); });
      if (shutting_down) break;
      for (auto& [id, j] : jobs)
        if (j->unsaved) persist(*j);  // a state Redis did not take (a final one above all) is saved again
      refresh_others();
      for (auto& [id, j] : jobs) {
        if (is_final(j->rec.state())) continue;
        if (j->local) {
          std::optional<bool> ours = renew(id);
          if (ours.value_or(true)) {
            if (ours) j->renewed_us = pacing::mono_us();
            // Cut off from Redis for a whole lease: another server may have taken the job by now.
            if (pacing::mono_us() - j->renewed_us < cfg.lease_us) continue;
          }
          log::warn("replay job " + id + (ours ? " was taken over by another server" : " lost its lease") +
                    "; stopping it here");
          j->lost = true;
          j->local = false;
          continue;
        }
        if (j->running) continue;  // a worker that lost its lease is still winding down
        if (j->worker.joinable()) j->worker.join();
        if (acquire(id)) {
          redis::Reply r = store_command({"HGET", cfg.key, id});
          if (r && r->type == REDIS_REPLY_STRING) j->rec.ParseFromArray(r->str, static_cast<int>(r->len));
          if (is_final(j->rec.state())) {
            release(id);
            continue;
          }
          log::warn("taking over replay job " + id + " (" + state_name(j->rec.state()) +
                    ") from a server that stopped");
          take(*j, true);
        }
      }
    }
  }

  // Jobs of other servers sharing the store: new ones appear, and their state follows what their server stores.
  void refresh_others() {
    redis::Reply r = store_command({"HGETALL", cfg.key});
    if (!r || r->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      std::string id(r->element[i]->str, r->element[i]->len);
      auto it = jobs.find(id);
      if (it != jobs.end() && (it->second->local || it->second->running)) continue;
      ReplayJob rec;
      if (!rec.ParseFromArray(r->element[i + 1]->str, static_cast<int>(r->element[i + 1]->len))) continue;
      if (it == jobs.end()) it = jobs.emplace(id, std::make_unique<Job>()).first;
      if (is_final(it->second->rec.state()) && !is_final(rec.state())) continue;  // ours is newer: not yet saved
      if (it->second->rec.SerializeAsString() != rec.SerializeAsString()) {
        it->second->rec = std::move(rec);
        ++it->second->version;
        cv.notify_all();
      }
    }
  }

  // Starts a job this server holds the lease of.
  void take(Job& j, bool resumed) {
    j.local = true;
    j.renewed_us = pacing::mono_us();
    j.lost = false;
    if (j.rec.state() == shadowstream::v1::JOB_STATE_PAUSED)
      j.gate.pause();
    else
      j.gate.resume();  // it may have been paused here before another server resumed it
    start(j, resumed);
  }

  void persist(Job& j) {
    j.persisted_us = pacing::mono_us();
    try {
      store.run({"HSET", cfg.key, j.rec.id(), j.rec.SerializeAsString()});
      j.unsaved = false;
    } catch (const Error& e) {
      j.unsaved = true;
      log::warn("cannot save replay job " + j.rec.id() + " to Redis (" + e.what() + "); will retry");
    }
  }

  // Called with mu held after every change of a job.
  void publish(Job& j, bool force) {
    j.rec.mutable_progress()->set_state(j.rec.state());
    j.rec.mutable_progress()->set_update_time(now_us());
    ++j.version;
    cv.notify_all();
    if (force || pacing::mono_us() - j.persisted_us >= cfg.persist_interval_us) persist(j);
  }

  void load() {
    redis::Reply r = store.run({"HGETALL", cfg.key}, false);
    if (redis::is_error(r.get())) throw Error(kExitUnavailable, "reading replay jobs: " + std::string(r->str, r->len));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      auto j = std::make_unique<Job>();
      if (!j->rec.ParseFromArray(r->element[i + 1]->str, static_cast<int>(r->element[i + 1]->len))) {
        log::warn("ignoring an unreadable replay job in " + cfg.key);
        continue;
      }
      Job& job = *j;
      std::string id = job.rec.id();
      jobs[id] = std::move(j);
      if (is_final(job.rec.state())) continue;
      if (!acquire(id)) {
        log::warn("replay job " + id + " runs on another server; leaving it there");
        continue;
      }
      log::warn("resuming replay job " + id + " (" + state_name(job.rec.state()) + ") after a server restart");
      take(job, true);
    }
  }

  void start(Job& j, bool resumed) {
    j.running = true;
    j.worker = std::thread([this, &j, resumed] {
      run(j, resumed);
      j.running = false;
    });
  }

  void update(Job& j, const replay::Progress& p, uint64_t base, const replay::Config& rc) {
    auto* pu = j.rec.mutable_progress();
    uint64_t done = base + p.done;
    pu->set_records_done(done);
    if (p.done) {
      pu->set_commit_lsn(p.last.lsn);
      pu->set_ordinal(p.last.ordinal);
      pu->set_replayed_time(p.replayed_time);
    }
    pu->set_lag_us(p.lag_us);
    int64_t now = pacing::mono_us();
    j.samples.emplace_back(now, done);
    while (j.samples.size() > 2 && now - j.samples.front().first > 5'000'000) j.samples.pop_front();
    double rate = 0;
    if (j.samples.size() >= 2 && j.samples.back().first > j.samples.front().first)
      rate = static_cast<double>(j.samples.back().second - j.samples.front().second) * 1e6 /
             static_cast<double>(j.samples.back().first - j.samples.front().first);
    pu->set_rate(rate);
    int64_t eta = -1;
    if (pu->records_total() > 0 && rate > 0) {
      eta = static_cast<int64_t>(static_cast<double>(pu->records_total() - std::min(done, pu->records_total())) / rate *
                                 1e6);
    } else if (rc.window.until_us && rc.pacing.speed > 0 && rc.pacing.rate <= 0 && p.replayed_time > 0) {
      eta = static_cast<int64_t>(static_cast<double>(std::max<int64_t>(0, *rc.window.until_us - p.replayed_time)) /
                                 rc.pacing.speed);
    }
    pu->set_eta_us(eta);
  }

  // Records of the window in a frames file, for records_total; a quick unpaced pass that a cancel or a stop ends.
  uint64_t count_file(const std::string& spec, const replay::Config& rc, const std::function<bool()>& should_stop) {
    UniqueFd fd = open_source_file(spec, cfg.files_dir);
    FrameReader in(fd.get(), spec);
    replay::CountSink sink;
    replay::Config unpaced = rc;
    unpaced.pacing = {};
    replay::Hooks hooks;
    hooks.should_stop = should_stop;
    hooks.metrics = false;
    return replay::run(unpaced, in, sink, hooks).done;
  }

  // A job's replay hooks: its pause gate, its stop, its progress published with `offset` records before it.
  replay::Hooks hooks_of(Job& j, const std::function<bool()>& stop, const uint64_t& offset, const replay::Config& rc) {
    replay::Hooks h;
    h.gate = &j.gate;
    h.should_stop = stop;
    h.progress_interval_us = 250'000;
    h.on_progress = [this, &j, &offset, &rc](const replay::Progress& p) {
      std::lock_guard<std::mutex> lk(mu);
      update(j, p, offset, rc);
      publish(j, false);
    };
    return h;
  }

  void run(Job& j, bool resumed) {
    ReplayRequest req;
    uint64_t base = 0;
    Position resume_from;
    {
      std::lock_guard<std::mutex> lk(mu);
      req = j.rec.request();
      if (resumed) {
        base = j.rec.progress().records_done();
        resume_from = {j.rec.progress().commit_lsn(), j.rec.progress().ordinal()};
      }
      if (j.rec.state() != shadowstream::v1::JOB_STATE_PAUSED) j.rec.set_state(shadowstream::v1::JOB_STATE_RUNNING);
      if (!j.rec.started_time()) j.rec.set_started_time(now_us());
      publish(j, true);
    }
    auto stopping = [&] { return shutting_down.load() || stop_requested() || j.lost.load(); };
    JobState final_state = shadowstream::v1::JOB_STATE_DONE;
    std::string error;
    try {
      replay::Config rc = replay::config_of(req);
      if (SourceName source = parse_source(req.source()); source.kind == SourceName::kFile) {
        uint64_t total = count_file(source.name, rc, [&] { return j.cancel.load() || stopping(); });
        std::lock_guard<std::mutex> lk(mu);
        j.rec.mutable_progress()->set_records_total(total);
        publish(j, false);
      }
      // Resuming after a restart: start at the last position reported; a PostgreSQL target skips what it has.
      if (resumed && !resume_from.is_zero() && (!rc.window.from || *rc.window.from < resume_from)) {
        rc.window.from = resume_from;
        base = base > 0 ? base - 1 : 0;  // the record at resume_from is replayed (or skipped) again
      }
      const std::function<bool()> stop_job = [&] { return j.cancel.load() || stopping(); };
      if (req.rebuild()) {
        const uint64_t from_zero = 0;
        replay::Progress bp = build_base(req, cfg, hooks_of(j, stop_job, from_zero, rc));
        if (!bp.finished) throw Error(kExitTempFail, "stopped while building the base");
        base = bp.done;
      }
      std::unique_ptr<replay::Sink> sink;
      if (req.target().empty()) {
        sink = std::make_unique<replay::CountSink>();
      } else {
        sink = std::make_unique<replay::PostgresSink>(replay::apply_config_of(req));
      }
      Source src(req, rc, cfg, stop_job);
      FrameReader in(src.fd(), src.name());
      replay::Progress p = replay::run(rc, in, *sink, hooks_of(j, stop_job, base, rc));
      src.finish();
      if (j.cancel) {
        final_state = shadowstream::v1::JOB_STATE_CANCELLED;
      } else if (stopping()) {
        return;  // stays running in the store: the next server resumes it
      } else {
        src.check();
        (void)p;
      }
    } catch (const Error& e) {
      if (stopping() && !j.cancel) return;
      final_state = j.cancel ? shadowstream::v1::JOB_STATE_CANCELLED : shadowstream::v1::JOB_STATE_FAILED;
      error = e.what();
    } catch (const std::exception& e) {
      final_state = shadowstream::v1::JOB_STATE_FAILED;
      error = std::string("internal error: ") + e.what();
    }
    std::lock_guard<std::mutex> lk(mu);
    j.rec.set_state(final_state);
    j.rec.set_finished_time(now_us());
    if (final_state == shadowstream::v1::JOB_STATE_DONE) j.rec.mutable_progress()->set_eta_us(0);
    if (!error.empty()) {
      j.rec.set_error(error);
      j.rec.mutable_progress()->set_error(error);
      log::warn("replay job " + j.rec.id() + " failed: " + error);
    }
    publish(j, true);
    release(j.rec.id());
    j.local = false;
  }

  // Called with mu held: pause, resume and cancel act on the server that runs the job.
  void check_local(const Job& j) const {
    if (!j.local && !is_final(j.rec.state()))
      throw Refused("job " + j.rec.id() + " runs on another server sharing this job store: ask that server");
  }

  // Called with mu held. A finished job's worker has returned; joining it here costs nothing.
  void erase(const std::string& id) {
    auto it = jobs.find(id);
    if (it == jobs.end()) return;
    if (it->second->worker.joinable()) it->second->worker.join();
    jobs.erase(it);
    try {
      store.run({"HDEL", cfg.key, id});
    } catch (const Error& e) {
      throw Error(kExitUnavailable, "cannot delete replay job " + id + " from Redis: " + e.what());
    }
  }

  // Called with mu held: --keep-jobs, at most once a minute.
  void prune() {
    if (cfg.keep_jobs_us <= 0) return;
    if (pacing::mono_us() - pruned_us < std::clamp<int64_t>(cfg.keep_jobs_us / 2, 100'000, 60'000'000)) return;
    pruned_us = pacing::mono_us();
    std::vector<std::string> old;
    int64_t cutoff = now_us() - cfg.keep_jobs_us;
    for (const auto& [id, j] : jobs)
      if (is_final(j->rec.state()) && j->rec.finished_time() && j->rec.finished_time() < cutoff) old.push_back(id);
    for (const std::string& id : old) {
      try {
        erase(id);
      } catch (const Error& e) {
        log::warn(e.what());
      }
    }
    if (!old.empty()) log::info("deleted " + std::to_string(old.size()) + " replay jobs older than --keep-jobs");
  }

  // Throws Busy when one more job, into `target`, would pass --max-jobs or --max-target-jobs (mu held).
  void check_room(const std::string& target) const {
    size_t all = 0, same = 0;
    for (const auto& [id, j] : jobs) {
      if (!j->local || is_final(j->rec.state())) continue;
      ++all;
      if (!target.empty() && j->rec.request().target() == target) ++same;  // a dry run has no target
    }
    if (all >= cfg.max_jobs)
      throw Busy("this server runs " + std::to_string(all) + " jobs, its most (--max-jobs): try again when one ends");
    if (same >= cfg.max_target_jobs)
      throw Busy("this server runs " + std::to_string(same) +
                 " jobs into that target, its most per target (--max-target-jobs): try again when one ends");
  }

  Job& find(const std::string& id) const {
    auto it = jobs.find(id);
    if (it == jobs.end()) throw NotFound(id);
    return *it->second;
  }

  std::string new_id() {
    // Time-ordered and unique within a server's life; readable enough to type.
    return "r" + std::to_string(now_us() / 1000) + "-" + id_suffix + std::to_string(++counter);
  }
};

Manager::Manager(const Config& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Manager::~Manager() = default;

ReplayJob Manager::create(ReplayRequest req) {
  if (req.source().empty()) req.set_source(impl_->cfg.default_source);
  validate(req);
  if (!req.target().empty()) pg::check_target(req.target(), impl_->cfg.allow_targets);
  if (SourceName source = parse_source(req.source()); source.kind == SourceName::kFile)
    open_source_file(source.name, impl_->cfg.files_dir);  // refused now rather than when the job starts
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->check_room(req.target());
  auto j = std::make_unique<Job>();
  Job& job = *j;
  job.rec.set_id(impl_->new_id());
  *job.rec.mutable_request() = req;
  job.rec.set_state(shadowstream::v1::JOB_STATE_PENDING);
  job.rec.set_created_time(now_us());
  job.rec.mutable_progress()->set_job_id(job.rec.id());
  job.rec.mutable_progress()->set_eta_us(-1);
  // The lease before the job is stored, so no other server sees it unleased and takes it over.
  if (!impl_->acquire(job.rec.id()))
    throw Error(kExitUnavailable, "cannot reach the job store to create job " + job.rec.id());
  impl_->jobs[job.rec.id()] = std::move(j);
  impl_->publish(job, true);
  impl_->take(job, false);
  return job.rec;
}

std::vector<ReplayJob> Manager::list(const std::vector<JobState>& states, size_t limit,
                                     const std::string& before) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  impl_->prune();
  auto newer = [](const ReplayJob& a, const ReplayJob& b) {
    return a.created_time() != b.created_time() ? a.created_time() > b.created_time() : a.id() > b.id();
  };
  std::vector<const ReplayJob*> all;
  for (const auto& [id, j] : impl_->jobs)
    if (states.empty() || std::find(states.begin(), states.end(), j->rec.state()) != states.end())
      all.push_back(&j->rec);
  std::sort(all.begin(), all.end(), [&](const ReplayJob* a, const ReplayJob* b) { return newer(*a, *b); });
  auto from = all.begin();
  if (!before.empty()) {
    auto it = impl_->jobs.find(before);
    if (it == impl_->jobs.end()) throw NotFound(before);
    const ReplayJob& mark = it->second->rec;
    from = std::find_if(all.begin(), all.end(), [&](const ReplayJob* r) { return newer(mark, *r); });
  }
  std::vector<ReplayJob> out;
  for (auto it = from; it != all.end() && (limit == 0 || out.size() < limit); ++it) out.push_back(**it);
  return out;
}

void Manager::remove(const std::string& id) {
  std::unique_lock<std::mutex> lk(impl_->mu);
  Job& j = impl_->find(id);
  if (!is_final(j.rec.state()))
    throw Refused("job " + id + " is " + state_name(j.rec.state()) + ": cancel it before deleting it");
  impl_->erase(id);
}

ReplayJob Manager::get(const std::string& id) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->find(id).rec;
}

ReplayJob Manager::pause(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Job& j = impl_->find(id);
  impl_->check_local(j);
  if (is_final(j.rec.state()))
    throw Refused("job " + id + " is " + state_name(j.rec.state()) + ": only running jobs can be paused");
  if (j.rec.state() != shadowstream::v1::JOB_STATE_PAUSED) {
    j.gate.pause();
    j.rec.set_state(shadowstream::v1::JOB_STATE_PAUSED);
    impl_->publish(j, true);
  }
  return j.rec;
}

ReplayJob Manager::resume(const std::string& id) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Job& j = impl_->find(id);
  impl_->check_local(j);
  if (is_final(j.rec.state()))
    throw Refused("job " + id + " is " + state_name(j.rec.state()) + ": only paused jobs can be resumed");
  if (j.rec.state() == shadowstream::v1::JOB_STATE_PAUSED) {
    j.gate.resume();
    j.rec.set_state(shadowstream::v1::JOB_STATE_RUNNING);
    impl_->publish(j, true);
  }
  return j.rec;
}

ReplayJob Manager::cancel(const std::string& id) {
  std::unique_lock<std::mutex> lk(impl_->mu);
  Job& j = impl_->find(id);
  impl_->check_local(j);
  if (is_final(j.rec.state())) throw Refused("job " + id + " is already " + state_name(j.rec.state()));
  j.cancel = true;
  // The worker notices within a pacing slice; answer with the final state when it is that quick. The job may be
  // deleted while the lock is let go: look it up again.
  impl_->cv.wait_for(lk, std::chrono::seconds(5), [&] {
    auto it = impl_->jobs.find(id);
    return it == impl_->jobs.end() || is_final(it->second->rec.state());
  });
  return impl_->find(id).rec;
}

void Manager::wait_progress(const std::string& id, uint64_t& seen, ProgressUpdate& out, int64_t timeout_us) const {
  std::unique_lock<std::mutex> lk(impl_->mu);
  impl_->find(id);
  // The lock is let go while waiting and the job may be deleted meanwhile: look it up again each time.
  impl_->cv.wait_for(lk, std::chrono::microseconds(timeout_us), [&] {
    auto it = impl_->jobs.find(id);
    return it == impl_->jobs.end() || it->second->version > seen || impl_->shutting_down.load();
  });
  Job& j = impl_->find(id);
  seen = j.version;
  out = j.rec.progress();
  out.set_job_id(j.rec.id());
  out.set_state(j.rec.state());
  out.set_error(j.rec.error());
}

}  // namespace ss::jobs
