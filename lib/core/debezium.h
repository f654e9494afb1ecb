// Records as Debezium change events: the value Debezium's PostgreSQL connector writes with Kafka Connect's JSON
// converter (schemas.enable=false), so consumers written for Debezium read ShadowStream's streams unchanged.
//
// The value encodings are the connector's lossless settings, stated in ss-cat(1):
//   decimal.handling.mode=string (numeric and money as decimal strings), time.precision.mode=adaptive (date: days
//   since the epoch; time and timestamp: ms for precision 0-3, µs otherwise; timestamptz/timetz: ISO 8601 in UTC),
//   interval.handling.mode=string (ISO 8601 "P1Y2M3DT4H5M6.5S"), binary.handling.mode=base64, and
//   provide.transaction.metadata=true (the transaction block). An unchanged TOASTed value is Debezium's placeholder
//   "__debezium_unavailable_value". A value whose text form is not one of PostgreSQL's ISO forms (another DateStyle,
//   infinity, a multi-dimensional array) is kept as its text, a string, rather than guessed at.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shadowstream.pb.h"

namespace ss::debezium {

inline constexpr const char* kUnavailable = "__debezium_unavailable_value";

// Converts one record at a time, in stream order: the transaction block counts events per transaction and per
// table, and source.sequence names the previous transaction's commit LSN, so keep one Converter per stream.
class Converter {
 public:
  // Replaces `events` with the record's events, one JSON object each, without newlines. Most records give one;
  // an update that changes the key gives two, a delete of the old key and a create of the new (as Debezium's
  // connector emits them); heartbeats and checkpoint markers give none.
  void convert(const shadowstream::v1::ChangeRecord& rec, std::vector<std::string>& events);

 private:
  void append_source(const shadowstream::v1::ChangeRecord& rec, std::string& out) const;
  void append_event(const shadowstream::v1::ChangeRecord& rec, bool transactional, const char* code,
                    const std::string* before, const std::string* after, std::vector<std::string>& events);
  void append_transaction(const shadowstream::v1::ChangeRecord& rec, std::string& out);

  uint64_t tx_lsn_ = 0;           // commit LSN of the transaction being counted
  uint64_t previous_commit_ = 0;  // commit LSN of the transaction before it, for source.sequence
  uint64_t total_order_ = 0;
  std::vector<std::pair<std::string, uint64_t>> table_order_;  // per "schema.table" in this transaction
  uint64_t table_count_ = 0;
};

// a / b rounded toward negative infinity: times before 1970 are negative microseconds.
inline int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Appends a column's value as Debezium encodes it (see above); exposed for unit tests.
void append_value(const shadowstream::v1::Column& col, std::string& out);

}  // namespace ss::debezium
