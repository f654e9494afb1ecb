#include "pg/type_name.h"

#include <vector>

namespace ss::pg {

namespace {

constexpr int kMaxArrayDims = 6;  // PostgreSQL's MAXDIM

bool bare_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
         c >= 0x80;
}

std::string quoted(std::string_view ident) {
  std::string s = "\"";
  for (char c : ident) {
    if (c == '"') s += '"';
    s += c;
  }
  return s + '"';
}

// Lower-case letters, digits and _, not starting with a digit: what reads back as itself unquoted. (Keywords need no
// quotes here: the target side quotes every part it parses.)
bool plain(std::string_view ident) {
  if (ident.empty() || (ident[0] >= '0' && ident[0] <= '9')) return false;
  for (unsigned char c : ident)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace

std::optional<TypeRef> parse_type_name(std::string_view text) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (true) {
    std::string part;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (true) {
        if (i >= text.size()) return std::nullopt;  // unterminated
        char c = text[i++];
        if (c == '\0') return std::nullopt;
        if (c == '"') {
          if (i < text.size() && text[i] == '"') {
            part += '"';
            ++i;
            continue;
          }
          break;
        }
        part += c;
      }
    } else {
      while (i < text.size() && bare_char(static_cast<unsigned char>(text[i]))) {
        char c = text[i++];
        part += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      if (!part.empty() && part[0] >= '0' && part[0] <= '9') return std::nullopt;
    }
    if (part.empty()) return std::nullopt;
    parts.push_back(std::move(part));
    if (i < text.size() && text[i] == '.') {
      ++i;
      continue;
    }
    break;
  }
  if (parts.size() > 2) return std::nullopt;
  TypeRef t;
  while (i < text.size()) {
    if (text.substr(i, 2) != "[]" || t.array_dims == kMaxArrayDims) return std::nullopt;
    ++t.array_dims;
    i += 2;
  }
  if (parts.size() == 2) t.schema = std::move(parts[0]);
  t.name = std::move(parts.back());
  return t;
}

std::string regtype_text(const TypeRef& t) {
  std::string s = t.schema.empty() ? "" : quoted(t.schema) + ".";
  s += quoted(t.name);
  for (int i = 0; i < t.array_dims; ++i) s += "[]";
  return s;
}

std::string catalog_type_name(std::string_view schema, std::string_view name) {
  if (schema == "pg_catalog") return std::string(name);
  auto part = [](std::string_view p) { return plain(p) ? std::string(p) : quoted(p); };
  return part(schema) + "." + part(name);
}

}  // namespace ss::pg
