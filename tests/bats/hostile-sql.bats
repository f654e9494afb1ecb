#!/usr/bin/env bats
# Nothing a record carries reaches the target's SQL as SQL: type names (from a forged record, or from a source where
# anyone with CREATE names a schema), missing values, identifiers, mapped and position-table names, COPY values.

load ../helpers/servers

setup_file() {
  ss_start_postgres "wal_sender_timeout = 60s"
}

teardown_file() { ss_stop_all; }

teardown() { ss_kill_jobs; }

setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
qd() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
lsn_now() { q "select pg_current_wal_insert_lsn()"; }
fresh_db() {
  q "drop database if exists $1"
  q "create database $1"
}
# rec LSN OP TABLE COLUMNS-JSON [EXTRA-JSON]: one ss-cat -j line, its own transaction (relation $OID or 16999).
rec() {
  printf '{"source":{"name":"evil"},"commit_lsn":"%s","tx_last":true,"commit_time":"2026-11-20T10:00:00Z","op":"%s","schema":"public","table":"%s","relation_oid":%s,"replica_identity":"d","columns":%s%s}\n' \
    "$1" "$2" "$3" "${OID:-16999}" "$4" "${5:+,$5}"
}

@test "a forged type name is refused with 65 naming the record, and the target gets no table and no column" {
  fresh_db shadow_forged
  local leak='int8, leak text DEFAULT current_user || pg_read_file('"'"'/etc/hostname'"'"')'
  rec 0/10 insert victim "[{\"name\":\"id\",\"type_oid\":0,\"type_name\":\"$leak\",\"text\":\"1\",\"is_key\":true}]" |
    ss-cat -j >"$T/forged.ss"
  run --separate-stderr ss-replay --to "dbname=shadow_forged" --create-tables <"$T/forged.ss"
  echo "$stderr"
  [ "$status" -eq 65 ]
  [ "${#stderr_lines[@]}" -eq 1 ]
  [[ "$stderr" == *"insert on public.victim at position 0/10"*"column id has type name int8, leak text"*"not a type name"* ]]
  [ "$(qd shadow_forged "select count(*) from pg_class where relname = 'victim'")" = 0 ]
  # A column added by a later record of a known table is refused the same way.
  qd shadow_forged "create table victim (id int8 primary key)"
  { rec 0/10 insert victim '[{"name":"id","type_oid":20,"type_name":"int8","text":"1","is_key":true}]'
    rec 0/20 insert victim "[{\"name\":\"id\",\"type_oid\":20,\"type_name\":\"int8\",\"text\":\"2\",\"is_key\":true},{\"name\":\"x\",\"type_oid\":16500,\"type_name\":\"$leak\",\"text\":\"1\"}]" "\"shape_id\":7"
  } | ss-cat -j >"$T/added.ss"
  run --separate-stderr ss-replay --to "dbname=shadow_forged" --create-tables <"$T/added.ss"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"position 0/20"*"not a type name"* ]]
  [ "$(qd shadow_forged "select string_agg(attname, ',') from pg_attribute where attrelid = 'victim'::regclass and attnum > 0")" = id ]
  [ "$(qd shadow_forged "select count(*) from victim")" = 1 ]  # the transaction before it is applied
  # A well-formed name of a type the target lacks: 65, saying so.
  OID=17000 rec 0/30 insert other '[{"name":"id","type_oid":0,"type_name":"nosuch.thing","text":"1","is_key":true}]' |
    ss-cat -j >"$T/nosuch.ss"
  run --separate-stderr ss-replay --to "dbname=shadow_forged" --create-tables <"$T/nosuch.ss"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"type nosuch.thing, which the target does not have"* ]]
  # Hand-written records name types as SQL does: integer and char are int4 and bpchar, "char" the one-byte type.
  OID=17001 rec 0/40 insert sqlnames '[{"name":"id","type_oid":0,"type_name":"integer","text":"1","is_key":true},{"name":"c","type_oid":0,"type_name":"char","type_modifier":7,"text":"abc"},{"name":"q","type_oid":0,"type_name":"\"char\"","type_modifier":-1,"text":"z"}]' |
    ss-cat -j >"$T/sqlnames.ss"
  ss-replay --to "dbname=shadow_forged" --create-tables <"$T/sqlnames.ss"
  [ "$(qd shadow_forged "select string_agg(format_type(atttypid, atttypmod), ',' order by attnum) from pg_attribute where attrelid = 'sqlnames'::regclass and attnum > 0")" = 'integer,character(3),"char"' ]
}

