// Column types as records name them, made safe to put into DDL on a target. A record's type name is data: it comes
// from a source's catalog (where anyone with CREATE may name a schema `text USING pg_read_file(...)--`) or from a
// pushed or hand-written record. It never reaches SQL as text: it is parsed into identifiers here, handed to the
// target's to_regtype as a parameter with each part quoted, and the DDL takes format_type's answer, which is the
// target's own, quoted spelling of a type that exists there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ss {

// OIDs below this are built in and mean the same type on every cluster.
constexpr uint32_t kFirstNormalObjectId = 16384;

struct TypeRef {
  std::string schema;  // "" = as the target's search_path finds it
  std::string name;
  int array_dims = 0;  // trailing []s
};

// `name` or `schema.name`, each part a bare identifier (letters, digits, _, $ and non-ASCII bytes; ASCII folded to
// lower case as PostgreSQL folds it) or a double-quoted one ("" for a quote inside), then any number of `[]`, up to
// 6 as PostgreSQL allows. Anything else (spaces, parentheses, a third part, a NUL, an empty part) is nullopt: not a
// type name. A bare, unqualified SQL name of a built-in type is taken as PostgreSQL's grammar takes it: integer is
// int4, char is bpchar (while "char", quoted, is the one-byte type).
std::optional<TypeRef> parse_type_name(std::string_view text);

// Whether two type names as records and catalogs write them name the same type: parsed, with pg_catalog the same as
// no schema and any []s the type's array. Names that do not parse are compared as text.
bool same_type_name(std::string_view a, std::string_view b);

// The text to give to_regtype() (as a bind parameter) for `t`: every part quoted, so it never fails to parse and
// names exactly that type.
std::string regtype_text(const TypeRef& t);

// How the capture writes a type it found in the catalog: pg_catalog's types by their name (the target resolves
// those by OID), any other as schema.name, each part quoted where PostgreSQL's quote_ident would. Every result
// parses back to the same schema and name.
std::string catalog_type_name(std::string_view schema, std::string_view name);

}  // namespace ss
