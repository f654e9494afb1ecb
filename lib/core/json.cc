#include "core/json.h"

#include <absl/strings/escaping.h>
#include <google/protobuf/descriptor.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/position.h"

namespace ss::json {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool is_lsn_field(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64 && ends_with(f->name(), "lsn");
}
bool is_time_field(const FieldDescriptor* f) {
  return f->cpp_type() == FieldDescriptor::CPPTYPE_INT64 && ends_with(f->name(), "_time");
}

std::string enum_prefix(const EnumDescriptor* e) {
  // CamelCase type name -> SCREAMING_SNAKE prefix: JobState -> "JOB_STATE_".
  std::string p;
  for (size_t i = 0; i < e->name().size(); ++i) {
    char c = e->name()[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) p.push_back('_');
    p.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  p.push_back('_');
  return p;
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("\"NaN\"");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    append_number(out, v);  // shortest round-trip form
  }
}

void append_value(const Message& msg, const Reflection* r, const FieldDescriptor* f, int index, std::string& out) {
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      append_number(out, rep ? r->GetRepeatedInt32(msg, f, index) : r->GetInt32(msg, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      append_number(out, rep ? r->GetRepeatedUInt32(msg, f, index) : r->GetUInt32(msg, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = rep ? r->GetRepeatedInt64(msg, f, index) : r->GetInt64(msg, f);
      if (is_time_field(f)) {
        out.push_back('"');
        out.append(format_time_us(v));
        out.push_back('"');
      } else {
        append_number(out, v);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = rep ? r->GetRepeatedUInt64(msg, f, index) : r->GetUInt64(msg, f);
      if (is_lsn_field(f)) {
        out.push_back('"');
        out.append(format_lsn(v));
        out.push_back('"');
      } else {
        append_number(out, v);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
      append_double(out, rep ? r->GetRepeatedDouble(msg, f, index) : r->GetDouble(msg, f));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      append_double(out, rep ? r->GetRepeatedFloat(msg, f, index) : r->GetFloat(msg, f));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out.append((rep ? r->GetRepeatedBool(msg, f, index) : r->GetBool(msg, f)) ? "true" : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* v = rep ? r->GetRepeatedEnum(msg, f, index) : r->GetEnum(msg, f);
      append_string(out, enum_short_name(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s =
          rep ? r->GetRepeatedStringReference(msg, f, index, &scratch) : r->GetStringReference(msg, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        append_base64(out, s);
      } else {
        append_string(out, s);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      append(rep ? r->GetRepeatedMessage(msg, f, index) : r->GetMessage(msg, f), out);
      break;
  }
}

// ---- parsing ---------------------------------------------------------------------------------------------------

struct Failure {
  std::string field;
  std::string why;
};

[[noreturn]] void bad(const FieldDescriptor* f, const std::string& why) {
  throw Failure{f->name(), why};
}

template <typename T>
T get_or_fail(simdjson::simdjson_result<T> r, const FieldDescriptor* f, const char* expected) {
  T v;
  if (std::move(r).get(v) != simdjson::SUCCESS) bad(f, std::string("expected ") + expected);
  return v;
}

double parse_double(simdjson::dom::element e, const FieldDescriptor* f) {
  if (e.is_string()) {
    std::string_view s = e.get_string().value_unsafe();
    if (s == "NaN") return std::nan("");
    if (s == "Infinity") return INFINITY;
    if (s == "-Infinity") return -INFINITY;
    bad(f, "expected a number");
  }
  return get_or_fail(e.get_double(), f, "a number");
}

void parse_object(simdjson::dom::object obj, Message& msg);

void set_value(Message& msg, const Reflection* r, const FieldDescriptor* f, simdjson::dom::element e) {
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int64_t v = get_or_fail(e.get_int64(), f, "an integer");
      if (v < INT32_MIN || v > INT32_MAX) bad(f, "integer out of range");
      rep ? r->AddInt32(&msg, f, static_cast<int32_t>(v)) : r->SetInt32(&msg, f, static_cast<int32_t>(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint64_t v = get_or_fail(e.get_uint64(), f, "a non-negative integer");
      if (v > UINT32_MAX) bad(f, "integer out of range");
      rep ? r->AddUInt32(&msg, f, static_cast<uint32_t>(v)) : r->SetUInt32(&msg, f, static_cast<uint32_t>(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (is_time_field(f)) {
        auto t = parse_time_us(get_or_fail(e.get_string(), f, "an RFC 3339 time string"));
        if (!t) bad(f, "expected an RFC 3339 time like 2026-11-20T10:00:00.000000Z");
        v = *t;
      } else {
        v = get_or_fail(e.get_int64(), f, "an integer");
      }
      rep ? r->AddInt64(&msg, f, v) : r->SetInt64(&msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (is_lsn_field(f)) {
        auto l = parse_lsn(get_or_fail(e.get_string(), f, "an LSN string"));
        if (!l) bad(f, "expected an LSN like 0/16B3748");
        v = *l;
      } else {
        v = get_or_fail(e.get_uint64(), f, "a non-negative integer");
      }
      rep ? r->AddUInt64(&msg, f, v) : r->SetUInt64(&msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = parse_double(e, f);
      rep ? r->AddDouble(&msg, f, v) : r->SetDouble(&msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v = static_cast<float>(parse_double(e, f));
      rep ? r->AddFloat(&msg, f, v) : r->SetFloat(&msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v = get_or_fail(e.get_bool(), f, "true or false");
      rep ? r->AddBool(&msg, f, v) : r->SetBool(&msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      std::string_view name = get_or_fail(e.get_string(), f, "an enum name string");
      const EnumValueDescriptor* v = find_enum_value(f->enum_type(), name);
      if (!v) bad(f, "unknown " + f->enum_type()->name() + " value \"" + std::string(name) + "\"");
      rep ? r->AddEnum(&msg, f, v) : r->SetEnum(&msg, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string_view s = get_or_fail(e.get_string(), f, "a string");
      std::string v;
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        if (!absl::Base64Unescape(absl::string_view(s.data(), s.size()), &v)) bad(f, "expected base64");
      } else {
        v.assign(s);
      }
      rep ? r->AddString(&msg, f, std::move(v)) : r->SetString(&msg, f, std::move(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      simdjson::dom::object obj = get_or_fail(e.get_object(), f, "an object");
      parse_object(obj, rep ? *r->AddMessage(&msg, f) : *r->MutableMessage(&msg, f));
      break;
    }
  }
}

void parse_object(simdjson::dom::object obj, Message& msg) {
  const Descriptor* d = msg.GetDescriptor();
  const Reflection* r = msg.GetReflection();
  for (auto [key, value] : obj) {
    const FieldDescriptor* f = d->FindFieldByName(std::string(key));
    if (!f) throw Failure{std::string(key), "unknown field of " + d->name()};
    if (f->is_repeated()) {
      simdjson::dom::array arr = get_or_fail(value.get_array(), f, "an array");
      for (simdjson::dom::element item : arr) set_value(msg, r, f, item);
    } else {
      set_value(msg, r, f, value);
    }
  }
}

}  // namespace

void append_base64(std::string& out, std::string_view bytes) {
  out.push_back('"');
  out.append(absl::Base64Escape(absl::string_view(bytes.data(), bytes.size())));
  out.push_back('"');
}

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out.append(buf);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string enum_short_name(const EnumValueDescriptor* v) {
  if (!v) return "unknown";  // a number the schema does not define (FindValueByNumber found nothing)
  std::string prefix = enum_prefix(v->type());
  std::string_view name = v->name();
  if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const EnumValueDescriptor* find_enum_value(const EnumDescriptor* e, std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (const EnumValueDescriptor* v = e->FindValueByName(enum_prefix(e) + upper)) return v;
  return e->FindValueByName(upper);
}

void append(const Message& msg, std::string& out) {
  const Reflection* r = msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(msg, &fields);  // set fields only, in field-number order
  out.push_back('{');
  bool first = true;
  for (const FieldDescriptor* f : fields) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out.append(f->name());
    out.append("\":");
    if (f->is_repeated()) {
      out.push_back('[');
      int n = r->FieldSize(msg, f);
      for (int i = 0; i < n; ++i) {
        if (i) out.push_back(',');
        append_value(msg, r, f, i, out);
      }
      out.push_back(']');
    } else {
      append_value(msg, r, f, 0, out);
    }
  }
  out.push_back('}');
}

struct Parser::Impl {
  simdjson::dom::parser parser;
  std::string padded;
};

Parser::Parser() : impl_(std::make_unique<Impl>()) {}
Parser::~Parser() = default;

void Parser::parse(std::string_view text, Message& msg, const std::string& what) {
  msg.Clear();
  // simdjson reads up to SIMDJSON_PADDING bytes past the end: give it a padded copy it may overrun.
  impl_->padded.assign(text);
  impl_->padded.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::dom::element root;
  auto err = impl_->parser.parse(impl_->padded.data(), text.size(), false).get(root);
  if (err) throw Error(kExitDataErr, what + ": not valid JSON (" + simdjson::error_message(err) + ")");
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) throw Error(kExitDataErr, what + ": expected a JSON object");
  try {
    parse_object(obj, msg);
  } catch (const Failure& f) {
    throw Error(kExitDataErr, what + ": field \"" + f.field + "\": " + f.why);
  }
}

}  // namespace ss::json
