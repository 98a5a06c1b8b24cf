-- Every class of bad input answers with its precise SQLSTATE.
SET search_path = agentgres, public;
CREATE FUNCTION pg_temp.sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE state text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
	RETURN state;
END $$;
CREATE TABLE t (id bigint, e embedding(2), note text);
INSERT INTO t VALUES (1, '[1,2]', 'a');

SELECT pg_temp.sqlstate_of(statement) AS sqlstate, statement FROM (VALUES
	($$SELECT '[1,]'::embedding$$),
	($$SELECT 'x'::embedding$$),
	($$SELECT '[1,2] 3'::embedding$$),
	($$SELECT '[]'::embedding$$),
	($$SELECT '[NaN]'::embedding$$),
	($$SELECT '[inf]'::embedding$$),
	($$SELECT '[1e39]'::embedding$$),
	($$SELECT ('[' || repeat('1,', 16000) || '1]')::embedding$$),
	($$SELECT '[1]'::embedding(0)$$),
	($$SELECT '[1]'::embedding(1, 2)$$),
	($$SELECT '[1]'::embedding(2)$$),
	($$SELECT ARRAY[1, NULL]::real[]::embedding$$),
	($$SELECT ARRAY[1e300]::float8[]::embedding$$),
	($$SELECT '[1]'::embedding <-> '[1,2]'$$),
	($$SELECT '[1]'::embedding <=> '[1,2]'$$),
	($$SELECT '[1]'::embedding <#> '[1,2]'$$),
	($$SELECT * FROM top_k('t', 'id', 'e', '[1]', 1)$$),
	($$SELECT * FROM top_k('t', 'id', 'e', '[1,2]', -1)$$),
	($$SELECT * FROM top_k('t', 'id', 'e', '[1,2]', 2000000)$$),
	($$SELECT * FROM top_k('t', 'id', 'e', '[1,2]', 1, 'hamming')$$),
	($$SELECT * FROM top_k('t', 'nope', 'e', '[1,2]', 1)$$),
	($$SELECT * FROM top_k('t', 'note', 'e', '[1,2]', 1)$$),
	($$SELECT * FROM top_k('t', 'id', 'note', '[1,2]', 1)$$),
	($$SELECT * FROM top_k('pg_class_oid_index', 'id', 'e', '[1,2]', 1)$$),
	($$SELECT * FROM rrf(ARRAY[1])$$),
	($$SELECT * FROM rrf_weighted(0, ARRAY[1], ARRAY[1]::bigint[])$$),
	($$SELECT * FROM rrf_weighted(NULL, ARRAY[1], ARRAY[1]::bigint[])$$),
	($$SELECT * FROM rrf_weighted(60, ARRAY[1, 2], ARRAY[1]::bigint[])$$),
	($$SELECT * FROM rrf_weighted(60, ARRAY['NaN']::float8[], ARRAY[1]::bigint[])$$)
) AS v(statement);

-- permission: 42501
CREATE ROLE regress_agentgres_nobody;
GRANT USAGE ON SCHEMA agentgres TO regress_agentgres_nobody;
SET ROLE regress_agentgres_nobody;
SELECT pg_temp.sqlstate_of($$SELECT * FROM agentgres.top_k('t', 'id', 'e', '[1,2]', 1)$$);
RESET ROLE;
REVOKE ALL ON SCHEMA agentgres FROM regress_agentgres_nobody;
DROP ROLE regress_agentgres_nobody;
DROP TABLE t;
