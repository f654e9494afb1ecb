// Column values as Debezium's PostgreSQL connector encodes them (see debezium.h): numbers, times, intervals, arrays.
#include "core/debezium.h"

#include <absl/strings/escaping.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "core/json.h"
#include "core/position.h"

namespace ss::debezium {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;
using shadowstream::v1::Operation;

constexpr int64_t kUsPerSecond = 1000000;
constexpr int64_t kUsPerDay = 86400 * kUsPerSecond;

// Built-in type OIDs (pg_type.h); stable across clusters.
enum : uint32_t {
  kBool = 16,
  kBytea = 17,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kOid = 26,
  kFloat4 = 700,
  kFloat8 = 701,
  kMoney = 790,
  kDate = 1082,
  kTime = 1083,
  kTimestamp = 1114,
  kTimestamptz = 1184,
  kInterval = 1186,
  kTimetz = 1266,
  kPoint = 600,
  kBit = 1560,
  kVarbit = 1562,
  kNumeric = 1700,
};

// Array type OID -> element type OID, for the element types Debezium encodes other than as strings.
uint32_t element_of(uint32_t array_oid) {
  switch (array_oid) {
    case 1000:
      return kBool;
    case 1001:
      return kBytea;
    case 1016:
      return kInt8;
    case 1005:
      return kInt2;
    case 1007:
      return kInt4;
    case 1028:
      return kOid;
    case 1021:
      return kFloat4;
    case 1022:
      return kFloat8;
    case 791:
      return kMoney;
    case 1182:
      return kDate;
    case 1183:
      return kTime;
    case 1115:
      return kTimestamp;
    case 1185:
      return kTimestamptz;
    case 1187:
      return kInterval;
    case 1270:
      return kTimetz;
    case 1231:
      return kNumeric;
    default:
      return 0;
  }
}

bool is_array_type(const Column& c) {
  if (c.type_oid() == 1020) return false;  // box[]: its elements are separated by ';', and hold commas themselves
  // An array type's name starts with _, its parts quoted where they need it: _t, s._t, "S"."_t".
  const std::string& n = c.type_name();
  return n.starts_with('_') || n.starts_with("\"_") || n.find("._") != std::string::npos ||
         n.find(".\"_") != std::string::npos;
}

using json::append_base64;
using json::append_number;

// A small cursor over PostgreSQL's text forms; every reader returns false (and the caller keeps the text) on
// anything it does not expect.
struct Cursor {
  std::string_view s;
  bool done() const { return s.empty(); }
  bool eat(char c) {
    if (s.empty() || s[0] != c) return false;
    s.remove_prefix(1);
    return true;
  }
  bool eat(std::string_view w) {
    if (s.substr(0, w.size()) != w) return false;
    s.remove_prefix(w.size());
    return true;
  }
  // Exactly `digits` digits, or at least one when digits is 0.
  bool number(int64_t& v, size_t digits = 0) {
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0 || (digits && n != digits)) return false;
    if (std::from_chars(s.data(), s.data() + n, v).ec != std::errc()) return false;
    s.remove_prefix(n);
    return true;
  }
  bool signed_number(int64_t& v) {
    bool neg = eat('-');
    if (!neg) eat('+');
    if (!number(v)) return false;
    if (neg) v = -v;
    return true;
  }
  // ".ffffff" (1 to 6 digits) as microseconds; absent is 0.
  bool fraction(int64_t& us) {
    us = 0;
    if (!eat('.')) return true;
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0 || n > 6) return false;
    for (size_t i = 0; i < 6; ++i) us = us * 10 + (i < n ? s[i] - '0' : 0);
    s.remove_prefix(n);
    return true;
  }
};

// "YYYY-MM-DD" as read; days() once the era is known (a " BC" suffix comes after the time and offset).
struct Date {
  int64_t y = 0, m = 0, d = 0;
  // Days since 1970-01-01; false for a day its month does not have. A BC year Y is proleptic year 1 - Y, which
  // decides whether it has a 29 February. `micros`: the days must also fit a timestamp in µs.
  bool days(bool bc, int64_t& out, bool micros = false) const {
    std::optional<int64_t> n = days_from_date(bc ? 1 - y : y, static_cast<int>(m), static_cast<int>(d));
    if (!n) return false;
    out = *n;
    // Beyond this, µs since the epoch leave int64 (PostgreSQL's own limit is a few centuries further).
    return !micros || (out > -106'000'000 && out < 106'000'000);
  }
};

// Ranges are checked by Date::days.
bool read_date(Cursor& c, Date& date) {
  return c.number(date.y) && c.eat('-') && c.number(date.m, 2) && c.eat('-') && c.number(date.d, 2);
}

