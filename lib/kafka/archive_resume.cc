#include "kafka/archive_resume.h"

#include <algorithm>
#include <map>

#include "core/log.h"
#include "kafka/archive_layout.h"

namespace ss::archive::detail {

// Reading back what is held costs about what the upstream resends; past this many messages the archiver keeps to
// the high-water rule alone.
constexpr int64_t kMaxRescan = 4'000'000;

Archived archived_since(const kafka::Settings& s, const std::string& topic, const std::string& source,
                        const Position& from) {
  Archived a;
  a.hw = committed_high_water(s, topic, source);
  a.floor = from;
  if (a.hw < from) return a;
  kafka::Handle c = kafka::make_consumer(s, "");
  std::vector<int32_t> parts = partitions_of(c.get(), topic);
  std::map<int32_t, Watermarks> wm = all_watermarks(c.get(), topic, parts);
  std::map<int32_t, int64_t> start = offsets_for_position(kafka::make_probe_consumer(s).get(), topic, parts, wm, from),
                             offsets;
  int64_t total = 0;
  for (auto [p, off] : start) {
    if (off >= wm[p].high) continue;
    offsets[p] = off;
    total += wm[p].high - off;
  }
  if (total > kMaxRescan) {
    log::warn("the resend starts " + std::to_string(total) + " messages back in " + topic +
              "; taking everything up to the high-water " + format_position(a.hw) + " as archived");
    a.floor = Position{a.hw.lsn, a.hw.ordinal + 1};
    rd_kafka_consumer_close(c.get());
    return a;
  }
  Chunks chunks;
  read_partitions(c.get(), topic, offsets, [&](const rd_kafka_message_t* m) {
    if (header(m, "source") != source) return true;
    // A chunked record is held once its last chunk is there.
    if (!chunks.feed(m)) return true;
    auto pos = message_position(m);
    auto last = message_last_position(m);
    if (pos && last && *last >= from) a.present.emplace_back(*pos, *last);
    return true;
  });
  rd_kafka_consumer_close(c.get());
  std::sort(a.present.begin(), a.present.end());
  return a;
}

}  // namespace ss::archive::detail
