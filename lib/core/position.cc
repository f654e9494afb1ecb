#include "core/position.h"

#include <time.h>

#include <charconv>
#include <chrono>
#include <cstdio>

namespace ss {
namespace {

bool parse_hex32(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 8) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

// Days since 1970-01-01 of a proleptic Gregorian civil date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::optional<int64_t> days_from_date(int64_t y, int m, int d) {
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const int64_t days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  // A day its month does not have (2026-02-30) would roll into the next month.
  int64_t cy;
  unsigned cm, cd;
  civil_from_days(days, cy, cm, cd);
  if (cy != y || cm != static_cast<unsigned>(m) || cd != static_cast<unsigned>(d)) return std::nullopt;
  return days;
}

std::string format_lsn(uint64_t lsn) {
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn));
  return std::string(buf, n);
}

std::optional<uint64_t> parse_lsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  uint64_t hi = 0, lo = 0;
  if (!parse_hex32(text.substr(0, slash), hi) || !parse_hex32(text.substr(slash + 1), lo)) return std::nullopt;
  return (hi << 32) | lo;
}

std::string format_position(const Position& p) {
  return format_lsn(p.lsn) + ":" + std::to_string(p.ordinal);
}

std::optional<Position> parse_position(std::string_view text) {
  Position p;
  auto colon = text.find(':');
  auto lsn = parse_lsn(text.substr(0, colon));
  if (!lsn) return std::nullopt;
  p.lsn = *lsn;
  if (colon != std::string_view::npos) {
    auto rest = text.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), p.ordinal);
    if (rest.empty() || ec != std::errc() || ptr != rest.data() + rest.size()) return std::nullopt;
  }
  return p;
}

std::string format_time_us(int64_t us) {
  if (us < kMinTimeUs || us > kMaxTimeUs) return "invalid-time(" + std::to_string(us) + ")";
  int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  int64_t frac = us - secs * 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<long long>(y), m, d,
                        static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60),
                        static_cast<long long>(frac));
  return std::string(buf, n);
}

std::optional<int64_t> parse_time_us(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!parse_digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !parse_digits(s, 5, 2, mo) || s[7] != '-' ||
      !parse_digits(s, 8, 2, d))
    return std::nullopt;
  size_t i = 10;
  int64_t frac_us = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    if (!parse_digits(s, i + 1, 2, h) || i + 3 >= s.size() || s[i + 3] != ':' || !parse_digits(s, i + 4, 2, mi))
      return std::nullopt;
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!parse_digits(s, i + 1, 2, sec)) return std::nullopt;
      i += 3;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        int digits = 0;
        int64_t scale = 100000;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          if (digits < 6) frac_us += (s[i] - '0') * scale;
          scale /= 10;
          ++digits;
          ++i;
        }
        if (digits == 0 || digits > 9) return std::nullopt;
      }
    }
  }
  int64_t offset_s = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int oh, om = 0;
      int sign = s[i] == '-' ? -1 : 1;
      if (!parse_digits(s, i + 1, 2, oh)) return std::nullopt;
      i += 3;
      if (i < s.size() && s[i] == ':') ++i;
      if (i < s.size()) {
        if (!parse_digits(s, i, 2, om)) return std::nullopt;
        i += 2;
      }
      offset_s = sign * (oh * 3600 + om * 60);
    } else {
      return std::nullopt;
    }
  }
  if (i != s.size()) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::optional<int64_t> days = days_from_date(y, mo, d);
  if (!days) return std::nullopt;
  int64_t secs = *days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  int64_t us = secs * 1000000 + frac_us;
  if (us < kMinTimeUs || us > kMaxTimeUs) return std::nullopt;
  return us;
}

int64_t mono_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> parse_duration_us(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v < 0) return std::nullopt;
  std::string_view unit(p, s.data() + s.size() - p);
  double mult;
  if (unit.empty() || unit == "s")
    mult = 1e6;
  else if (unit == "ms")
    mult = 1e3;
  else if (unit == "us")
    mult = 1;
  else if (unit == "m" || unit == "min")
    mult = 60e6;
  else if (unit == "h")
    mult = 3600e6;
  else if (unit == "d")
    mult = 86400e6;
  else
    return std::nullopt;
  // Past int64's µs (292,000 years) the cast is undefined: refused like any other nonsense.
  if (!(v * mult < 9.2e18)) return std::nullopt;
  return static_cast<int64_t>(v * mult);
}

}  // namespace ss