// "H:MM:SS[.ffffff]", with `hour_digits` digits of hours (0: any number, as in an interval).
struct Hms {
  int64_t h = 0, m = 0, s = 0, f = 0;
  bool read(Cursor& c, size_t hour_digits) {
    return c.number(h, hour_digits) && c.eat(':') && c.number(m, 2) && c.eat(':') && c.number(s, 2) && c.fraction(f);
  }
  int64_t us() const { return ((h * 60 + m) * 60 + s) * kUsPerSecond + f; }
};

// "HH:MM:SS[.ffffff]" -> µs since midnight (24:00:00 allowed, as PostgreSQL does).
bool read_time(Cursor& c, int64_t& us) {
  Hms t;
  if (!t.read(c, 2) || t.h > 24 || t.m > 59 || t.s > 60) return false;
  us = t.us();
  return true;
}

// "+HH[:MM[:SS]]" -> seconds east of UTC.
bool read_offset(Cursor& c, int64_t& seconds) {
  bool neg = c.eat('-');
  if (!neg && !c.eat('+')) return false;
  int64_t h = 0, m = 0, s = 0;
  if (!c.number(h, 2)) return false;
  if (c.eat(':') && !c.number(m, 2)) return false;
  if (c.eat(':') && !c.number(s, 2)) return false;
  seconds = (h * 60 + m) * 60 + s;
  if (neg) seconds = -seconds;
  return true;
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view t) {
  size_t i = 0;
  auto digits = [&] {
    size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ".f" of `us` µs, trimmed of trailing zeros as java.time's ISO formatters print it (nothing for 0); or, with a
// `width` (0 to 6), exactly that many digits, as the connector prints a timestamptz of that precision.
void append_fraction(std::string& out, int64_t us, int width = -1) {
  if (width == 0 || (us == 0 && width < 0)) return;
  char buf[16];
  std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us));
  std::string_view frac(buf);
  if (width > 0)
    frac = frac.substr(0, static_cast<size_t>(width) + 1);
  else
    while (frac.back() == '0') frac.remove_suffix(1);
  out += frac;
}

// "HH:MM:SS[.f]".
void append_clock(std::string& out, int64_t us_of_day, int width = -1) {
  char buf[32];
  int64_t secs = us_of_day / kUsPerSecond;
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  out += buf;
  append_fraction(out, us_of_day % kUsPerSecond, width);
}

// µs since the epoch, UTC -> "2026-11-26T10:00:00.5Z" (years past 9999 with a sign, as java.time prints them).
void append_instant(std::string& out, int64_t us, int width = -1) {
  int64_t days = floor_div(us, kUsPerDay);
  int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  char buf[48];
  long long y = static_cast<long long>(year);
  if (y > 9999)
    std::snprintf(buf, sizeof buf, "+%lld", y);
  else if (y < 0)
    std::snprintf(buf, sizeof buf, "-%04lld", -y);
  else
    std::snprintf(buf, sizeof buf, "%04lld", y);
  out += buf;
  std::snprintf(buf, sizeof buf, "-%02u-%02uT", month, day);
  out += buf;
  append_clock(out, us - days * kUsPerDay, width);
  out += 'Z';
}

int precision(const Column& c) {
  return c.type_modifier() >= 0 && c.type_modifier() <= 6 ? c.type_modifier() : 6;
}

// Debezium's ISO 8601 form of a PostgreSQL interval (PostgreSQL's default IntervalStyle, "1 year 2 mons 3 days
// 04:05:06.5"): "P1Y2M3DT4H5M6.5S", every part present.
bool append_interval(std::string_view text, std::string& out) {
  Cursor c{text};
  int64_t years = 0, months = 0, days = 0, time_us = 0;
  while (!c.done()) {
    Cursor save = c;
    int64_t n;
    if (c.signed_number(n) && c.eat(' ')) {
      if (c.eat("years") || c.eat("year"))
        years = n;
      else if (c.eat("mons") || c.eat("mon"))
        months = n;
      else if (c.eat("days") || c.eat("day"))
        days = n;
      else
        return false;
    } else {
      c = save;
      bool neg = c.eat('-');
      if (!neg) c.eat('+');
      Hms t;
      if (!t.read(c, 0)) return false;
      time_us = t.us();
      if (neg) time_us = -time_us;
    }
    if (!c.done() && !c.eat(' ')) return false;
  }
  int64_t abs_us = time_us < 0 ? -time_us : time_us;
  int64_t sign = time_us < 0 ? -1 : 1;
  int64_t h = abs_us / (3600 * kUsPerSecond), m = abs_us / (60 * kUsPerSecond) % 60;
  int64_t s = abs_us / kUsPerSecond % 60, f = abs_us % kUsPerSecond;
  out += "\"P";
  append_number(out, years);
  out += 'Y';
  append_number(out, months);
  out += 'M';
  append_number(out, days);
  out += "DT";
  append_number(out, sign * h);
  out += 'H';
  append_number(out, sign * m);
  out += 'M';
  if (sign < 0 && (s || f)) out += '-';
  append_number(out, s);
  append_fraction(out, f);
  out += "S\"";
  return true;
}

