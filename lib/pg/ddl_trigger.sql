-- ShadowStream's schema-change capture (ss-capture install-ddl): an event trigger that, after every DDL command
-- touching a table a publication carries, emits the table's full definition, read from the catalog, as a
-- transactional logical message (prefix shadowstream.ddl). The message rides in the command's own transaction, at
-- its own position, so a replay applies the schema exactly where the source changed it. The command's SQL text is
-- never read: only the catalog.
--
-- The content is a ChangeRecord in protobuf's JSON form (op, schema, table, relationOid, replicaIdentity,
-- definition): ss-capture parses it, keeps those fields only and gives the record its position. Installed by
-- ss-capture; every object lives in the schema shadowstream; uninstall-ddl drops that schema. Version:
-- shadowstream.ddl_version().
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS shadowstream;
-- The definitions are read by ss-capture's own role too (a checkpoint's tables): any role may call them.
GRANT USAGE ON SCHEMA shadowstream TO PUBLIC;
COMMENT ON SCHEMA shadowstream IS
  'ShadowStream schema-change capture (ss-capture install-ddl); ss-capture uninstall-ddl removes it';

CREATE OR REPLACE FUNCTION shadowstream.ddl_version() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT @VERSION@';

-- The functions are PL/pgSQL with generic plans, so a session plans their queries once (an SQL function with SET is
-- planned at every call, and a custom plan costs milliseconds per DDL command).

-- A sequence's parameters, as CREATE SEQUENCE takes them.
CREATE OR REPLACE FUNCTION shadowstream.sequence_definition(seq oid) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (  SELECT jsonb_build_object(
    'name', format('%I.%I', n.nspname, c.relname),
    'type', format_type(s.seqtypid, NULL),
    'start', s.seqstart::text, 'increment', s.seqincrement::text, 'minValue', s.seqmin::text,
    'maxValue', s.seqmax::text, 'cache', s.seqcache::text, 'cycle', s.seqcycle,
    -- Its value now, for a checkpoint's rebuild (as pg_sequences shows it: NULL when never called or not readable).
    'lastValue', CASE WHEN has_sequence_privilege(s.seqrelid, 'SELECT,USAGE') THEN pg_sequence_last_value(s.seqrelid)::text END)
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE s.seqrelid = seq);
END
$$;

