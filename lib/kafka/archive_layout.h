// How ss-archive lays records out in its topic, and how its writer and readers find them again: the headers each
// message carries, chunked records, and the seeks by time and by position. Shared by archive_writer.cc and
// archive_reader.cc; nothing outside lib/kafka needs it.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "core/position.h"
#include "kafka/handle.h"
#include "shadowstream.pb.h"

namespace ss::archive::detail {

inline constexpr int kTimeoutMs = 30'000;

// Appends the message key of `rec` (message_key in archive.h) without allocating.
void append_key(std::string& key, const shadowstream::v1::ChangeRecord& rec);

// Parses the record `whole` (a message's payload, or its chunks joined) into `rec`. A message that holds no
// record is bad data for every reader alike: Error(65) naming its topic, partition and offset, after which the
// reader stops (a group member commits what its downstream acknowledged first).
void parse_record(shadowstream::v1::ChangeRecord& rec, std::string_view whole, const rd_kafka_message_t* m);

// A header's value ("" when absent).
// A ChangeRecord's position and commit time, read without parsing the rest (which is only checked to be well-formed
// protobuf). False when it is not.
bool scan_record(std::string_view bytes, Position& pos, int64_t& commit_time);
std::string_view header(const rd_kafka_message_t* m, const char* name);  // valid as long as the message
// The record's position, from its "position" header.
std::optional<Position> message_position(const rd_kafka_message_t* m);
// The last position a message holds: a bundle's "last" header (see archive_writer.cc), else its position.
std::optional<Position> message_last_position(const rd_kafka_message_t* m);
// A bundle of a checkpoint's rows: how many frames its value holds (0 for a message that holds one record).
uint64_t bundled_records(const rd_kafka_message_t* m);

// A record larger than a message may be (the cluster's limit) travels as chunk messages: consecutive, in one
// partition (same key), one transaction, each with the record's headers plus "chunk: I/N" (1-based), their values
// concatenated in order being the record. Readers join them here; a set that is cut short (its transaction did not
// commit whole, or retention took its start) is dropped, never delivered in part.
class Chunks {
 public:
  // A chunk read without the chunks before it: its record's start is gone (retention deleted it, or the read began
  // inside the set). The message stays valid until the caller releases it.
  struct Orphan {
    const rd_kafka_message_t* m;
    std::string position;
  };

  // Feeds the next message of its partition. Returns the whole record's payload (the message's own, or the joined
  // chunks once the last arrives; valid until the next call for that partition), or nullopt meanwhile.
  std::optional<std::string_view> feed(const rd_kafka_message_t* m) {
    std::string chunk(header(m, "chunk"));
    Partial& part = partial_[m->partition];
    if (chunk.empty()) {
      drop(part, m);
      return std::string_view(static_cast<const char*>(m->payload), m->len);
    }
    int i = 0, n = 0;
    if (std::sscanf(chunk.c_str(), "%d/%d", &i, &n) != 2 || i < 1 || n < 1 || i > n)
      throw Error(kExitDataErr, "offset " + std::to_string(m->offset) + ": bad chunk header '" + chunk + "'");
    std::string pos(header(m, "position"));
    if (i == 1 || pos != part.position || i != part.next) {
      drop(part, m);
      if (i != 1) {
        orphan_ = Orphan{m, pos};
        return std::nullopt;
      }
      part.position = pos;
      part.total = n;
    }
    part.data.append(static_cast<const char*>(m->payload), m->len);
    part.next = i + 1;
    if (i < part.total) return std::nullopt;
    part.whole.swap(part.data);
    part.data.clear();
    part.next = 0;
    return std::string_view(part.whole);
  }
  // The orphan chunk the last feed() met, once.
  std::optional<Orphan> take_orphan() { return std::exchange(orphan_, std::nullopt); }

 private:
  struct Partial {
    std::string position, data, whole;
    int next = 0, total = 0;
  };
  static void drop(Partial& part, const rd_kafka_message_t* m) {
    if (part.next > 0)
      log::warn("dropped an incomplete chunked record at " + part.position + " before offset " +
                std::to_string(m->offset) + " of partition " + std::to_string(m->partition));
    part.data.clear();
    part.next = 0;
  }
  std::map<int32_t, Partial> partial_;
  std::optional<Orphan> orphan_;
};

using kafka::Watermarks;
std::vector<int32_t> partitions_of(rd_kafka_t* rk, const std::string& topic);
Watermarks watermarks(rd_kafka_t* rk, const std::string& topic, int32_t p);
std::map<int32_t, Watermarks> all_watermarks(rd_kafka_t* rk, const std::string& topic,
                                             const std::vector<int32_t>& parts);
void assign(rd_kafka_t* rk, const std::string& topic, const std::map<int32_t, int64_t>& offsets);

// Reads each partition of `offsets` from its offset to its end, handing every message to `each`, or until `each`
// returns false for a message of it (nothing more is wanted from that partition). Error(69) when the cluster fails
// a fetch or goes quiet for kTimeoutMs.
void read_partitions(rd_kafka_t* c, const std::string& topic, const std::map<int32_t, int64_t>& offsets,
                     const std::function<bool(const rd_kafka_message_t*)>& each);

// The first offset of each partition at or after `ts_ms` (commit time).
std::map<int32_t, int64_t> offsets_for_time(rd_kafka_t* c, const std::string& topic, const std::vector<int32_t>& parts,
                                            std::map<int32_t, Watermarks>& wm, int64_t ts_ms);
// The first offset of each partition holding a position at or after `from`.
std::map<int32_t, int64_t> offsets_for_position(rd_kafka_t* c, const std::string& topic,
                                                const std::vector<int32_t>& parts, std::map<int32_t, Watermarks>& wm,
                                                const Position& from);

// The highest position of `source` committed in `topic`: what a restarted archiver must not write again. With
// `time_ms`, its record's commit time (the message timestamp, ms; 0 when none).
Position committed_high_water(const kafka::Settings& s, const std::string& topic, const std::string& source,
                              int64_t* time_ms = nullptr);

// "T[p] offset O": where a message lies, for messages.
std::string where_in(const std::string& topic, const rd_kafka_message_t* m);

}  // namespace ss::archive::detail