// Appends the Debezium encoding of one value given as PostgreSQL's text output; false when the text is not in
// the form expected for the type (the caller then writes it as a string).
// "-$1,234.56" (lc_monetary C) -> "-1234.56": decimal.handling.mode=string. Another locale's form ("1.234,56 €") is
// kept as text rather than misread.
bool append_money(Cursor c, std::string& out) {
  std::string v;
  if (c.eat('-')) v += '-';
  if (!c.eat('$')) return false;
  for (char ch : c.s)
    if (ch != ',') v += ch;
  if (!is_json_number(v)) return false;
  json::append_string(out, v);
  return true;
}

// "\\x0a0b" -> base64 (binary.handling.mode=base64).
bool append_bytea(Cursor c, std::string& out) {
  if (!c.eat("\\x") || c.s.size() % 2) return false;
  std::string raw;
  raw.reserve(c.s.size() / 2);
  for (size_t i = 0; i < c.s.size(); i += 2) {
    int hi = hex_digit(c.s[i]), lo = hex_digit(c.s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    raw.push_back(static_cast<char>(hi * 16 + lo));
  }
  append_base64(out, raw);
  return true;
}

// date: days since the epoch; time: ms or µs by precision; timetz: "HH:MM:SS[.f]Z" in UTC.
bool append_date_or_time(uint32_t oid, const Column& col, Cursor c, std::string& out) {
  if (oid == kDate) {
    Date date;
    int64_t days;
    if (!read_date(c, date)) return false;
    const bool bc = c.eat(" BC");
    if (!c.done() || !date.days(bc, days)) return false;
    append_number(out, days);
    return true;
  }
  int64_t us, off;
  if (oid == kTime) {
    if (!read_time(c, us) || !c.done()) return false;
    append_number(out, precision(col) <= 3 ? us / 1000 : us);
    return true;
  }
  if (!read_time(c, us) || !read_offset(c, off) || !c.done()) return false;
  us -= off * kUsPerSecond;
  us = ((us % kUsPerDay) + kUsPerDay) % kUsPerDay;
  out += '"';
  append_clock(out, us);
  out += "Z\"";
  return true;
}

// timestamp: ms or µs since the epoch by precision; timestamptz: ISO 8601 in UTC.
bool append_timestamp(uint32_t oid, const Column& col, Cursor c, std::string& out) {
  Date date;
  int64_t days, us, off = 0;
  if (!read_date(c, date) || !c.eat(' ') || !read_time(c, us)) return false;
  if (oid == kTimestamptz && !read_offset(c, off)) return false;
  const bool bc = c.eat(" BC");
  if (!c.done() || !date.days(bc, days, true)) return false;
  int64_t epoch_us = days * kUsPerDay + us - off * kUsPerSecond;
  if (oid == kTimestamp) {
    append_number(out, precision(col) <= 3 ? floor_div(epoch_us, 1000) : epoch_us);
  } else {
    out += '"';
    append_instant(out, epoch_us, precision(col));
    out += '"';
  }
  return true;
}

// bit(n > 1) and varbit: Debezium's Bits, bytes of the bit string read as a binary number, least significant byte
// first, without high zero bytes (Java's BitSet.toByteArray); base64 in JSON.
bool append_bits(std::string_view text, std::string& out) {
  if (text.find_first_not_of("01") != std::string_view::npos) return false;
  std::string bytes((text.size() + 7) / 8, '\0');
  for (size_t i = 0; i < text.size(); ++i)
    if (text[text.size() - 1 - i] == '1') bytes[i / 8] = static_cast<char>(bytes[i / 8] | (1 << (i % 8)));
  while (!bytes.empty() && bytes.back() == '\0') bytes.pop_back();
  append_base64(out, bytes);
  return true;
}

// point: Debezium's Point, its coordinates and the same point as WKB (little-endian, type 1), without an SRID.
bool append_point(std::string_view text, std::string& out) {
  if (text.size() < 5 || text.front() != '(' || text.back() != ')') return false;
  const std::string_view body = text.substr(1, text.size() - 2);
  const size_t comma = body.find(',');
  if (comma == std::string_view::npos) return false;
  const std::string_view xs = body.substr(0, comma), ys = body.substr(comma + 1);
  double xy[2];
  for (int i = 0; i < 2; ++i) {
    const std::string_view s = i ? ys : xs;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), xy[i]);
    if (ec != std::errc() || end != s.data() + s.size() || !is_json_number(s)) return false;
  }
  std::string wkb("\x01\x01\x00\x00\x00", 5);
  for (double d : xy) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    for (int b = 0; b < 8; ++b) wkb += static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  out += "{\"x\":";
  out += xs;
  out += ",\"y\":";
  out += ys;
  out += ",\"wkb\":";
  append_base64(out, wkb);
  out += ",\"srid\":null}";
  return true;
}

