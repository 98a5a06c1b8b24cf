-- search_path attack (issue 8, item 1): a database owner controls public (and
-- can put it before pg_catalog in a database's search_path). Nothing it plants
-- there may run when a superuser calls the extension's functions.
CREATE ROLE regress_agentgres_dbowner;
GRANT USAGE, CREATE ON SCHEMA public TO regress_agentgres_dbowner;
SET ROLE regress_agentgres_dbowner;
SET search_path = public;

CREATE TABLE public.sp_trap (what text);
GRANT INSERT ON public.sp_trap TO PUBLIC;
CREATE FUNCTION public.sp_sprung(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.sp_trap VALUES (what);
	RAISE NOTICE 'trap sprung: %', what;
END $$;

-- Same-named copies of every extension function (an unqualified call from
-- one extension function to another would reach them first).
DO $$
DECLARE
	f record;
	planted integer := 0;
BEGIN
	SET LOCAL search_path = pg_catalog;
	FOR f IN SELECT p.proname, pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result,
	                p.proretset
	         FROM pg_proc p
	         JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
	         JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres'
	         WHERE p.prokind = 'f' LOOP
		BEGIN
			EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L', f.proname, f.args,
			               f.result,
			               format('BEGIN PERFORM public.sp_sprung(%L); RETURN%s; END', f.proname,
			                      CASE WHEN f.proretset THEN '' ELSE ' NULL' END));
			planted := planted + 1;
		EXCEPTION WHEN OTHERS THEN
			NULL; -- internal, cstring and trigger signatures cannot be copied in PL/pgSQL
		END;
	END LOOP;
	RAISE NOTICE 'planted copies of extension functions: %', CASE WHEN planted > 30 THEN 'many' ELSE planted::text END;
END $$;

-- Functions the SQL bodies call, with signatures that beat pg_catalog's
-- polymorphic or variadic ones, or equal them (winning when public comes
-- before pg_catalog).
CREATE FUNCTION public.jsonb_build_object(text, bigint) RETURNS jsonb LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('jsonb_build_object/2'); RETURN '{}'; END$$;
CREATE FUNCTION public.jsonb_build_object(text, bigint, text, bigint) RETURNS jsonb LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('jsonb_build_object/4'); RETURN '{}'; END$$;
CREATE FUNCTION public.jsonb_build_object(text, bigint, text, bigint, text, bigint, text, bigint) RETURNS jsonb
	LANGUAGE plpgsql AS $$BEGIN PERFORM public.sp_sprung('jsonb_build_object/8'); RETURN '{}'; END$$;
CREATE FUNCTION public.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('jsonb_build_object(text,text)'); RETURN '{}'; END$$;
CREATE FUNCTION public.jsonb_build_object(text, jsonb) RETURNS jsonb LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('jsonb_build_object(text,jsonb)'); RETURN '{}'; END$$;
CREATE FUNCTION public.array_to_string(text[], text) RETURNS text LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('array_to_string'); RETURN ''; END$$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('now'); RETURN pg_catalog.now(); END$$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('lower'); RETURN $1; END$$;
CREATE FUNCTION public.length(text) RETURNS integer LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('length'); RETURN 0; END$$;
CREATE FUNCTION public.cardinality(text[]) RETURNS integer LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('cardinality'); RETURN 0; END$$;

-- Aggregates.
CREATE FUNCTION public.sp_agg_step(state text, value anyelement) RETURNS text LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('aggregate'); RETURN state; END$$;
CREATE FUNCTION public.sp_agg_step2(state text, a text, b bigint) RETURNS text LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('aggregate'); RETURN state; END$$;
CREATE FUNCTION public.sp_count_step(state bigint) RETURNS bigint LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('count(*)'); RETURN state + 1; END$$;
CREATE AGGREGATE public.json_agg(record) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.jsonb_agg(record) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.jsonb_agg(jsonb) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.array_agg(text) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.sum(bigint) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.avg(double precision) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.max(timestamptz) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.min(timestamptz) (SFUNC = public.sp_agg_step, STYPE = text);
CREATE AGGREGATE public.jsonb_object_agg(text, bigint) (SFUNC = public.sp_agg_step2, STYPE = text);
CREATE AGGREGATE public.count(*) (SFUNC = public.sp_count_step, STYPE = bigint, INITCOND = '0');

-- Operators.
CREATE FUNCTION public.sp_text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('text = text'); RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.sp_text_eq);
CREATE FUNCTION public.sp_text_cat(text, text) RETURNS text LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('text || text'); RETURN $1 OPERATOR(pg_catalog.||) $2; END$$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.sp_text_cat);
CREATE FUNCTION public.sp_text_cat_int(text, integer) RETURNS text LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('text || integer'); RETURN $1; END$$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = public.sp_text_cat_int);
CREATE FUNCTION public.sp_tstz_ge(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('timestamptz >= timestamptz'); RETURN $1 OPERATOR(pg_catalog.>=) $2; END$$;
CREATE OPERATOR public.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.sp_tstz_ge);
CREATE FUNCTION public.sp_tstz_lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('timestamptz < timestamptz'); RETURN $1 OPERATOR(pg_catalog.<) $2; END$$;
CREATE OPERATOR public.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.sp_tstz_lt);
CREATE FUNCTION public.sp_tstz_minus(timestamptz, timestamptz) RETURNS interval LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('timestamptz - timestamptz'); RETURN $1 OPERATOR(pg_catalog.-) $2; END$$;
CREATE OPERATOR public.- (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.sp_tstz_minus);
CREATE FUNCTION public.sp_tstz_plus(timestamptz, interval) RETURNS timestamptz LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('timestamptz + interval'); RETURN $1 OPERATOR(pg_catalog.+) $2; END$$;
CREATE OPERATOR public.+ (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = public.sp_tstz_plus);
CREATE FUNCTION public.sp_int8_gt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('bigint > bigint'); RETURN $1 OPERATOR(pg_catalog.>) $2; END$$;
CREATE OPERATOR public.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.sp_int8_gt);
CREATE FUNCTION public.sp_jsonb_field(jsonb, text) RETURNS text LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('jsonb ->> text'); RETURN $1 OPERATOR(pg_catalog.->>) $2; END$$;
CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.sp_jsonb_field);
CREATE FUNCTION public.sp_jsonb_has(jsonb, text) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('jsonb ? text'); RETURN $1 OPERATOR(pg_catalog.?) $2; END$$;
CREATE OPERATOR public.? (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.sp_jsonb_has);
CREATE FUNCTION public.sp_array_overlap(text[], text[]) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN PERFORM public.sp_sprung('text[] && text[]'); RETURN $1 OPERATOR(pg_catalog.&&) $2; END$$;
CREATE OPERATOR public.&& (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.sp_array_overlap);
RESET ROLE;

