-- Catalog guard (issue 8, item 1): every function of the extension pins its
-- search_path, or is C / internal (their SQL-level lookups are
-- schema-qualified in the glue). A new unpinned function fails this test.
--
-- The one known exception is agentgres.agent_patterns, deliberately left
-- inlinable: a SET clause stops the planner from inlining a LANGUAGE sql
-- function, and inlined its aggregate over executions is planned inside the
-- caller's query (where the parallel-capable pattern_summary aggregate can
-- run). Its body is parsed with the caller's search_path, so every name in
-- it is schema-qualified, operators included; search_path.sql proves that
-- nothing planted in the caller's path runs.
SELECT p.oid::regprocedure AS unpinned_function
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres'
JOIN pg_language l ON l.oid = p.prolang
WHERE l.lanname NOT IN ('c', 'internal')
  AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')
ORDER BY 1::text;

-- A pinned path must not name a schema other roles can write to: only
-- pg_catalog and pg_temp (pg_temp last, where it is never searched for
-- functions or operators).
SELECT p.oid::regprocedure AS loosely_pinned_function, c AS setting
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres'
CROSS JOIN unnest(p.proconfig) AS c
WHERE c LIKE 'search_path=%' AND c <> 'search_path=pg_catalog, pg_temp'
ORDER BY 1::text;

-- The check covers what it should: the extension has many pinned functions.
SELECT count(*) > 30 AS many_pinned
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres'
WHERE EXISTS (SELECT FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%');