bool append_typed(uint32_t oid, const Column& col, std::string_view text, std::string& out) {
  Cursor c{text};
  switch (oid) {
    case kBool:
      if (text != "t" && text != "f") return false;
      out += text == "t" ? "true" : "false";
      return true;
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid:
      // Exact whatever its size: the digits go through as they are (a JSON number is not limited to a double).
      c.eat('-');
      if (c.done() || c.s.find_first_not_of("0123456789") != std::string_view::npos) return false;
      out += text;
      return true;
    case kFloat4:
    case kFloat8:
      // NaN and the infinities have no JSON number: they stay strings, as Jackson's quoted forms (and so does
      // anything else that is not a JSON number, from a producer other than PostgreSQL).
      if (!is_json_number(text)) return false;
      out += text;
      return true;
    case kMoney:
      return append_money(c, out);
    case kBytea:
      return append_bytea(c, out);
    case kDate:
    case kTime:
    case kTimetz:
      return append_date_or_time(oid, col, c, out);
    case kTimestamp:
    case kTimestamptz:
      return append_timestamp(oid, col, c, out);
    case kInterval:
      return append_interval(text, out);
    case kBit:
      if (col.type_modifier() != 1) return append_bits(text, out);
      if (text != "0" && text != "1") return false;
      out += text == "1" ? "true" : "false";
      return true;
    case kVarbit:
      return append_bits(text, out);
    case kPoint:
      return append_point(text, out);
    case kNumeric:
    default:
      json::append_string(out, text);
      return true;
  }
}

// A one-dimensional array's text form ({1,2,NULL} or {"a b","c\"d"}) as a JSON array of its elements' encodings.
bool append_array(uint32_t element_oid, const Column& col, std::string_view text, std::string& out) {
  Cursor c{text};
  if (!c.eat('{')) return false;
  std::string value;
  std::string body;
  body += '[';
  bool first = true;
  if (c.eat('}')) {
    if (!c.done()) return false;
    out += "[]";
    return true;
  }
  for (;;) {
    value.clear();
    bool quoted = false;
    if (c.eat('"')) {
      quoted = true;
      for (;;) {
        if (c.done()) return false;
        char ch = c.s[0];
        c.s.remove_prefix(1);
        if (ch == '"') break;
        if (ch == '\\') {
          if (c.done()) return false;
          ch = c.s[0];
          c.s.remove_prefix(1);
        }
        value += ch;
      }
    } else {
      size_t n = 0;
      while (n < c.s.size() && c.s[n] != ',' && c.s[n] != '}') ++n;
      value.assign(c.s.substr(0, n));
      if (value.find('{') != std::string::npos || value.find('"') != std::string::npos) return false;  // nested
      c.s.remove_prefix(n);
    }
    if (!first) body += ',';
    first = false;
    if (!quoted && value == "NULL")
      body += "null";
    else if (!append_typed(element_oid, col, value, body))
      json::append_string(body, value);
    if (c.eat('}')) break;
    if (!c.eat(',')) return false;
  }
  if (!c.done()) return false;
  out += body;
  out += ']';
  return true;
}

}  // namespace

void append_value(const Column& col, std::string& out) {
  if (col.is_null()) {
    out += "null";
    return;
  }
  if (col.unchanged_toast()) {
    json::append_string(out, kUnavailable);
    return;
  }
  if (!col.binary().empty()) {
    append_base64(out, col.binary());
    return;
  }
  const std::string& text = col.text();
  size_t mark = out.size();
  bool ok = is_array_type(col) && element_of(col.type_oid()) != 0
                ? append_array(element_of(col.type_oid()), col, text, out)
            : is_array_type(col) ? append_array(0, col, text, out)
                                 : append_typed(col.type_oid(), col, text, out);
  if (!ok) {
    out.resize(mark);
    json::append_string(out, text);
  }
}

}  // namespace ss::debezium
