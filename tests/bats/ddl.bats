#!/usr/bin/env bats
# Schema changes captured where they happen (ss-capture install-ddl): the event trigger's messages become schema
# records at their position in the DDL's own transaction, carrying the table's whole definition from the catalog.

load ../helpers/servers

setup_file() { ss_start_postgres; }
teardown_file() { ss_stop_all; }
teardown() { ss_kill_jobs; }
setup() { T="$BATS_TEST_TMPDIR"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
lsn_now() { q "select pg_current_wal_insert_lsn()"; }
new_slot() { # new_slot SLOT TABLE...: a publication named after the slot, for just these tables
  local slot=$1 targs=() t
  shift
  for t in "$@"; do targs+=(--table "$t"); done
  ss-capture --slot "$slot" --publication "$slot" "${targs[@]}" --create-slot 2>"$T/create.err"
}
drain() { ss-capture --slot "$1" --publication "$1" --endpos "$(lsn_now)"; }

@test "install-ddl: versioned and idempotent, uninstall-ddl removes it, a role that may not is refused (77)" {
  run ss-capture install-ddl
  [ "$status" -eq 0 ]
  [[ "$output" == *"installed the schema-change trigger (version 1)"* ]]
  [ "$(q "select shadowstream.ddl_version()")" = 1 ]
  [ "$(q "select string_agg(evtname || ':' || evtevent, ',' order by evtname) from pg_event_trigger")" = \
    "shadowstream_ddl:ddl_command_end,shadowstream_drop:sql_drop" ]
  # Again: replaced, still one of each.
  run ss-capture -d "$SS_PG_URL" install-ddl
  [ "$status" -eq 0 ]
  [[ "$output" == *"version 1 already installed"* ]]
  [ "$(q "select count(*) from pg_event_trigger")" = 2 ]
  run ss-capture uninstall-ddl -d "$SS_PG_URL"
  [ "$status" -eq 0 ]
  [ "$(q "select count(*) from pg_event_trigger")" = 0 ]
  [ "$(q "select count(*) from pg_namespace where nspname = 'shadowstream'")" = 0 ]
  run ss-capture uninstall-ddl
  [ "$status" -eq 0 ]
  [[ "$output" == *"nothing to remove"* ]]
  # Event triggers need a superuser: a plain role is told so in one line, and nothing is left behind.
  q "create role ddl_plain login password 'plain-secret'"
  run ss-capture install-ddl -d "postgresql://ddl_plain:plain-secret@127.0.0.1:$PGPORT/postgres"
  [ "$status" -eq 77 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"needs a superuser"* ]]
  [[ "$output" != *plain-secret* ]]
  [ "$(q "select count(*) from pg_namespace where nspname = 'shadowstream'")" = 0 ]
  run ss-capture install-ddl --create-slot
  [ "$status" -eq 64 ]
}

