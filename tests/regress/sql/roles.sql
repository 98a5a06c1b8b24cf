-- Roles and privileges (issue 8, item 12): agentgres_reader, agentgres_agent
-- and agentgres_admin, least privilege. First the grants as a table (a new
-- function or table shows up here and must be placed in a group), then what
-- members of each group can and cannot do (permission denied is 42501).
\set SHOW_CONTEXT never

-- The group roles: NOLOGIN, admin includes agent includes reader.
SELECT rolname, rolcanlogin, rolsuper, rolinherit,
       pg_has_role(rolname, 'agentgres_reader', 'MEMBER') AS reads,
       pg_has_role(rolname, 'agentgres_agent', 'MEMBER') AS acts
FROM pg_roles WHERE rolname IN ('agentgres_reader', 'agentgres_agent', 'agentgres_admin') ORDER BY rolname;

-- Who may execute each function of the extension. PUBLIC keeps only pure
-- computations (and top_k, which checks the caller's privileges on the
-- table it searches); the schema itself is usable by the three groups only.
SELECT p.oid::regprocedure AS function,
       coalesce(p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) a
                                            WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'), false) AS public,
       has_function_privilege('agentgres_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('agentgres_agent', p.oid, 'EXECUTE') AS agent,
       has_function_privilege('agentgres_admin', p.oid, 'EXECUTE') AS admin
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres'
ORDER BY (p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0)) DESC,
         has_function_privilege('agentgres_reader', p.oid, 'EXECUTE') DESC,
         has_function_privilege('agentgres_agent', p.oid, 'EXECUTE') DESC,
         has_function_privilege('agentgres_admin', p.oid, 'EXECUTE') DESC, p.oid::regprocedure::text;

-- Table and view privileges per group (r = SELECT, a = INSERT, w = UPDATE,
-- d = DELETE, D = TRUNCATE, x = REFERENCES, t = TRIGGER).
CREATE FUNCTION pg_temp.privileges(who text, rel oid) RETURNS text LANGUAGE sql AS $$
	SELECT concat(CASE WHEN has_table_privilege(who, rel, 'SELECT') THEN 'r' END,
	              CASE WHEN has_table_privilege(who, rel, 'INSERT') THEN 'a' END,
	              CASE WHEN has_table_privilege(who, rel, 'UPDATE') THEN 'w' END,
	              CASE WHEN has_table_privilege(who, rel, 'DELETE') THEN 'd' END,
	              CASE WHEN has_table_privilege(who, rel, 'TRUNCATE') THEN 'D' END,
	              CASE WHEN has_table_privilege(who, rel, 'REFERENCES') THEN 'x' END,
	              CASE WHEN has_table_privilege(who, rel, 'TRIGGER') THEN 't' END)
$$;
SELECT c.oid::regclass AS relation, c.relkind,
       coalesce((SELECT string_agg(a.privilege_type, ',') FROM aclexplode(c.relacl) a WHERE a.grantee = 0), '')
           AS public,
       pg_temp.privileges('agentgres_reader', c.oid) AS reader,
       pg_temp.privileges('agentgres_agent', c.oid) AS agent,
       pg_temp.privileges('agentgres_admin', c.oid) AS admin
FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'agentgres'
WHERE c.relkind IN ('r', 'v')
ORDER BY c.oid::regclass::text;
SELECT has_schema_privilege('public', 'agentgres', 'USAGE') AS public_schema_usage,
       has_schema_privilege('agentgres_reader', 'agentgres', 'USAGE') AS reader_schema_usage;

-- Members of each group (as an application would be) and a role in none.
CREATE ROLE regress_agentgres_reader NOLOGIN IN ROLE agentgres_reader;
CREATE ROLE regress_agentgres_agent NOLOGIN IN ROLE agentgres_agent;
CREATE ROLE regress_agentgres_admin NOLOGIN IN ROLE agentgres_admin;
CREATE ROLE regress_agentgres_nobody NOLOGIN;

-- Something to read: executions and a model (as the installing superuser).
SELECT agentgres.simulate_executions('code_change', 300, 5);
SELECT (agentgres.train_success_model() ->> 'version') IS NOT NULL AS trained;
CREATE TABLE public.docs (id integer, v agentgres.embedding(2));
INSERT INTO public.docs VALUES (1, '[1,0]'), (2, '[0,1]');
GRANT SELECT ON public.docs TO regress_agentgres_reader;

