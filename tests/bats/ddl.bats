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
  [[ "$output" == *"installed the schema-change trigger (version 2)"* ]]
  [ "$(q "select shadowstream.ddl_version()")" = 2 ]
  [ "$(q "select string_agg(evtname || ':' || evtevent, ',' order by evtname) from pg_event_trigger")" = \
    "shadowstream_ddl:ddl_command_end,shadowstream_drop:sql_drop" ]
  # Again: replaced, still one of each.
  run ss-capture -d "$SS_PG_URL" install-ddl
  [ "$status" -eq 0 ]
  [[ "$output" == *"version 2 already installed"* ]]
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

@test "renames and drops; another publication's tables are left out and keep their positions; unpublished ones are not described" {
  ss-capture install-ddl 2>/dev/null
  q "create table ren (id int primary key)"
  q "create table other (id int primary key)"
  q "create publication other_pub for table other"
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
  # A table no publication carries is not described at all (test_decoding shows every message in the WAL); one
  # added to a publication later is, then.
  q "create table nobody (id int primary key)"
  q "select pg_create_logical_replication_slot('s_peek', 'test_decoding')" >/dev/null
  q "alter table nobody add column x int"
  q "alter publication other_pub add table nobody"
  [ "$(q "select data from pg_logical_slot_get_changes('s_peek', null, null)" | grep -o 'prefix: shadowstream.ddl.*"commandTag": "[A-Z ]*"' | grep -o '"commandTag": "[A-Z ]*"')" = '"commandTag": "ALTER PUBLICATION"' ]
  q "select pg_drop_replication_slot('s_peek')" >/dev/null
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
  # ss-progress pipeline shows which way schema changes come, before the trigger and after.
  env -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --text --slot s_plain >"$T/progress"
  grep -q "schema changes: from Relation messages only (no ss-capture install-ddl)" "$T/progress"
  ss-capture install-ddl 2>/dev/null
  [ "$(env -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --json --slot s_plain | jq -r '.postgres.ddl_trigger_version')" = 2 ]
  env -u REDIS_URL -u KAFKA_BROKERS ss-progress pipeline --once --text --slot s_plain | grep -q "schema changes: captured where they happen (trigger version 2)"
  ss-capture uninstall-ddl 2>/dev/null
  # On a later start it is said with -v only.
  ss-capture --slot s_plain --publication s_plain --endpos "$(lsn_now)" 2>"$T/later.err" >/dev/null
  run grep -c "no schema-change trigger" "$T/later.err"
  [ "$output" = 0 ]
}

# The public schema's definitions as pg_dump prints them, without what differs by run (comments, settings, the
# restrict key) or by design (ownership and privileges, publications).
schema_dump() { # schema_dump DB
  pg_dump --schema-only --no-owner --no-privileges --no-publications -n public -d "$1" |
    grep -vE '^(--|SET |SELECT pg_catalog|\\restrict|\\unrestrict|$)'
}
rows_dump() { # rows_dump DB: every table's rows, in key order
  local t
  for t in $(psql -XAtq -d "$1" -c "select tablename from pg_tables where schemaname = 'public' order by 1"); do
    echo "== $t"
    psql -XAtq -d "$1" -c "select * from public.$t order by 1"
  done
}
instant() { # instant N: the source's schema and rows now, and the time, for a rebuild as of now
  schema_dump postgres >"$T/schema.$1"
  rows_dump postgres >"$T/rows.$1"
  q "select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')" >"$T/time.$1"
}