@test "a migration travels as schema records at its positions, with the table's whole definition" {
  ss-capture install-ddl 2>/dev/null
  q "create table mig (id serial primary key, v text)"
  q "create table quiet (id int primary key)"
  new_slot s_mig public.mig public.quiet
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
begin;
insert into mig (v) values ('before');
alter table mig add column w int not null default 5;
create unique index mig_v on mig (lower(v)) where w > 0;
alter table mig add constraint mig_w_positive check (w > 0) not valid;
comment on column mig.v is 'the value';
insert into mig (v, w) values ('after', 7);
commit;
alter table mig validate constraint mig_w_positive;
alter table quiet add column note varchar(20) collate "C" default 'none';
comment on table quiet is 'nobody writes here';
SQL
  drain s_mig >"$T/mig.ss"
  ss-cat "$T/mig.ss" >"$T/mig.json"
  # The migration's transaction: the rows and the schema records in the order they happened, one position each.
  tx=$(jq -r 'select(.table == "mig") | .commit_lsn' "$T/mig.json" | head -1)
  [ "$(jq -r --arg tx "$tx" 'select(.commit_lsn == $tx) | "\(.ordinal // 0):\(.op):\(.definition.command_tag // "")"' \
    "$T/mig.json" | xargs)" = "0:insert: 1:schema:ALTER TABLE 2:schema:CREATE INDEX 3:schema:ALTER TABLE 4:schema:COMMENT 5:insert:" ]
  last=$(jq -c --arg tx "$tx" 'select(.commit_lsn == $tx and .op == "schema")' "$T/mig.json" | tail -1)
  [ "$(jq -r '[.definition.columns[] | "\(.name) \(.type) \(.not_null // false) \(.default // "-")"] | join(",")' <<<"$last")" = \
    "id integer true nextval('public.mig_id_seq'::regclass),v text false -,w integer true 5" ]
  [ "$(jq -r '.definition.columns[0].sequence.name' <<<"$last")" = public.mig_id_seq ]
  [ "$(jq -r '.definition.columns[1].comment' <<<"$last")" = "the value" ]
  [ "$(jq -r '.definition.indexes[] | select(.name == "mig_v") | .definition' <<<"$last")" = \
    "CREATE UNIQUE INDEX mig_v ON public.mig USING btree (lower(v)) WHERE (w > 0)" ]
  [ "$(jq -r '.definition.indexes[] | select(.name == "mig_pkey") | .constraint' <<<"$last")" = mig_pkey ]
  [ "$(jq -r '.definition.constraints[] | select(.name == "mig_w_positive") | "\(.definition) \(.validated // false)"' <<<"$last")" = \
    "CHECK ((w > 0)) NOT VALID false" ]
  [ "$(jq -r '.definition.publications | join(",")' <<<"$last")" = s_mig ]
  # Validated later: its own transaction says so.
  [ "$(jq -r 'select(.op == "schema" and .table == "mig") | .definition.constraints[] | select(.name == "mig_w_positive") | .validated // false' \
    "$T/mig.json" | tail -1)" = true ]
  # A column added to a table nobody writes to afterwards is in the stream all the same, with its collation.
  [ "$(jq -r 'select(.table == "quiet" and .op == "schema") | .definition.columns[1] | "\(.name) \(.type) \(.collation) \(.default)"' \
    "$T/mig.json" | head -1)" = "note character varying(20) pg_catalog.\"C\" 'none'::character varying" ]
  [ "$(jq -r 'select(.table == "quiet") | .definition.comment // empty' "$T/mig.json")" = "nobody writes here" ]
  # ss-cat --shapes lists them among the shapes; --format debezium passes them as the connector passes messages.
  ss-cat --shapes "$T/mig.ss" >"$T/shapes"
  grep -q "public.mig schema: CREATE INDEX public.mig_v: 3 columns, 1 constraint, 2 indexes" "$T/shapes"
  grep -q "public.quiet schema: ALTER TABLE public.quiet: 2 columns, 1 constraint, 1 index" "$T/shapes"
  ss-cat --format debezium "$T/mig.ss" >"$T/dbz"
  [ "$(jq -r 'select(.op == "m") | .message.prefix' "$T/dbz" | sort -u)" = shadowstream.ddl ]
  [ "$(jq -r 'select(.op == "m") | .message.content | @base64d | fromjson | .definition.commandTag' "$T/dbz" | head -2 | xargs)" = \
    "ALTER TABLE CREATE INDEX" ]
  # A replay today applies the rows and leaves the schema records alone (counted as ignored): nothing breaks.
  q "create database mig_shadow"
  ss-replay --speed max --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/mig_shadow" <"$T/mig.ss"
  [ "$(psql -XAtq -d mig_shadow -c "select string_agg(v || ':' || w, ',' order by id) from public.mig")" = "before:5,after:7" ]
}

@test "renames and drops; another publication's tables are left out and keep their positions" {
  ss-capture install-ddl 2>/dev/null
  q "create table ren (id int primary key)"
  q "create table other (id int primary key)"
  new_slot s_ren public.ren
  oid=$(q "select 'ren'::regclass::oid")
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
begin;
alter table other add column x int;
insert into ren values (1);
commit;
alter table ren rename to renamed;
create index renamed_i on renamed (id);
drop index renamed_i;
drop table renamed;
SQL
  drain s_ren >"$T/ren.ss"
  ss-cat "$T/ren.ss" >"$T/ren.json"
  # other's change took ordinal 0 in its transaction, unseen: the insert keeps ordinal 1, as every reader counts it.
  [ "$(jq -r 'select(.op == "insert") | .ordinal' "$T/ren.json")" = 1 ]
  [ "$(jq -r 'select(.table == "other")' "$T/ren.json")" = "" ]
  [ "$(jq -r 'select(.op == "schema") | "\(.table // "-") \(.relation_oid // "-") \(.definition.command_tag) \(.definition.dropped // .definition.dropped_index // "")"' \
    "$T/ren.json" | tr "\n" "|")" = \
    "renamed $oid ALTER TABLE |renamed $oid CREATE INDEX |- - DROP INDEX renamed_i|renamed $oid DROP TABLE true|" ]
}

@test "without the trigger: said when the slot is created, and the records are what they were" {
  ss-capture uninstall-ddl 2>/dev/null
  q "create table plain (id int primary key)"
  new_slot s_plain public.plain
  grep -q "no schema-change trigger in database postgres: schema changes come from Relation messages only" "$T/create.err"
  q "alter table plain add column y int"
  q "insert into plain values (1, 2)"
  drain s_plain >"$T/plain.ss"
  [ "$(ss-cat "$T/plain.ss" | jq -r '.op' | xargs)" = insert ]
  # On a later start it is said with -v only.
  ss-capture --slot s_plain --publication s_plain --endpos "$(lsn_now)" 2>"$T/later.err" >/dev/null
  run grep -c "no schema-change trigger" "$T/later.err"
  [ "$output" = 0 ]
}
