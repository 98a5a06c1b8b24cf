-- Hostile calls over every function of the extension (issue 8, "keep it from
-- coming back"). Each function is found in the catalog (pg_proc joined with
-- pg_depend on the extension), so a new function is covered without editing
-- this file, and called with
--   all arguments NULL; all "typical" (an argument's default, else 1, 'a',
--   '{a}', '[1,0,0]' ...); all
--   "empty" (0, '', '{}', a zero vector, epoch ...);
--   all "huge" (maximum integers, 1e308, 1 MB text, arrays of a million
--   elements, 10 MB jsonb, 16000-dimension vectors of 3e38); all "negative"
--   (minimum integers, -Infinity, multidimensional arrays, deeply nested
--   jsonb ...); all "odd" (NaN, NULL elements, denormals ...); and each
--   argument alone NULL, empty, huge, negative or odd with the others typical,
-- each call its own statement under a 2 s statement_timeout, all inside one
-- transaction that is rolled back (so destructive functions run too). Any
-- error with a precise SQLSTATE is fine; these are not: a timeout (57014), an
-- internal error (class XX: no precise SQLSTATE), running out of memory
-- (53200), or a crash (the session would be gone). Functions with an
-- internal argument cannot be called from SQL; they are listed as skipped.
-- The STRICT, volatility and parallel labels are compared with the list
-- below: a new function fails this test until its labels are decided here.
-- A planted function proves the test bites: it is reported for its missing
-- labels, a timeout and an internal error.
SET search_path = pg_catalog;
\set SHOW_CONTEXT never
BEGIN;
CREATE FUNCTION agentgres.hostile_self_check(seconds integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF seconds = -1 THEN
		RAISE EXCEPTION 'planted internal error' USING ERRCODE = 'XX000';
	END IF;
	PERFORM pg_sleep(least(seconds, 10));
END $$;
ALTER EXTENSION agentgres ADD FUNCTION agentgres.hostile_self_check(integer);

-- the documented labels: (function, strict, volatility, parallel); README:
-- "all functions are STRICT and PARALLEL SAFE unless noted"
CREATE TEMP TABLE expected_labels (fn text PRIMARY KEY, strict boolean, volatility "char", parallel "char");
INSERT INTO expected_labels VALUES
	('agentgres.ack_alert(bigint,text)', false, 'v', 'u'),
	('agentgres.agent_patterns(integer,timestamp with time zone,integer)', false, 's', 's'),
	('agentgres.array_to_embedding(double precision[],integer,boolean)', true, 'i', 's'),
	('agentgres.array_to_embedding(integer[],integer,boolean)', true, 'i', 's'),
	('agentgres.array_to_embedding(numeric[],integer,boolean)', true, 'i', 's'),
	('agentgres.array_to_embedding(real[],integer,boolean)', true, 'i', 's'),
	('agentgres.assign_variant(text,text)', false, 'v', 'u'),
	('agentgres.begin_task(text,double precision,text[])', false, 'v', 'u'),
	('agentgres.bm25_rank(bigint,text,integer,bigint[])', false, 's', 'r'),
	('agentgres.bm25_search(text,text,integer,jsonb)', false, 's', 'u'),
	('agentgres.bm25_terms(text,regconfig)', true, 's', 's'),
	('agentgres.build_vector_index(text,integer)', false, 'v', 'u'),
	('agentgres.cancel_job(bigint)', false, 'v', 'u'),
	('agentgres.chunk_text(text,text,integer,integer)', true, 'i', 's'),
	('agentgres.chunks_index_added()', false, 'v', 'u'),
	('agentgres.chunks_index_removed()', false, 'v', 'u'),
	('agentgres.chunks_index_truncated()', false, 'v', 'u'),
	('agentgres.chunks_refuse_rewrite()', false, 'v', 'u'),
	('agentgres.claim_jobs(text,text[],integer,interval)', false, 'v', 'u'),
	('agentgres.collection_id(text)', false, 's', 'u'),
	('agentgres.complete_job(bigint,text,jsonb)', false, 'v', 'u'),
	('agentgres.cosine_distance(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.cosine_similarity(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.create_collection(text,text,integer,integer,integer,regconfig,double precision,double precision)', false, 'v', 'u'),
	('agentgres.delete_document(text,text)', false, 'v', 'u'),
	('agentgres.dims(agentgres.embedding)', true, 'i', 's'),
	('agentgres.disable_pgvector_interop()', false, 'v', 'u'),
	('agentgres.embed(text,text)', true, 'i', 's'),
	('agentgres.embed_for(text,text)', false, 's', 'u'),
	('agentgres.embedding(agentgres.embedding,integer,boolean)', true, 'i', 's'),
	('agentgres.embedding_cmp(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_eq(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_ge(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_gt(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_in(cstring,oid,integer)', true, 'i', 's'),
	('agentgres.embedding_le(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_lt(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_ne(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_out(agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_recv(internal,oid,integer)', true, 'i', 's'),
	('agentgres.embedding_send(agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_to_double_array(agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_to_real_array(agentgres.embedding)', true, 'i', 's'),
	('agentgres.embedding_typmod_in(cstring[])', true, 'i', 's'),
	('agentgres.embedding_typmod_out(integer)', true, 'i', 's'),
	('agentgres.enable_pgvector_interop()', false, 'v', 'u'),
	('agentgres.enqueue(text,jsonb,integer,timestamp with time zone,integer)', false, 'v', 'u'),
	('agentgres.error_template(text)', true, 'i', 's'),
	('agentgres.error_templates(text[])', true, 'i', 's'),
	('agentgres.estimate_duration(text,text[],double precision,text)', false, 's', 'r'),
	('agentgres.experiment_results(text)', false, 's', 's'),
	('agentgres.extract_symbols(text,text)', true, 'i', 's'),
	('agentgres.fail_job(bigint,text,text,boolean)', false, 'v', 'u'),
	('agentgres.filtered_chunks(bigint,jsonb)', false, 's', 'u'),
	('agentgres.finish_task(text,boolean,text,integer,jsonb,text[])', false, 'v', 'u'),
	('agentgres.generate_executions(integer,bigint)', true, 'i', 's'),
	('agentgres.hash_bucket(text,integer)', true, 'i', 's'),
	('agentgres.heartbeat(text,text,jsonb)', false, 'v', 'u'),
	('agentgres.hybrid_confidence(integer,integer,double precision,text)', false, 'i', 's'),
	('agentgres.hybrid_search(text,text,agentgres.embedding,integer,integer,integer,jsonb)', false, 's', 'u'),
	('agentgres.hybrid_search_multi(text,text[],agentgres.embedding[],integer,integer,integer,jsonb)', false, 's', 'u'),
	('agentgres.ingest_document(text,text,text,jsonb,jsonb)', false, 'v', 'u'),
	('agentgres.inner_product(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.ivf_check(regclass)', true, 'v', 'u'),
	('agentgres.ivf_handler(internal)', false, 'v', 'u'),
	('agentgres.kernel_isa()', true, 's', 's'),
	('agentgres.l2_distance(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.l2_normalize(agentgres.embedding)', true, 'i', 's'),
	('agentgres.language_of(text)', true, 'i', 's'),
	('agentgres.learning_mode()', false, 's', 's'),
	('agentgres.learning_settings_replace()', false, 'v', 'u'),
	('agentgres.log_event(text,text,text,jsonb)', false, 'v', 'u'),
	('agentgres.loop_heartbeat(text,text,jsonb)', false, 'v', 'u'),
	('agentgres.negative_inner_product(agentgres.embedding,agentgres.embedding)', true, 'i', 's'),
	('agentgres.norm(agentgres.embedding)', true, 'i', 's'),
	('agentgres.normal_cdf(double precision)', true, 'i', 's'),
	('agentgres."normalize"(agentgres.embedding)', true, 'i', 's'),
	('agentgres.pattern_combine(internal,internal)', false, 'i', 's'),
	('agentgres.pattern_deserialize(bytea,internal)', true, 'i', 's'),
	('agentgres.pattern_final(internal)', false, 'i', 's'),
	('agentgres.pattern_rows(bytea,integer,integer)', true, 'i', 's'),
	('agentgres.pattern_serialize(internal)', true, 'i', 's'),
	('agentgres.pattern_summary(text,text[],boolean,double precision,text,integer)', false, 'i', 's'),
	('agentgres.pattern_transition(internal,text,text[],boolean,double precision,text,integer)', false, 'i', 's'),
	('agentgres.predict_success(text,text[],double precision,text)', false, 's', 'r'),
	('agentgres.purge_history(interval)', false, 'v', 'u'),
	('agentgres.raise_alert(text,text,text,text,jsonb)', false, 'v', 'u'),
	('agentgres.recommend_agents(text,double precision,integer,integer)', false, 's', 'r'),
	('agentgres.record_execution(text,text[],boolean,double precision,double precision,text,integer,jsonb,text)', false, 'v', 'u'),
	('agentgres.record_metric(text,text,double precision,jsonb)', false, 'v', 'u'),
	('agentgres.refresh_insights(integer,double precision)', false, 'v', 'u'),
	('agentgres.register_agent(text,text,jsonb)', false, 'v', 'u'),
	('agentgres.release_job(bigint,text)', false, 'v', 'u'),
	('agentgres.renew_lease(bigint,text,interval)', false, 'v', 'u'),
	('agentgres.resolve_alert(text,text)', false, 'v', 'u'),
	('agentgres.rocchio(agentgres.embedding,agentgres.embedding[],double precision)', true, 'i', 's'),
	('agentgres.rollback_agent(text,integer)', false, 'v', 'u'),
	('agentgres.rollup_metrics()', false, 'v', 'u'),
	('agentgres.rrf("any")', false, 'i', 's'),
	('agentgres.rrf_weighted(integer,double precision[],"any")', false, 'i', 's'),
	('agentgres.search_coverage(double precision[])', false, 'i', 's'),
	('agentgres.set_agent_status(text,text,text,text,integer)', false, 'v', 'u'),
	('agentgres.set_bm25_parameters(text,double precision,double precision)', false, 'v', 'u'),
	('agentgres.set_chunk_embeddings(bigint[],agentgres.embedding[])', false, 'v', 'u'),
	('agentgres.set_learning_mode(text)', false, 'v', 'u'),
	('agentgres.set_loop_status(text,text,text,text,text,integer)', false, 'v', 'u'),
	('agentgres.simulate_executions(text,integer,bigint)', false, 'v', 'u'),
	('agentgres.stale_agents(interval)', false, 's', 's'),
	('agentgres.statistics()', false, 's', 's'),
	('agentgres.system_health(interval)', false, 's', 'r'),
	('agentgres.lsa_embed(bigint,text)', true, 's', 'r'),
	('agentgres.lsa_train(bigint,integer)', true, 'v', 'u'),
	('agentgres.train_embedder(text)', false, 'v', 'u'),
	('agentgres.top_k(regclass,name,name,agentgres.embedding,integer,text)', true, 's', 'r'),
	('agentgres.top_k_filtered(regclass,name,name,agentgres.embedding,integer,text,name,bigint,bigint[])', false, 's', 'r'),
	('agentgres.train_success_model(text,integer,double precision)', true, 'v', 'u'),
	('agentgres.two_proportion_z_test(bigint,bigint,bigint,bigint)', true, 'i', 's'),
	('agentgres.update_agent_config(text,jsonb,text)', false, 'v', 'u'),
	('agentgres.wilson_interval(bigint,bigint,double precision)', true, 'i', 's');
SELECT coalesce(e.fn, a.fn) AS function, e.strict AS expected_strict, a.strict,
       e.volatility AS expected_volatility, a.volatility, e.parallel AS expected_parallel, a.parallel
FROM expected_labels e
FULL JOIN (SELECT p.oid::regprocedure::text AS fn, p.proisstrict AS strict, p.provolatile AS volatility,
                  p.proparallel AS parallel
           FROM pg_proc p
           JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
           JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres') a ON a.fn = e.fn
WHERE (e.strict, e.volatility, e.parallel) IS DISTINCT FROM (a.strict, a.volatility, a.parallel)
ORDER BY 1;

-- the values, by argument type and kind (expressions, evaluated at the call)
CREATE TEMP TABLE hostile_values (type regtype, kind text, value text, PRIMARY KEY (type, kind));
INSERT INTO hostile_values
SELECT t::regtype, k.kind, k.value
FROM (VALUES
	('text', ARRAY[$$'a'$$, $$''$$, $$repeat('x', 1000000)$$, $$repeat('é''";\%_', 100000)$$, $$'NaN'$$]),
	('integer', ARRAY['1', '0', '2147483647', '-2147483648', '-1']),
	('bigint', ARRAY['1', '0', '9223372036854775807', '-9223372036854775808', '-1']),
	('double precision', ARRAY['1', '0', '1e308', $$'-Infinity'$$, $$'NaN'$$]),
	('boolean', ARRAY['true', 'false', 'true', 'true', 'false']),
	('text[]', ARRAY[$$'{a}'$$, $$'{}'$$, $$array_fill(repeat('a', 1000), ARRAY[10000])$$, $$'{{a,b},{c,d}}'$$, $$'{NULL,""}'$$]),
	('real[]', ARRAY[$$'{1,2,3}'$$, $$'{}'$$, $$array_fill(3e38::real, ARRAY[1000000])$$, $$'{-Infinity}'$$, $$'{NaN,NULL}'$$]),
	('double precision[]', ARRAY[$$'{1,2,3}'$$, $$'{}'$$, $$array_fill(1e308::float8, ARRAY[1000000])$$, $$'{{-1e308}}'$$,
	                             $$'{NaN,NULL}'$$]),
	('integer[]', ARRAY[$$'{1,2,3}'$$, $$'{}'$$, $$array_fill(2147483647, ARRAY[1000000])$$, $$'{-2147483648}'$$, $$'{NULL}'$$]),
	('numeric[]', ARRAY[$$'{1,2,3}'$$, $$'{}'$$, $$ARRAY[1e1000]$$, $$'{-1e1000}'$$, $$'{NaN}'$$]),
	('jsonb', ARRAY[$$'{"a": 1}'$$, $$'{}'$$, $$(SELECT jsonb_object_agg(i, repeat('v', 100)) FROM generate_series(1, 100000) AS i)$$,
	                $$(repeat('[', 5000) || repeat(']', 5000))$$, $$'null'$$]),
	('agentgres.embedding', ARRAY[$$'[1,0,0]'$$, $$'[0]'$$, $$array_fill(3e38::real, ARRAY[16000])$$, $$'[-3e38,-3e38,-3e38]'$$,
	                              $$'[1e-45,0]'$$]),
	('regclass', ARRAY[$$'agentgres.executions'$$, '0', $$'pg_class'$$, '4294967295', $$'agentgres.executions'$$]),
	('name', ARRAY[$$'id'$$, $$''$$, $$repeat('x', 63)$$, $$'id'$$, $$'e'$$]),
	('interval', ARRAY[$$'1 hour'$$, $$'0'$$, $$'178000000 years'$$, $$'-178000000 years'$$, $$'1 microsecond'$$]),
	('timestamp with time zone', ARRAY['now()', $$'epoch'$$, $$'infinity'$$, $$'-infinity'$$, $$'4713-01-01 BC'$$]),
	('cstring', ARRAY[$$'[1,2]'$$, $$''$$, $$repeat('9', 1000000)$$, $$'[-1]'$$, $$'[NaN]'$$]),
	('cstring[]', ARRAY[$$'{3}'$$, $$'{}'$$, $$'{2147483647}'$$, $$'{-1}'$$, $$'{a}'$$]),
	('oid', ARRAY['0', '0', '4294967295', '1', '25']),
	('bytea', ARRAY[$$'\x'$$, $$''$$, $$decode(repeat('ff', 1000000), 'hex')$$, $$'\x01'$$, $$'\x00'$$]),
	('bigint[]', ARRAY[$$'{1,2,3}'$$, $$'{}'$$, $$ARRAY(SELECT generate_series(1::bigint, 1000000))$$, $$'{{-1}}'$$,
	               $$'{NULL}'$$]),
	('regconfig', ARRAY[$$'english'$$, $$'simple'$$, $$'english'$$, '0', '1']),
	('agentgres.embedding[]', ARRAY[$$ARRAY['[1,0,0]'::agentgres.embedding]$$, $$'{}'$$,
	                                $$array_fill('[1,0,0]'::agentgres.embedding, ARRAY[100000])$$,
	                                $$ARRAY[['[1]'::agentgres.embedding]]$$, $$ARRAY[NULL::agentgres.embedding]$$]),
	-- "any" (rrf's lists) takes bigint[] lists
	('"any"', ARRAY[$$'{1,2,3}'$$, $$'{}'$$, $$ARRAY(SELECT generate_series(1::bigint, 1000000))$$, $$'{-9223372036854775808}'$$,
	                $$'{NULL}'$$])
) AS v(t, vals)
CROSS JOIN LATERAL (VALUES ('typical', vals[1]), ('empty', vals[2]), ('huge', vals[3]), ('negative', vals[4]),
                           ('odd', vals[5])) AS k(kind, value);

-- every callable function of the extension, and the skipped ones
CREATE TEMP TABLE functions AS
SELECT p.oid, p.oid::regprocedure::text AS fn, p.prokind,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS qualified, p.proargtypes::oid[] AS types
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres';
SELECT fn AS skipped_internal_argument FROM functions WHERE 'internal'::regtype = ANY (types) ORDER BY 1;
DELETE FROM functions WHERE 'internal'::regtype = ANY (types);
SELECT DISTINCT t::regtype AS argument_type_without_hostile_values
FROM functions CROSS JOIN unnest(types) AS t
WHERE NOT EXISTS (SELECT FROM hostile_values h WHERE h.type = t) ORDER BY 1;
SELECT count(*) > 70 AS many_functions FROM functions;

-- the calls: all arguments of one kind, then each argument alone hostile
CREATE TEMP TABLE calls AS
WITH argument_sets AS (
	SELECT f.oid, kinds.kind,
	       ARRAY(SELECT CASE WHEN kinds.kind = 'null' THEN 'NULL'
	                         WHEN kinds.kind = 'typical' THEN coalesce(pg_get_function_arg_default(f.oid, a.i::int), h.value)
	                         ELSE h.value END
	             FROM unnest(f.types) WITH ORDINALITY AS a(t, i)
	             LEFT JOIN hostile_values h ON h.type = a.t AND h.kind = kinds.kind
	             ORDER BY a.i) AS args
	FROM functions f
	CROSS JOIN (VALUES ('null'), ('typical'), ('empty'), ('huge'), ('negative'), ('odd')) AS kinds(kind)
	UNION ALL
	SELECT f.oid, kinds.kind || ' argument ' || i,
	       ARRAY(SELECT CASE WHEN b.j = i AND kinds.kind = 'null' THEN 'NULL'
	                         WHEN b.j <> i THEN coalesce(pg_get_function_arg_default(f.oid, b.j::int), h.value)
	                         ELSE h.value END
	             FROM unnest(f.types) WITH ORDINALITY AS b(t, j)
	             LEFT JOIN hostile_values h ON h.type = b.t AND h.kind = CASE WHEN b.j = i THEN kinds.kind ELSE 'typical' END
	             ORDER BY b.j)
	FROM functions f CROSS JOIN generate_series(1, cardinality(f.types)) AS i
	CROSS JOIN (VALUES ('null'), ('empty'), ('huge'), ('negative'), ('odd')) AS kinds(kind)
	WHERE cardinality(f.types) > 1
)
SELECT f.fn, s.kind,
       format(CASE WHEN f.prokind = 'a' THEN 'SELECT %s(%s)' ELSE 'SELECT count(*) FROM %s(%s) AS r' END,
              f.qualified,
              (SELECT string_agg(format('(%s)::%s', a.value,
                                        CASE WHEN a.t = '"any"'::regtype THEN 'bigint[]' ELSE format_type(a.t, NULL) END),
                                 ', ' ORDER BY a.i)
               FROM unnest(s.args, f.types) WITH ORDINALITY AS a(value, t, i))) AS statement
FROM argument_sets s JOIN functions f USING (oid);
SELECT count(*) > 1000 AS many_calls FROM calls;

CREATE TEMP TABLE outcomes (fn text, kind text, statement text, sqlstate text, message text, took interval);
CREATE FUNCTION pg_temp.try(fn text, kind text, statement text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	started timestamptz := clock_timestamp();
	state text := '00000';
	message text;
BEGIN
	BEGIN
		EXECUTE statement;
	EXCEPTION WHEN others OR query_canceled THEN
		GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
	END;
	INSERT INTO pg_temp.outcomes VALUES (fn, kind, statement, state, message, clock_timestamp() - started);
END $$;

-- a history and a model of task type 'a' (the typical text), so that typical
-- calls reach past "no such model" into predictions and recommendations
SELECT agentgres.simulate_executions('a', 500, 1) AS simulated;
SELECT agentgres.train_success_model() IS NOT NULL AS trained;
SET statement_timeout = '2s';
SET client_min_messages = error;
-- (neither the generated statements nor their empty results are echoed)
\set ECHO none
\o /dev/null
SELECT format('SELECT pg_temp.try(%L, %L, %L)', fn, kind, statement) FROM calls ORDER BY fn, kind \gexec
\o
\set ECHO all
-- the session is still here, every call ran, and none hung or failed inside
SELECT 'alive' AS session, count(*) = (SELECT count(*) FROM calls) AS every_call_ran FROM outcomes;
SELECT fn, kind, sqlstate, left(message, 200) AS message, statement
FROM outcomes
WHERE sqlstate = '57014' OR sqlstate LIKE 'XX%' OR sqlstate = '53200'
ORDER BY fn, kind;
-- and memory stayed bounded: the backend's peak resident set (about 270 MB
-- with the arrays of a million elements and the 10 MB jsonb values)
SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'VmHWM:\s*(\d+)')::bigint / 1024 < 512
	AS peak_under_512mb;
RESET client_min_messages;
RESET statement_timeout;
ROLLBACK;