-- The part of an index's definition after its name and table: "btree (lower(v)) WHERE (n > 1)".
CREATE OR REPLACE FUNCTION shadowstream.index_using(idx oid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (  SELECT CASE WHEN left(d.def, length(d.head)) = d.head THEN substr(d.def, length(d.head) + 1) END
  FROM (SELECT pg_get_indexdef(i.indexrelid) AS def,
               format('CREATE %sINDEX %I ON %s%I.%I USING ', CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END,
                      ic.relname, CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END, n.nspname, c.relname) AS head
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.indexrelid = idx) d);
END
$$;

-- A table's definition as the catalog holds it now.
CREATE OR REPLACE FUNCTION shadowstream.table_definition(rel oid, tag text, identity text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (  SELECT jsonb_build_object(
    'op', 'OPERATION_SCHEMA', 'schema', n.nspname, 'table', c.relname, 'relationOid', c.oid,
    'replicaIdentity', c.relreplident::text,
    'definition', jsonb_strip_nulls(jsonb_build_object(
      'version', shadowstream.ddl_version(), 'commandTag', tag, 'objectIdentity', identity,
      'kind', c.relkind::text,
      'comment', obj_description(c.oid, 'pg_class'),
      'publications', (SELECT coalesce(jsonb_agg(p.pubname ORDER BY p.pubname), '[]')
                       FROM pg_publication_tables p WHERE p.schemaname = n.nspname AND p.tablename = c.relname),
      'columns', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
          'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'typeOid', a.atttypid,
          'typeName', CASE WHEN tn.nspname = 'pg_catalog' THEN t.typname::text
                           ELSE tn.nspname || '.' || t.typname END,
          'typeModifier', a.atttypmod, 'notNull', a.attnotnull,
          'isKey', CASE c.relreplident
                     WHEN 'f' THEN true
                     WHEN 'd' THEN EXISTS (SELECT FROM pg_index k WHERE k.indrelid = c.oid AND k.indisprimary
                                           AND a.attnum = ANY (k.indkey))
                     WHEN 'i' THEN EXISTS (SELECT FROM pg_index k WHERE k.indrelid = c.oid AND k.indisreplident
                                           AND a.attnum = ANY (k.indkey))
                     ELSE false END,
          'missingValue', CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END,
          'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
          'generated', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END,
          'identity', nullif(a.attidentity::text, ''),
          'collation', CASE WHEN a.attcollation <> t.typcollation
                            THEN format('%I.%I', cn.nspname, co.collname) END,
          'comment', col_description(c.oid, a.attnum),
          'sequence', (SELECT shadowstream.sequence_definition(dep.objid) FROM pg_depend dep
                       JOIN pg_class sc ON sc.oid = dep.objid AND sc.relkind = 'S'
                       WHERE dep.refclassid = 'pg_class'::regclass AND dep.refobjid = c.oid
                         AND dep.classid = 'pg_class'::regclass AND dep.refobjsubid = a.attnum
                         AND dep.deptype IN ('a', 'i') LIMIT 1)
        )) ORDER BY a.attnum), '[]')
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'constraints', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
          'name', k.conname, 'type', k.contype::text, 'definition', pg_get_constraintdef(k.oid),
          'validated', k.convalidated, 'comment', obj_description(k.oid, 'pg_constraint'),
          'referencedTable', CASE WHEN k.confrelid <> 0 THEN
            (SELECT format('%I.%I', fn.nspname, fc.relname) FROM pg_class fc
             JOIN pg_namespace fn ON fn.oid = fc.relnamespace WHERE fc.oid = k.confrelid) END
        )) ORDER BY k.conname), '[]')
        FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'c', 'f', 'x')),
      'indexes', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
          'name', ic.relname, 'definition', pg_get_indexdef(i.indexrelid), 'unique', i.indisunique,
          -- What follows "USING " in the definition: the method, the keys, INCLUDE, WITH and WHERE.
          'using', shadowstream.index_using(i.indexrelid),
          'constraint', (SELECT k.conname FROM pg_constraint k WHERE k.conindid = i.indexrelid
                         AND k.conrelid = c.oid AND k.contype IN ('p', 'u', 'x')),
          'replicaIdentity', i.indisreplident,
          'comment', obj_description(i.indexrelid, 'pg_class')
        )) ORDER BY ic.relname), '[]')
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid)
    )))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel);
END
$$;

-- The table a command's object belongs to: the table itself, an index's, a constraint's, an owned sequence's, a
-- publication entry's. NULL for anything else.
CREATE OR REPLACE FUNCTION shadowstream.table_of(cls oid, obj oid) RETURNS oid
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (  SELECT CASE
    WHEN cls = 'pg_class'::regclass THEN (
      SELECT CASE c.relkind
        WHEN 'r' THEN c.oid WHEN 'p' THEN c.oid
        WHEN 'i' THEN (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid)
        WHEN 'I' THEN (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid)
        WHEN 'S' THEN (SELECT refobjid FROM pg_depend WHERE classid = 'pg_class'::regclass AND objid = c.oid
                       AND refclassid = 'pg_class'::regclass AND deptype IN ('a', 'i') LIMIT 1)
        END
      FROM pg_class c WHERE c.oid = obj)
    WHEN cls = 'pg_constraint'::regclass THEN (SELECT nullif(conrelid, 0) FROM pg_constraint WHERE oid = obj)
    WHEN cls = 'pg_publication_rel'::regclass THEN (SELECT prrelid FROM pg_publication_rel WHERE oid = obj)
    WHEN cls = 'pg_attrdef'::regclass THEN (SELECT adrelid FROM pg_attrdef WHERE oid = obj)
  END);
