// Positions, LSNs and timestamps: the text forms every tool prints and parses.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ss {

// Position of a record in its source's stream (docs/CONTRACTS.md): commit LSN, then ordinal within the transaction.
struct Position {
  uint64_t lsn = 0;
  uint64_t ordinal = 0;
  auto operator<=>(const Position&) const = default;
  bool is_zero() const { return lsn == 0 && ordinal == 0; }
};

// A stretch of history: commit time since (inclusive) and until (exclusive), position from and to (inclusive).
// The one test every reader applies to a record: archive window reads, buffer range reads and the replay engine.
struct Span {
  std::optional<int64_t> since_us, until_us;
  std::optional<Position> from, to;
  enum class Where { kBefore, kInside, kAfter };
  // kAfter wins over kBefore: history is in commit order, so past the end nothing later qualifies.
  Where where(int64_t commit_time_us, const Position& pos) const {
    if ((until_us && commit_time_us >= *until_us) || (to && pos > *to)) return Where::kAfter;
    if ((since_us && commit_time_us < *since_us) || (from && pos < *from)) return Where::kBefore;
    return Where::kInside;
  }
};

// "X/Y" as pg_lsn prints it (upper-case hex, no leading zeros).
std::string format_lsn(uint64_t lsn);
// Parses "X/Y"; nullopt on anything else.
std::optional<uint64_t> parse_lsn(std::string_view text);

// "X/Y:ordinal", e.g. "0/16B3748:3". The form --ack files and --from-position flags use.
std::string format_position(const Position& p);
// Parses "X/Y:N" or "X/Y" (ordinal 0).
std::optional<Position> parse_position(std::string_view text);

// The instants ShadowStream represents: what RFC 3339 can write, 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z.
constexpr int64_t kMinTimeUs = -62'167'219'200'000'000;
constexpr int64_t kMaxTimeUs = 253'402'300'799'999'999;
// LSNs a PostgreSQL cluster can reach: 0 is InvalidXLogRecPtr, and 2^63 bytes is more WAL than any cluster writes
// (292 years at 1 GB/s). A record beyond it would make every real record after it look already stored.
constexpr uint64_t kMaxLsn = (uint64_t{1} << 63) - 1;

// µs since the Unix epoch -> "2026-11-20T10:00:00.000000Z"; outside [kMinTimeUs, kMaxTimeUs], "invalid-time(N)".
std::string format_time_us(int64_t us);

// Proleptic Gregorian dates (year 0 is 1 BC) <-> days since 1970-01-01 (Howard Hinnant's algorithms).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);  // m 1-12, d 1-31; a day past month end rolls over
void civil_from_days(int64_t days, int64_t& y, unsigned& m, unsigned& d);
// nullopt for a day its month does not have (2026-02-30) or a month or day out of range.
std::optional<int64_t> days_from_date(int64_t y, int m, int d);
// RFC 3339 / ISO 8601 -> µs since the epoch. Accepts "Z" or "+hh:mm"/"-hh:mm" offsets, 0-9 fractional digits,
// minutes-only times ("2026-11-20T10:00Z") and a space instead of "T". nullopt when not a valid instant or outside
// [kMinTimeUs, kMaxTimeUs].
std::optional<int64_t> parse_time_us(std::string_view text);

// Current wall-clock time, µs since the epoch.
int64_t now_us();
// CLOCK_MONOTONIC, µs: for intervals and timeouts, which a step of the wall clock must not stretch or cut.
int64_t mono_us();

// "10s", "500ms", "2m", "24h", "1d", or a bare number of seconds -> µs. nullopt when malformed.
std::optional<int64_t> parse_duration_us(std::string_view text);

}  // namespace ss
