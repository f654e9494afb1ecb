#include "pg/table_map.h"

#include "pg/conn.h"
#include "pg/statements.h"

namespace ss::apply {

namespace {

std::string mapped_schema(const Config& cfg, const std::string& schema) {
  for (const auto& [src, dst] : cfg.schema_map)
    if (src == schema) return dst;
  return schema;
}

}  // namespace

std::pair<std::string, std::string> map_table(const Config& cfg, const std::string& schema, const std::string& table) {
  for (const auto& [src, dst] : cfg.table_map) {
    size_t dot = src.find('.');
    bool match = dot == std::string::npos ? src == table
                                          : src.compare(0, dot, schema) == 0 && dot == schema.size() &&
                                                src.compare(dot + 1, std::string::npos, table) == 0;
    if (!match) continue;
    size_t d = dst.find('.');
    if (d == std::string::npos) return {mapped_schema(cfg, schema), dst};
    return {dst.substr(0, d), dst.substr(d + 1)};
  }
  return {mapped_schema(cfg, schema), table};
}

std::string bookkeeping_table(const std::string& position_table, const std::string& suffix) {
  auto [s, t] = pg::split_table_name(position_table);
  return quote_ident(s) + "." + quote_ident(t + suffix);
}

}  // namespace ss::apply
