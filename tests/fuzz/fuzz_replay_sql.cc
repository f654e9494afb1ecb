// libFuzzer target: one line of ss-cat -j input, as a hostile producer would write it, through everything the
// PostgreSQL applier builds from a record's own strings. Each statement must lex as the one intended statement:
// every identifier quoted and one of the record's own names, no second statement, no comment, only the keywords the
// builders write. Every type name either is refused or becomes quoted identifiers that parse back to the same type.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/json.h"
#include "core/record_check.h"
#include "core/type_name.h"
#include "pg/apply.h"
#include "pg/table_map.h"
#include "shadowstream.pb.h"

namespace {

const std::set<std::string> kKeywords = {"INSERT",   "INTO",    "VALUES",   "UPDATE",   "SET",      "WHERE",   "AND",
                                         "DELETE",   "FROM",    "TRUNCATE", "TABLE",    "IS",       "NULL",    "NOT",
                                         "DISTINCT", "ctid",    "SELECT",   "LIMIT",    "1",        "CREATE",  "IF",
                                         "EXISTS",   "PRIMARY", "KEY",      "RESTART",  "IDENTITY", "CASCADE", "ON",
                                         "CONFLICT", "DO",      "NOTHING",  "EXCLUDED", "integer"};

// Lexes `sql` as PostgreSQL would at the top level; traps on anything but the one statement described above.
void check_statement(const std::string& sql, const std::set<std::string>& names) {
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\0') __builtin_trap();
    if (c == ' ' || c == ',' || c == '(' || c == ')' || c == '.' || c == '=') {
      ++i;
    } else if (c == '"') {
      std::string ident;
      for (++i;; ++i) {
        if (i >= sql.size()) __builtin_trap();  // unterminated: the rest of the statement is inside it
        if (sql[i] == '"') {
          if (i + 1 < sql.size() && sql[i + 1] == '"') {
            ident += '"';
            ++i;
            continue;
          }
          ++i;
          break;
        }
        ident += sql[i];
      }
      if (!names.count(ident)) __builtin_trap();  // a fragment of a name, or a name the record does not have
    } else if (c == '$') {
      size_t j = ++i;
      while (i < sql.size() && sql[i] >= '0' && sql[i] <= '9') ++i;
      if (i == j) __builtin_trap();
    } else {
      size_t j = i;
      while (i < sql.size() &&
             ((sql[i] >= 'A' && sql[i] <= 'Z') || (sql[i] >= 'a' && sql[i] <= 'z') || (sql[i] >= '0' && sql[i] <= '9')))
        ++i;
      if (i == j || !kKeywords.count(sql.substr(j, i - j))) __builtin_trap();  // ';', "--", "/*", a bare word
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ss::json::Parser parser;
  shadowstream::v1::ChangeRecord rec;
  try {
    parser.parse(std::string_view(reinterpret_cast<const char*>(data), size), rec, "fuzz");
    ss::validate_record(rec);
  } catch (const ss::Error& e) {
    if (e.code() != ss::kExitDataErr) __builtin_trap();
    return 0;
  }
  std::set<std::string> names = {"shadowstream op", "shadowstream keep"};
  ss::apply::Config cfg;
  auto [schema, table] = ss::apply::map_table(cfg, rec.schema(), rec.table());
  names.insert(schema);
  names.insert(table);
  for (const auto* cols : {&rec.columns(), &rec.old_columns()})
    for (const auto& c : *cols) {
      names.insert(c.name());
      auto ref = ss::parse_type_name(c.type_name());
      if (!ref) continue;
      auto again = ss::parse_type_name(ss::regtype_text(*ref));
      if (!again || again->schema != ref->schema || again->name != ref->name || again->array_dims != ref->array_dims)
        __builtin_trap();
    }
  const std::string qualified = ss::apply::quote_ident(schema) + "." + ss::apply::quote_ident(table);
  try {
    check_statement(ss::apply::build_statement(rec, qualified).sql, names);
  } catch (const ss::Error& e) {
    if (e.code() != ss::kExitDataErr) __builtin_trap();
  }
  const auto& cols = rec.columns().empty() ? rec.old_columns() : rec.columns();
  check_statement(ss::apply::create_table_sql(qualified, cols, std::vector<std::string>(cols.size(), "integer"), true),
                  names);
  return 0;
}
