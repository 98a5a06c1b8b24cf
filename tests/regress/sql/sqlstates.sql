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
	($$SELECT * FROM top_k(0, 'id', 'e', '[1,2]', 1)$$),
	($$SELECT * FROM top_k(0, 'id', 'e', '[1,2]', 0)$$),
	($$SELECT * FROM rrf(ARRAY[1])$$),
	($$SELECT * FROM rrf_weighted(0, ARRAY[1], ARRAY[1]::bigint[])$$),
	($$SELECT * FROM rrf_weighted(NULL, ARRAY[1], ARRAY[1]::bigint[])$$),
	($$SELECT * FROM rrf_weighted(60, ARRAY[1, 2], ARRAY[1]::bigint[])$$),
	($$SELECT * FROM rrf_weighted(60, ARRAY['NaN']::float8[], ARRAY[1]::bigint[])$$)
) AS v(statement);

-- the learning system
SELECT pg_temp.sqlstate_of(statement) AS sqlstate, statement FROM (VALUES
	($$SELECT agentgres.record_execution('', ARRAY['a'], true, 1)$$),
	($$SELECT agentgres.record_execution('t', ARRAY[]::text[], true, 1)$$),
	($$SELECT agentgres.record_execution('t', ARRAY['a', NULL], true, 1)$$),
	($$SELECT agentgres.record_execution('t', ARRAY['a'], NULL, 1)$$),
	($$SELECT agentgres.record_execution('t', ARRAY['a'], true, -1)$$),
	($$SELECT agentgres.record_execution('t', ARRAY['a'], true, 'NaN')$$),
	($$SELECT agentgres.record_execution('t', ARRAY['a'], true, 1, satisfaction => 0::smallint)$$),
	($$SELECT agentgres.set_learning_mode('sometimes')$$),
	($$SELECT agentgres.train_success_model()$$),
	($$SELECT agentgres.train_success_model('m', 0)$$),
	($$SELECT agentgres.predict_success('t', ARRAY['a'])$$),
	($$SELECT agentgres.predict_success('t', ARRAY[]::text[])$$),
	($$SELECT agentgres.predict_success('t', ARRAY['a', NULL])$$),
	($$SELECT agentgres.recommend_agents('t', 1, 0)$$),
	($$SELECT agentgres.begin_task('')$$),
	($$SELECT agentgres.finish_task('no such task', true)$$),
	($$SELECT * FROM agentgres.agent_patterns(0)$$),
	($$SELECT * FROM agentgres.agent_patterns(5, NULL, 6)$$),
	($$SELECT * FROM agentgres.pattern_rows('\x01', 1)$$),
	($$SELECT agentgres.refresh_insights(0)$$),
	($$SELECT agentgres.assign_variant('no such experiment', 's')$$),
	($$SELECT agentgres.assign_variant('no such experiment', NULL)$$),
	($$SELECT agentgres.wilson_interval(11, 10)$$),
	($$SELECT agentgres.hash_bucket('k', 0)$$),
	($$SELECT agentgres.simulate_executions('t', -1)$$)
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
