// Any protobuf message <-> one line of JSON, by reflection, so fields added to the proto keep working without code
// changes here. The conventions (proto/shadowstream.proto's header) make streams readable and exact:
//   uint64 "...lsn" fields -> "X/Y"; int64 "..._time" fields -> RFC 3339 with µs; enums -> lower-case names
//   without their type prefix; bytes -> base64; 64-bit integers -> plain JSON numbers (exact); doubles -> shortest
//   text that parses back to the same bits. Default-valued scalars are omitted, as proto3 does on the wire, so
//   frames -> JSON -> frames is byte-identical for messages serialized by protobuf's C++ library.
#pragma once

#include <google/protobuf/message.h>

#include <charconv>
#include <memory>
#include <string>
#include <string_view>

namespace ss::json {

// Appends `msg` as one JSON object (no newline) to `out`.
void append(const google::protobuf::Message& msg, std::string& out);

// Parses JSON objects into messages. Reuses its buffers across calls: keep one per stream.
class Parser {
 public:
  Parser();
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Clears `msg` and fills it from `text`. Throws Error(65) "what: field x: why" for malformed JSON, unknown
  // fields, wrong types, bad LSNs/times/base64/enum names. `what` prefixes the message (e.g. "stdin line 12").
  void parse(std::string_view text, google::protobuf::Message& msg, const std::string& what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Appends `s` as a JSON string: quoted, with quotes, backslashes and control characters escaped (UTF-8 as is).
void append_string(std::string& out, std::string_view s);
// Appends `bytes` as a JSON string of their base64.
void append_base64(std::string& out, std::string_view bytes);
// Appends an integer or a double (shortest round-trip form) as a JSON number.
template <typename T>
void append_number(std::string& out, T v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p - buf);
}

// Lower-case enum value name without its type's SCREAMING_SNAKE prefix: Operation OPERATION_INSERT -> "insert".
std::string enum_short_name(const google::protobuf::EnumValueDescriptor* v);
// Inverse of enum_short_name (also accepts the full upper-case name); nullptr when unknown.
const google::protobuf::EnumValueDescriptor* find_enum_value(const google::protobuf::EnumDescriptor* e,
                                                             std::string_view name);

}  // namespace ss::json