@test "a rebuild as of each instant of a migration is schema-equal (pg_dump) and row-equal to the source then" {
  # Earlier tests' tables would be in the source's dump and not in the stream (no snapshot here).
  q "do \$\$ declare t text; begin for t in select tablename from pg_tables where schemaname = 'public' loop execute format('drop table public.%I cascade', t); end loop; end \$\$"
  ss-capture install-ddl 2>/dev/null
  ss-capture --slot s_clone --publication s_clone --all-tables --create-slot 2>/dev/null
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create table items (id serial primary key, name text not null default 'x', price numeric(10,2) check (price >= 0),
  total numeric generated always as (price * 2) stored, code int generated by default as identity (start 100));
create table still (id int primary key, label varchar(20) collate "C");
insert into items (name, price) values ('a', 1.5), ('b', 2);
insert into still values (1, 'one');
create table owners (id int primary key, name text);
create table pets (id int primary key, owner int references owners (id) on delete cascade, name text);
insert into owners values (1, 'ann'), (2, 'bob'), (3, 'cy');
insert into pets values (1, 1, 'rex'), (2, 2, 'tom'), (3, 2, 'kit');
SQL
  instant 1
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
begin;
insert into items (name, price) values ('c', 3);
alter table items add column w int not null default 5;
create unique index items_name on items (lower(name)) where w > 0;
insert into items (name, price, w) values ('d', 4, 7);
commit;
alter table still add column note text default 'n';
comment on table still is 'nobody writes here';
SQL
  instant 2
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
alter table items add constraint items_w check (w > 0) not valid;
create index items_price on items (price desc nulls last) include (name) with (fillfactor = 70);
comment on column items.name is 'the name';
comment on index items_price is 'by price';
update items set price = price + 1 where id = 1;
alter table items replica identity full;
delete from owners where id = 2;
alter table pets add unique (owner, id);
alter table pets add constraint pets_best foreign key (owner, id) references pets (owner, id) not valid;
SQL
  instant 3
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
alter table items validate constraint items_w;
drop index items_name;
alter table items alter column name set default 'y';
alter table items drop column w;
alter table still rename to calm;
alter table calm alter column label type text;
delete from items where id = 2;
alter table pets validate constraint pets_best;
truncate owners, pets;
insert into owners values (4, 'dee');
insert into pets values (4, 4, 'max');
SQL
  instant 4
  q "drop table calm"
  q "drop table owners cascade"
  instant 5
  drain s_clone >"$T/clone.ss"
  for i in 1 2 3 4 5; do
    q "create database clone_$i"
    ss-replay --speed max --create-tables --until "$(cat "$T/time.$i")" \
      --to "postgresql://postgres@127.0.0.1:$PGPORT/clone_$i" <"$T/clone.ss" 2>"$T/replay.$i"
    diff "$T/schema.$i" <(schema_dump "clone_$i") || { echo "schema differs as of instant $i" >&2; return 1; }
    diff "$T/rows.$i" <(rows_dump "clone_$i") || { echo "rows differ as of instant $i" >&2; return 1; }
  done
  # The same at 1x-like pacing record by record (no grouping), in one run up to the end, and a rerun changes nothing.
  q "create database clone_all"
  ss-replay --speed max --group off --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/clone_all" <"$T/clone.ss"
  ss-replay --speed max --group off --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/clone_all" <"$T/clone.ss"
  diff "$T/schema.5" <(schema_dump clone_all)
  diff "$T/rows.5" <(rows_dump clone_all)
  # Nothing was skipped on the way.
  ! grep -h "not applied" "$T"/replay.*
}