-- try(role, statement): runs the statement as the role, 'ok' or the error.
CREATE FUNCTION pg_temp.try(who text, statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET ROLE %I', who);
	BEGIN
		EXECUTE statement;
	EXCEPTION WHEN OTHERS THEN
		RESET ROLE;
		RETURN SQLSTATE || ' ' || SQLERRM;
	END;
	RESET ROLE;
	RETURN 'ok';
END $$;

CREATE TEMP TABLE cases (n serial, who text, statement text);
INSERT INTO cases (who, statement) VALUES
	-- a role in no group cannot even reach the schema
	('nobody', $$SELECT agentgres.rrf(ARRAY[1, 2]::bigint[])$$),
	('nobody', $$SELECT count(*) FROM agentgres.executions$$),
	-- reader: reads tables, views and read-only functions; changes nothing
	('reader', $$SELECT count(*) FROM agentgres.executions$$),
	('reader', $$SELECT * FROM agentgres.learning_status$$),
	('reader', $$SELECT agentgres.predict_success('code_change', ARRAY['coder'], 1)$$),
	('reader', $$SELECT agentgres.estimate_duration('code_change', ARRAY['coder'], 1)$$),
	('reader', $$SELECT count(*) FROM agentgres.recommend_agents('code_change')$$),
	('reader', $$SELECT count(*) FROM agentgres.agent_patterns(5)$$),
	('reader', $$SELECT agentgres.system_health(), agentgres.statistics(), agentgres.learning_mode()$$),
	('reader', $$SELECT count(*) FROM agentgres.top_k('public.docs', 'id', 'v', '[1,0]', 1)$$),
	('reader', $$SELECT agentgres.rrf(ARRAY[1, 2]::bigint[], ARRAY[2, 3]::bigint[])$$),
	('reader', $$SELECT agentgres.record_execution('code_change', ARRAY['coder'], true, 1)$$),
	('reader', $$INSERT INTO agentgres.executions (task_type, agents, success, duration_s) VALUES ('x', '{a}', true, 1)$$),
	('reader', $$SELECT agentgres.register_agent('reader-app')$$),
	('reader', $$SELECT agentgres.enqueue('myapp.work', '{}')$$),
	('reader', $$SELECT agentgres.log_event('x', 'y')$$),
	('reader', $$SELECT agentgres.train_success_model()$$),
	-- agent: what an application does
	('agent', $$SELECT agentgres.record_execution('code_change', ARRAY['coder'], true, 1)$$),
	('agent', $$SELECT agentgres.finish_task(task_id, true) FROM agentgres.begin_task('code_change', 1)$$),
	('agent', $$SELECT agentgres.register_agent('app', 'worker', '{"a": 1}')$$),
	('agent', $$SELECT agentgres.register_agent('app', 'worker', '{"a": 2}')$$),
	('agent', $$SELECT agentgres.set_agent_status('app', 'running')$$),
	('agent', $$SELECT agentgres.heartbeat('app')$$),
	('agent', $$SELECT agentgres.log_event('app_event', 'hello', 'app')$$),
	('agent', $$SELECT agentgres.record_metric('app', 'latency_ms', 12)$$),
	('agent', $$INSERT INTO agentgres.experiments (name, variants) VALUES ('e', '{a,b}')$$),
	('agent', $$SELECT agentgres.assign_variant('e', 'subject-1')$$),
	('agent', $$SELECT agentgres.enqueue('myapp.work', '{}')$$),
	('agent', $$SELECT agentgres.complete_job(id, 'w') FROM agentgres.claim_jobs('w', ARRAY['myapp.work'])$$),
	('agent', $$SELECT agentgres.cancel_job(agentgres.enqueue('myapp.work', '{}'))$$),
	('agent', $$SELECT agentgres.predict_success('code_change', ARRAY['coder'], 1)$$),
	('agent', $$SELECT agentgres.set_learning_mode('observe')$$),
	('agent', $$UPDATE agentgres.learning_settings SET min_history = 1$$),
	('agent', $$SELECT agentgres.train_success_model()$$),
	('agent', $$SELECT agentgres.refresh_insights()$$),
	('agent', $$SELECT agentgres.raise_alert('r', 's', 'info', 'm')$$),
	('agent', $$SELECT agentgres.purge_history()$$),
	('agent', $$DELETE FROM agentgres.executions$$),
	('agent', $$UPDATE agentgres.models SET version = 99$$),
	('agent', $$TRUNCATE agentgres.jobs$$),
	-- admin: what agentgresd does, on top of the agent's part
	('admin', $$SELECT agentgres.set_learning_mode('recommend')$$),
	('admin', $$SELECT agentgres.train_success_model()$$),
	('admin', $$SELECT agentgres.refresh_insights(5)$$),
	('admin', $$SELECT agentgres.raise_alert('loop_crashed', 'app', 'warning', 'boom')$$),
	('admin', $$SELECT agentgres.ack_alert(id) FROM agentgres.alerts WHERE rule = 'loop_crashed'$$),
	('admin', $$SELECT agentgres.resolve_alert('loop_crashed', 'app')$$),
	('admin', $$SELECT agentgres.rollup_metrics()$$),
	('admin', $$SELECT * FROM agentgres.purge_history('30 days')$$),
	('admin', $$SELECT agentgres.enqueue('daemon.work', '{}')$$),
	('admin', $$SELECT agentgres.fail_job(id, 'w', 'boom') FROM agentgres.claim_jobs('w', ARRAY['daemon.work'])$$),
	('admin', $$SELECT count(*) FROM agentgres.stale_agents()$$),
	('admin', $$DELETE FROM agentgres.heartbeats WHERE agent = 'app'$$),
	('admin', $$SELECT agentgres.enable_pgvector_interop()$$),
	('admin', $$TRUNCATE agentgres.jobs$$),
	('admin', $$CREATE TABLE agentgres.mine (x int)$$);
SELECT n, who, statement, pg_temp.try('regress_agentgres_' || who, statement) AS result FROM cases ORDER BY n;

-- What the agent and the admin did is there.
SELECT name, kind, status, version FROM agentgres.agents WHERE name = 'app';
SELECT mode FROM agentgres.learning_settings;

-- A PUBLIC that is given the schema (e.g. for the embedding type) still
-- cannot change or read the extension's state: those functions are not
-- PUBLIC's, and neither are the tables.
GRANT USAGE ON SCHEMA agentgres TO regress_agentgres_nobody;
TRUNCATE cases;
INSERT INTO cases (who, statement) VALUES
	('nobody', $$SELECT agentgres.rrf(ARRAY[1, 2]::bigint[])$$),
	('nobody', $$SELECT '[1,2]'::agentgres.embedding OPERATOR(agentgres.<->) '[2,2]'$$),
	('nobody', $$SELECT agentgres.wilson_interval(5, 10)$$),
	('nobody', $$SELECT agentgres.record_execution('code_change', ARRAY['coder'], true, 1)$$),
	('nobody', $$SELECT agentgres.predict_success('code_change', ARRAY['coder'], 1)$$),
	('nobody', $$SELECT agentgres.system_health()$$),
	('nobody', $$SELECT agentgres.enqueue('myapp.work', '{}')$$),
	('nobody', $$SELECT count(*) FROM agentgres.executions$$);
SELECT n, statement, pg_temp.try('regress_agentgres_' || who, statement) AS result FROM cases ORDER BY n;
REVOKE USAGE ON SCHEMA agentgres FROM regress_agentgres_nobody;

-- A second database: the roles exist, so the install reuses them; DROP
-- EXTENSION keeps them (other databases may use them). A role of the same
-- name that can log in is refused.
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_agentgres_second;
\c regress_agentgres_second
SET client_min_messages = warning;
ALTER ROLE agentgres_reader LOGIN;
CREATE EXTENSION agentgres;
ALTER ROLE agentgres_reader NOLOGIN;
CREATE EXTENSION agentgres;
SELECT has_table_privilege('agentgres_agent', 'agentgres.executions', 'INSERT') AS agent_inserts_here;
DROP EXTENSION agentgres;
SELECT count(*) AS group_roles_kept FROM pg_roles WHERE rolname IN ('agentgres_reader', 'agentgres_agent', 'agentgres_admin');
\c :regress_db
DROP DATABASE regress_agentgres_second;

DROP TABLE public.docs;
DROP ROLE regress_agentgres_reader, regress_agentgres_agent, regress_agentgres_admin, regress_agentgres_nobody;