-- The traps are armed: a caller whose path puts public first springs them.
SET search_path = public, pg_catalog;
SELECT jsonb_build_object('a', 1::bigint) IS NOT NULL AS called, 'x' = 'x'::text AS equal;
SELECT pg_catalog.count(*) > 0 AS trap_works FROM public.sp_trap;
TRUNCATE public.sp_trap;

-- Every entry point, under the paths a database owner can impose. Calls are
-- schema-qualified: what the caller writes is the caller's business; what
-- the extension's functions reach is this test's.
SET search_path = public, agentgres;
SELECT agentgres.register_agent('regress_sp_agent') IS NOT NULL AS registered;
SELECT agentgres.heartbeat('regress_sp_agent') IS NOT NULL AS beat;
SELECT agentgres.enqueue('regress_sp.kind', '{"a": 1}') IS NOT NULL AS enqueued;
SELECT pg_catalog.count(*) AS claimed FROM agentgres.claim_jobs('regress_sp_worker', ARRAY['regress_sp.kind']);
SELECT agentgres.record_execution('regress_sp_task', ARRAY['a', 'b'], true, 1.5) IS NOT NULL AS recorded;
SELECT agentgres.record_execution('regress_sp_task', ARRAY['a'], false, 2.5, error => 'boom 42') IS NOT NULL
	AS recorded;
SELECT agentgres.refresh_insights(1) IS NOT NULL AS refreshed;
SELECT pg_catalog.count(*) > 0 AS patterns FROM agentgres.agent_patterns(1);
SELECT pg_catalog.count(*) > 0 AS patterns FROM agentgres.agent_patterns(1, now() - interval '1 day');
SELECT agentgres.system_health() IS NOT NULL AS health;
SELECT agentgres.statistics() IS NOT NULL AS stats;
SELECT pg_catalog.count(*) >= 0 AS stale FROM agentgres.stale_agents();

-- public before pg_catalog (a database owner can make that the database's
-- default): same-signature copies win here.
SET search_path = public, pg_catalog;
SELECT agentgres.heartbeat('regress_sp_agent') IS NOT NULL AS beat;
SELECT agentgres.enqueue('regress_sp.kind', '{"a": 2}') IS NOT NULL AS enqueued;
SELECT pg_catalog.count(*) AS claimed FROM agentgres.claim_jobs('regress_sp_worker', ARRAY['regress_sp.kind'], 5);
SELECT agentgres.record_execution('regress_sp_task', ARRAY['a', 'b'], true, 1.0) IS NOT NULL AS recorded;
SELECT agentgres.refresh_insights(1) IS NOT NULL AS refreshed;
SELECT pg_catalog.count(*) > 0 AS patterns FROM agentgres.agent_patterns(1);
SELECT pg_catalog.count(*) > 0 AS patterns FROM agentgres.agent_patterns(1, pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day');
SELECT agentgres.system_health() IS NOT NULL AS health;
SELECT agentgres.statistics() IS NOT NULL AS stats;
SELECT pg_catalog.count(*) >= 0 AS stale FROM agentgres.stale_agents();

-- Nothing planted ran.
RESET search_path;
SELECT what, pg_catalog.count(*) FROM public.sp_trap GROUP BY what ORDER BY what;

DELETE FROM agentgres.jobs WHERE kind = 'regress_sp.kind';
DELETE FROM agentgres.executions WHERE task_type = 'regress_sp_task';
DELETE FROM agentgres.agents WHERE name = 'regress_sp_agent';
SELECT agentgres.refresh_insights() IS NOT NULL AS refreshed;
DROP OWNED BY regress_agentgres_dbowner;
DROP ROLE regress_agentgres_dbowner;