@test "what a shadow may not run is skipped and said once; without --create-tables the target is never altered" {
  q "drop table if exists items cascade"
  ss-capture install-ddl 2>/dev/null
  q "create table evil (id int primary key, x text)"
  q "create table evil_elsewhere (id int primary key); insert into evil_elsewhere values (1)" # not published: not the replay's
  q "create function public.sneaky() returns int language sql immutable as 'select 1'"
  ss-capture --slot s_evil --publication s_evil --table public.evil --create-slot 2>/dev/null
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
alter table evil alter column x set default set_config('application_name', 'owned', false);
alter table evil add constraint evil_sneaky check (public.sneaky() = 1);
create index evil_fine on evil (lower(x));
alter table evil add constraint evil_fk foreign key (id) references evil_elsewhere (id);
create sequence evil_counter;
alter table evil add constraint evil_counts check (nextval('evil_counter') > 0);
insert into evil values (1, 'a');
-- Forged records (any role may emit a logical message): text past the expression, and a drop of the replay's own
-- position table.
select pg_logical_emit_message(true, 'shadowstream.ddl', jsonb_set(shadowstream.table_definition('evil'::regclass,
  'ALTER TABLE', 'public.evil'), '{definition,columns,1,default}', to_jsonb('1::text, ADD COLUMN zz integer'::text))::text);
select pg_logical_emit_message(true, 'shadowstream.ddl', '{"op": "OPERATION_SCHEMA", "schema": "shadowstream",
  "table": "replay_position", "relationOid": 1, "definition": {"commandTag": "DROP TABLE", "dropped": true}}');
SQL
  drain s_evil >"$T/evil.ss"
  q "create database evil_shadow"
  psql -XAtq -d evil_shadow -c "create sequence public.evil_counter" # the shadow's owner made one of that name
  run --separate-stderr ss-replay --speed max --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/evil_shadow" <"$T/evil.ss"
  [ "$status" -eq 0 ]
  [ "$(grep -c "default of column x of \"public\".\"evil\" not applied: it calls set_config(text,text,boolean)" <<<"$stderr")" = 1 ]
  [ "$(grep -c "constraint evil_sneaky of \"public\".\"evil\" not applied: the target refuses it" <<<"$stderr")" = 1 ]
  [ "$(grep -c "foreign key evil_fk of \"public\".\"evil\" not applied: it references public.evil_elsewhere, which is not a table of this replay" <<<"$stderr")" = 1 ]
  [ "$(grep -c "constraint evil_counts of \"public\".\"evil\" not applied: it calls nextval(regclass)" <<<"$stderr")" = 1 ]
  [ "$(grep -c "default of column x of \"public\".\"evil\" not applied: the target reads it back as (1)::text, not as the record has it" <<<"$stderr")" = 1 ]
  [ "$(grep -c "DROP TABLE of \"shadowstream\".\"replay_position\" not applied" <<<"$stderr")" = 1 ]
  e() { psql -XAtq -d evil_shadow -c "$1"; }
  [ "$(e "select pg_get_expr(adbin, adrelid) from pg_attrdef where adrelid = 'public.evil'::regclass")" = "" ]
  [ "$(e "select string_agg(conname, ',' order by conname) from pg_constraint where conrelid = 'public.evil'::regclass")" = evil_pkey ]
  [ "$(e "select indexname from pg_indexes where tablename = 'evil' and indexname = 'evil_fine'")" = evil_fine ]
  [ "$(e "select x from public.evil")" = a ]
  [ "$(e "select count(*) from pg_attribute where attrelid = 'public.evil'::regclass and attname = 'zz'")" = 0 ]
  [ "$(e "select count(*) from shadowstream.replay_position")" = 1 ]
  # Without --create-tables: the rows go in, the table stays as the user made it.
  q "create database evil_managed"
  psql -XAtq -d evil_managed -c "create table public.evil (id int primary key, x text)"
  ss-replay --speed max --to "postgresql://postgres@127.0.0.1:$PGPORT/evil_managed" <"$T/evil.ss"
  [ "$(psql -XAtq -d evil_managed -c "select count(*) from pg_indexes where tablename = 'evil'")" = 1 ]
  [ "$(psql -XAtq -d evil_managed -c "select x from public.evil")" = a ]
  q "drop function public.sneaky() cascade; drop sequence evil_counter cascade"
}

@test "a checkpoint carries each table's definition: a rebuild from it has the source's indexes and constraints" {
  q "do \$\$ declare t text; begin for t in select tablename from pg_tables where schemaname = 'public' loop execute format('drop table public.%I cascade', t); end loop; end \$\$"
  ss-capture install-ddl 2>/dev/null
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
create table pre (id serial primary key, v text not null default 'd' check (v <> ''), u int unique);
create index pre_v on pre (lower(v)) where u > 0;
comment on table pre is 'there before the slot';
insert into pre (v, u) select 'v' || g, g from generate_series(1, 50) g;
create table z_parent (id int primary key);
create table a_child (id int primary key, p int references z_parent on update cascade);
insert into z_parent select generate_series(1, 5);
insert into a_child select g, g from generate_series(1, 5) g;
SQL
  # The initial snapshot is checkpoint zero; its begin marker holds the definition.
  ss-capture --slot s_cp --publication s_cp --all-tables --endpos "$(lsn_now)" >"$T/cp.ss" 2>/dev/null
  [ "$(ss-cat "$T/cp.ss" | jq -r 'select(.op == "checkpoint_begin") | .checkpoint.tables[] | select(.table == "pre") | "\(.table) \(.definition.command_tag) \(.definition.indexes | length)"')" = "pre CHECKPOINT 3" ]
  instant cp
  q "create database clone_cp"
  ss-replay --speed max --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/clone_cp" <"$T/cp.ss"
  diff "$T/schema.cp" <(schema_dump clone_cp)
  diff "$T/rows.cp" <(rows_dump clone_cp)
  # The sequence where the source's was: the next id the shadow hands out is the source's next.
  [ "$(psql -XAtq -d clone_cp -c "select last_value || ' ' || is_called from pre_id_seq")" = "50 true" ]
  # A later checkpoint (for cron) carries it too.
  q "create index pre_u on pre (u desc)"
  ss-capture --slot s_cp --publication s_cp --checkpoint >"$T/cp2.ss" 2>/dev/null
  [ "$(ss-cat "$T/cp2.ss" | jq -r 'select(.op == "checkpoint_begin") | .checkpoint.tables[] | select(.table == "pre") | .definition.indexes | map(.name) | join(",")')" = "pre_pkey,pre_u,pre_u_key,pre_v" ]
  # Loaded over the first: the tables a key joins are emptied together.
  q "update z_parent set id = 10 where id = 1" # cascades to a_child
  ss-capture --slot s_cp --publication s_cp --checkpoint >"$T/cp3.ss" 2>/dev/null
  instant cp3
  ss-replay --speed max --create-tables --to "postgresql://postgres@127.0.0.1:$PGPORT/clone_cp" <"$T/cp3.ss"
  diff "$T/schema.cp3" <(schema_dump clone_cp)
  diff "$T/rows.cp3" <(rows_dump clone_cp)
}

