# Streams of records for tests, built as JSON lines and turned into frames by ss-cat.

# overlap_stream N: N one-transaction pairs: a row into a table without a key (REPLICA IDENTITY FULL, so
# --create-tables makes it without a primary key and nothing but the high-water row can stop a second copy) and a
# row into a keyed one.
overlap_stream() {
  jq -nc --argjson n "$1" 'range(1; $n + 1) as $i
    | {source: {name: "ovl"}, commit_lsn: "1/\(($i * 256) | tostring)", xid: (1000 + $i),
       commit_time: "2026-11-20T10:00:00.000000Z", op: "insert", schema: "public"} as $h
    | ($h + {table: "nokey", replica_identity: "f",
             columns: [{name: "n", type_oid: 23, type_name: "int4", type_modifier: -1, text: ($i | tostring)}]}),
      ($h + {ordinal: 1, tx_last: true, table: "keyed", replica_identity: "d",
             columns: [{name: "id", type_oid: 23, type_name: "int4", type_modifier: -1, text: ($i | tostring),
                        is_key: true}]})' | ss-cat -j
}
