#include "core/type_name.h"

#include <vector>

namespace ss {

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

// The SQL standard's names the grammar turns into built-in types when they are written bare and unqualified.
std::string_view builtin_alias(std::string_view bare) {
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"int", "int4"},         {"integer", "int4"}, {"smallint", "int2"}, {"bigint", "int8"},
      {"real", "float4"},      {"float", "float8"}, {"boolean", "bool"},  {"char", "bpchar"},
      {"character", "bpchar"}, {"nchar", "bpchar"}, {"dec", "numeric"},   {"decimal", "numeric"},
  };
  for (auto [alias, name] : kAliases)
    if (alias == bare) return name;
  return bare;
}

}  // namespace

std::optional<TypeRef> parse_type_name(std::string_view text) {
  std::vector<std::string> parts;
  bool last_bare = false;
  size_t i = 0;
  while (true) {
    std::string part;
    last_bare = !(i < text.size() && text[i] == '"');
    if (!last_bare) {
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
  if (parts.size() == 1 && last_bare) t.name = std::string(builtin_alias(t.name));
  return t;
}

bool same_type_name(std::string_view a, std::string_view b) {
  auto canonical = [](std::string_view text) -> std::optional<TypeRef> {
    std::optional<TypeRef> t = parse_type_name(text);
    if (!t) return t;
    if (t->schema == "pg_catalog") t->schema.clear();
    // An array type is one type whatever its dimensions, named _element in the catalog.
    if (t->array_dims > 0) t->name = "_" + t->name;
    t->array_dims = 0;
    return t;
  };
  std::optional<TypeRef> ta = canonical(a), tb = canonical(b);
  if (!ta || !tb) return a == b;
  return ta->schema == tb->schema && ta->name == tb->name;
}

std::string regtype_text(const TypeRef& t) {
  std::string s = t.schema.empty() ? "" : quoted(t.schema) + ".";
  s += quoted(t.name);
  for (int i = 0; i < t.array_dims; ++i) s += "[]";
  return s;
}

std::string catalog_type_name(std::string_view schema, std::string_view name) {
  // "char" bare would read back as bpchar.
  if (schema == "pg_catalog") return plain(name) && builtin_alias(name) == name ? std::string(name) : quoted(name);
  auto part = [](std::string_view p) { return plain(p) ? std::string(p) : quoted(p); };
  return part(schema) + "." + part(name);
}

}  // namespace ss