END
$$;

-- Whether a table is one whose changes a publication could carry: a permanent table outside the system's schemas.
CREATE OR REPLACE FUNCTION shadowstream.capturable(rel oid) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (  SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = rel AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p'
                   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'shadowstream')
                   AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'));
END
$$;

-- Whether any publication carries the table (FOR ALL TABLES, FOR TABLE it or a partition ancestor, FOR TABLES IN
-- SCHEMA its schema): the trigger describes only those. A table added to a publication later is described then
-- (ALTER PUBLICATION is a DDL command too).
CREATE OR REPLACE FUNCTION shadowstream.published(rel oid) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN EXISTS (SELECT FROM pg_publication WHERE puballtables)
      OR EXISTS (SELECT FROM pg_publication_rel
                 WHERE prrelid = rel OR prrelid IN (SELECT relid FROM pg_partition_ancestors(rel)))
      OR EXISTS (SELECT FROM pg_publication_namespace pn JOIN pg_class c ON c.relnamespace = pn.pnnspid
                 WHERE c.oid = rel);
END
$$;

CREATE OR REPLACE FUNCTION shadowstream.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  cmd record;
  rel oid;
  seen oid[] := '{}';
BEGIN
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    rel := shadowstream.table_of(cmd.classid, cmd.objid);
    IF rel IS NOT NULL AND NOT rel = ANY (seen) AND shadowstream.capturable(rel) AND shadowstream.published(rel) THEN
      seen := seen || rel;
      PERFORM pg_logical_emit_message(true, 'shadowstream.ddl',
        shadowstream.table_definition(rel, cmd.command_tag, cmd.object_identity)::text);
    END IF;
  END LOOP;
END
$$;

-- Drops: a dropped table's record says so; an index dropped by DROP INDEX names itself (its table's name is gone
-- from the catalog by now, and index names are unique in their schema). Constraints dropped by ALTER TABLE reach
-- the reader as that table's new definition.
CREATE OR REPLACE FUNCTION shadowstream.on_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  obj record;
BEGIN
  FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    IF obj.object_type = 'table' AND NOT obj.is_temporary
       AND obj.schema_name NOT IN ('pg_catalog', 'information_schema', 'shadowstream') THEN
      PERFORM pg_logical_emit_message(true, 'shadowstream.ddl', jsonb_build_object(
        'op', 'OPERATION_SCHEMA', 'schema', obj.schema_name, 'table', obj.object_name, 'relationOid', obj.objid,
        'definition', jsonb_build_object('version', shadowstream.ddl_version(), 'commandTag', tg_tag,
                                         'objectIdentity', obj.object_identity, 'dropped', true))::text);
    ELSIF obj.object_type = 'index' AND obj.original AND NOT obj.is_temporary THEN
      PERFORM pg_logical_emit_message(true, 'shadowstream.ddl', jsonb_build_object(
        'op', 'OPERATION_SCHEMA', 'schema', obj.schema_name,
        'definition', jsonb_build_object('version', shadowstream.ddl_version(), 'commandTag', tg_tag,
                                         'objectIdentity', obj.object_identity,
                                         'droppedIndex', obj.object_name))::text);
    END IF;
  END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS shadowstream_ddl;
CREATE EVENT TRIGGER shadowstream_ddl ON ddl_command_end EXECUTE FUNCTION shadowstream.on_ddl();
DROP EVENT TRIGGER IF EXISTS shadowstream_drop;
CREATE EVENT TRIGGER shadowstream_drop ON sql_drop EXECUTE FUNCTION shadowstream.on_drop();
-- Also in sessions that apply as a replica (a subscriber's, a replay's into a shadow that is captured in turn):
-- their DDL is the database's too.
ALTER EVENT TRIGGER shadowstream_ddl ENABLE ALWAYS;
ALTER EVENT TRIGGER shadowstream_drop ENABLE ALWAYS;
