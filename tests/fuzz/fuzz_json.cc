// libFuzzer target: one line of ss-cat -j input. Malformed JSON, unknown fields, wrong types and impossible values
// must end in ss::Error (65); a record that parses must survive printing and parsing again unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/json.h"
#include "core/record_check.h"
#include "shadowstream.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ss::json::Parser parser;
  shadowstream::v1::ChangeRecord rec, again;
  try {
    parser.parse(std::string_view(reinterpret_cast<const char*>(data), size), rec, "fuzz");
    ss::validate_record(rec);
  } catch (const ss::Error& e) {
    if (e.code() != ss::kExitDataErr) __builtin_trap();
    return 0;
  }
  std::string json;
  ss::json::append(rec, json);
  try {
    parser.parse(json, again, "round trip");
  } catch (const ss::Error&) {
    __builtin_trap();  // ss-cat printed something ss-cat -j refuses
  }
  if (again.SerializeAsString() != rec.SerializeAsString()) __builtin_trap();
  return 0;
}
