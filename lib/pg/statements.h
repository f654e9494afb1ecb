// The SQL a record becomes on a PostgreSQL target: statements with their parameters, table DDL, identifier quoting.
// Pure: no connection, so unit-testable and fuzzable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shadowstream.pb.h"

namespace ss::apply {

// The SQL for one record, and which column values are its parameters, in order.
struct Statement {
  std::string sql;
  std::vector<const shadowstream::v1::Column*> params;
};

std::string quote_ident(std::string_view ident);
// "insert on public.t at position 0/16B3748:3": how errors name a record.
std::string where_text(const shadowstream::v1::ChangeRecord& rec);
// CREATE TABLE IF NOT EXISTS `table` (quoted) with `cols`, `types[i]` being the target's spelling of the type of
// cols[i] (never a record's own type name: see core/type_name.h), and their key columns as its primary key when
// `primary_key`.
std::string create_table_sql(const std::string& table,
                             const google::protobuf::RepeatedPtrField<shadowstream::v1::Column>& cols,
                             const std::vector<std::string>& types, bool primary_key);
// Throws Error(65) for a record that cannot be expressed (an update or delete without any key columns).
Statement build_statement(const shadowstream::v1::ChangeRecord& rec, const std::string& qualified_table);
// The record's row (its columns, whatever its operation) inserted, and with `key`, updated in place when a row
// with that key exists: how a folded row is applied alone.
Statement build_insert(const shadowstream::v1::ChangeRecord& rec, const std::string& qualified_table,
                       const std::vector<std::string>* key);
// " ON CONFLICT (key) DO UPDATE SET" the other `columns` to the new row's values (DO NOTHING when there are none).
std::string on_conflict(const std::vector<std::string>& key, const std::vector<std::string>& columns);

}  // namespace ss::apply
