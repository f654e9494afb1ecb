// COPY's text format for what the applier loads in bulk: a checkpoint's rows, and a grouped rebuild's folded rows
// through a temporary table, with the statements that apply them from there. Pure: no connection, exact unit tests
// (tests/unit/copy_text_test.cc).
#pragma once

#include <string>
#include <vector>

#include "pg/fold.h"
#include "shadowstream.pb.h"

namespace ss::apply {

// A value in COPY's text format: \N for NULL, backslash, tab, newline and carriage return escaped. A value that is
// not UTF-8 travels in `binary`, still in the server's text form.
void append_copy_value(std::string& out, const shadowstream::v1::Column& c);
// A record's columns as one line, tab-separated, newline-terminated (a checkpoint row).
void append_copy_row(std::string& out, const shadowstream::v1::ChangeRecord& rec);
// "COPY table (its columns) FROM STDIN" for rows shaped like `rec`.
std::string copy_rows_sql(const std::string& table, const shadowstream::v1::ChangeRecord& rec);

// A folded row (`e`, whose last version is `rec`) as one line for loading into `cols`: a delete's key values and \N
// for the rest; an insert's or update's values, \N for an unchanged TOASTed one. With `with_op`, two more columns
// for the temporary table: the operation (d: delete, m: update, i: insert of a row new to the target, u: upsert)
// and which values are unchanged TOAST ("{f,t}", \N when none is). False, and nothing appended, when the row's
// columns are not `cols` in that order: only its own statement can express it.
bool append_fold_line(std::string& out, const fold::Entry& e, const shadowstream::v1::ChangeRecord& rec,
                      const std::vector<std::string>& cols, bool with_op);

// The statements that apply a folded table through the temporary table `tmp` (columns `cols` then the operation
// and unchanged-TOAST columns), matching rows on the primary key `pk` (sorted). `update` is empty when every column
// is a key column.
struct FoldSql {
  std::string create;  // the temporary table, dropped at commit
  std::string copy;    // COPY into it (append_fold_line with with_op)
  std::string del, update, insert, upsert;
  std::string copy_direct;  // COPY straight into the target (an empty target: append_fold_line without with_op)
};
FoldSql fold_sql(const std::string& target, const std::string& tmp, const std::vector<std::string>& cols,
                 const std::vector<std::string>& pk);

}  // namespace ss::apply
