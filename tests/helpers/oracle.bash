# ss_oracle_vs_archive SLOT END_LSN DIR: the committed changes as PostgreSQL's test_decoding saw them on SLOT up to
# END_LSN (DIR/want), and the changes the Kafka archive holds (DIR/got, from DIR/archive.ss), one line each,
# "xid schema.table OP first-column", in commit order: a test diffs the two.
ss_oracle_vs_archive() {
  local slot=$1 end_lsn=$2 dir=$3
  pg_recvlogical -d "$PGDATABASE" --slot "$slot" --start --endpos "$end_lsn" --no-loop -f "$dir/oracle.txt"
  awk '/^BEGIN / { xid = $2; next }
       /^table / { sub(/:$/, "", $2); op = $3; sub(/:$/, "", op); split($4, kv, ":"); print xid, $2, op, kv[2] }' \
    "$dir/oracle.txt" >"$dir/want"
  ss-archive read >"$dir/archive.ss"
  ss-cat "$dir/archive.ss" | jq -r 'select(.op == "insert" or .op == "update" or .op == "delete")
    | "\(.xid) \(.schema).\(.table) \(.op | ascii_upcase) \((.columns // .old_columns)[0].text)"' >"$dir/got"
  echo "# committed changes: $(wc -l <"$dir/want"); archived: $(wc -l <"$dir/got")" >&3
}