@test "--concurrent-indexes: a schema record's indexes are built CONCURRENTLY after its transaction, queued so none is lost" {
  q "drop table if exists ci, ci2 cascade"
  ss-capture install-ddl 2>/dev/null
  q "create table ci (id int primary key, v text, n int); create table ci2 (id int primary key, v text)"
  ss-capture --slot s_ci --publication s_ci --table public.ci --table public.ci2 --create-slot 2>/dev/null
  psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
alter table ci add column w int;
alter table ci2 add column w int;
insert into ci select g, 'v' || g, g % 7 from generate_series(1, 500) g;
insert into ci2 values (1, 'a'), (2, 'b');
create index ci_lower on ci (lower(v)) where n > 0;
create unique index ci_v on ci (v);
create index ci_gone on ci (n);
drop index ci_gone;
create index ci2_inv on ci2 ((100 / w));
insert into ci values (501, 'x', 1);
SQL
  drain s_ci >"$T/ci.ss"
  run ss-replay --concurrent-indexes --to "postgresql://postgres@127.0.0.1:$PGPORT/postgres" <"$T/ci.ss"
  [ "$status" -eq 64 ]
  [[ "$output" == *"--concurrent-indexes needs --create-tables"* ]]
  q "create database ci_shadow"
  s() { psql -XAtq -d ci_shadow -c "$1"; }
  # The shadow's own row makes ci2_inv impossible there: said, the half-built index dropped, the replay goes on.
  s "create table public.ci2 (id int primary key, v text, w int); insert into public.ci2 values (3, 'a', 0)"
  run --separate-stderr ss-replay --speed max --create-tables --concurrent-indexes \
    --to "postgresql://postgres@127.0.0.1:$PGPORT/ci_shadow" <"$T/ci.ss"
  [ "$status" -eq 0 ]
  [ "$(grep -c 'index "public"."ci2_inv" of source .* not built CONCURRENTLY: .*division by zero' <<<"$stderr")" = 1 ]
  [ "$(s "select string_agg(indexrelid::regclass::text || ':' || indisvalid, ',' order by indexrelid::regclass::text) from pg_index where indrelid in ('public.ci'::regclass, 'public.ci2'::regclass)")" = \
    "ci2_pkey:true,ci_lower:true,ci_pkey:true,ci_v:true" ]
  [ "$(s "select pg_get_indexdef('public.ci_lower'::regclass)")" = "$(q "select pg_get_indexdef('public.ci_lower'::regclass)")" ]
  [ "$(s "select count(*) from shadowstream.replay_position_indexes")" = 0 ]
  [ "$(s "select count(*) from public.ci")" = 501 ]
  # A run that stopped between its commit and the build: the queue holds the index, and the next start builds it.
  s "drop index public.ci_v"
  s "insert into shadowstream.replay_position_indexes (source, index, target, statement) values ('x', '\"public\".\"ci_v\"', '\"public\".\"ci\"', 'CREATE UNIQUE INDEX CONCURRENTLY \"ci_v\" ON \"public\".\"ci\" USING btree (v)')"
  ss-replay --speed max --create-tables --concurrent-indexes --to "postgresql://postgres@127.0.0.1:$PGPORT/ci_shadow" </dev/null
  [ "$(s "select indisvalid from pg_index where indexrelid = 'public.ci_v'::regclass")" = t ]
  [ "$(s "select count(*) from shadowstream.replay_position_indexes")" = 0 ]
}