@test "a source schema named like SQL reaches the shadow as a name: no statement of it runs there" {
  q "create role mallory login"
  q "grant create on database postgres to mallory"
  q "create table accounts (id int primary key, note text)"
  q "grant all on accounts to mallory"
  q "alter table accounts owner to mallory"
  psql -Xq -v ON_ERROR_STOP=1 -U mallory <<'SQL'
create schema "text USING pg_read_file('/etc/hostname')--";
create domain "text USING pg_read_file('/etc/hostname')--".d as text;
SQL
  ss-capture --slot s_evil --publication s_evil --table public.accounts --create-slot
  psql -Xq -v ON_ERROR_STOP=1 -U mallory <<'SQL'
insert into accounts values (1, 'before');
alter table accounts alter column note type "text USING pg_read_file('/etc/hostname')--".d;
insert into accounts values (2, 'after');
SQL
  ss-capture --slot s_evil --publication s_evil --endpos "$(lsn_now)" >"$T/evil.ss"
  ss-cat "$T/evil.ss" | jq -r 'select(.op=="insert") | .columns[1].type_name' | tail -1 >"$T/type"
  [ "$(cat "$T/type")" = "\"text USING pg_read_file('/etc/hostname')--\".d" ]
  # A shadow without that type: refused at the record that needs it, the rows before it applied.
  fresh_db shadow_evil
  run --separate-stderr ss-replay --to "dbname=shadow_evil" --create-tables <"$T/evil.ss"
  echo "$stderr"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"which the target does not have"* ]]
  [ "$(qd shadow_evil "select string_agg(id || ':' || note, ',' order by id) from accounts")" = "1:before" ]
  # A shadow that has it (its owner made it): the column takes exactly that domain, and holds the row's value.
  qd shadow_evil "create schema \"text USING pg_read_file('/etc/hostname')--\"; create domain \"text USING pg_read_file('/etc/hostname')--\".d as text"
  ss-replay --to "dbname=shadow_evil" --create-tables <"$T/evil.ss"
  [ "$(qd shadow_evil "select string_agg(id || ':' || note, ',' order by id) from accounts")" = "1:before,2:after" ]
  [ "$(qd shadow_evil "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = 'accounts'::regclass and attname = 'note'")" = \
    "\"text USING pg_read_file('/etc/hostname')--\".d" ]
}

@test "names, missing values, mapped and position-table names and COPY values stay data on every path" {
  fresh_db shadow_names
  local t='we"ird; DROP TABLE x; --' col='c") VALUES (1); --' v=$'a\'b\\c\tq\n\\N; DROP TABLE t; --'
  local miss="'); DROP TABLE x; --"
  jq -nc --arg t "$t" --arg col "$col" --arg v "$v" --arg miss "$miss" '
    def r($lsn; $shape; $cols): {source: {name: "evil"}, commit_lsn: $lsn, tx_last: true,
      commit_time: "2026-11-20T10:00:00Z", op: "insert", schema: "public", table: $t, relation_oid: 16999,
      replica_identity: "d", shape_id: $shape, columns: $cols};
    def c($n; $oid; $ty; $text): {name: $n, type_oid: $oid, type_name: $ty, type_modifier: -1, text: $text};
    r("0/10"; 1; [c("id"; 23; "int4"; "1") + {is_key: true}, c($col; 25; "text"; $v)]),
    # A column added with a default after rows existed: older rows read its missing value, a literal here.
    r("0/20"; 2; [c("id"; 23; "int4"; "2") + {is_key: true}, c($col; 25; "text"; "x"),
                  c("m"; 25; "text"; "y") + {missing_value: $miss}])' | ss-cat -j >"$T/names.ss"
  # Statement by statement, then grouped and loaded with COPY, each into its own mapped and position tables.
  ss-replay --to "dbname=shadow_names" --create-tables --speed 1000 --table-map "public.$t=s\"1.t\"1" \
    --position-table '"p""s"."po""s"' <"$T/names.ss"
  ss-replay --to "dbname=shadow_names" --create-tables --speed max --table-map "public.$t=s\"2.t\"2" \
    --position-table '"p""s"."po""s2"' <"$T/names.ss"
  for tbl in '"s""1"."t""1"' '"s""2"."t""2"'; do
    [ "$(qd shadow_names "select count(*) from $tbl")" = 2 ]
    [ "$(qd shadow_names "select \"c\"\") VALUES (1); --\" from $tbl where id = 1")" = "$v" ]
    [ "$(qd shadow_names "select m from $tbl where id = 1")" = "$miss" ]
    [ "$(qd shadow_names "select \"c\"\") VALUES (1); --\" || '|' || m from $tbl where id = 2")" = "x|y" ]
  done
  [ "$(qd shadow_names "select count(*) from \"p\"\"s\".\"po\"\"s\"")" = 1 ]
  [ "$(qd shadow_names "select count(*) from \"p\"\"s\".\"po\"\"s2\"")" = 1 ]
  [ "$(qd shadow_names "select count(*) from pg_tables where schemaname = 'public'")" = 0 ]
}
