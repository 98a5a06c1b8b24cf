-- agentgres 0.3.0 -> 0.4.0: what users hit. satisfaction accepts a plain
-- integer; heartbeat() refuses unregistered agents; metric rollups keep
-- series with different labels apart; one definition of a stale agent
-- (stale_agents) and one meaning of healthy (system_health: ok, warning,
-- failing, with reasons); every SQL function but agent_patterns pins
-- search_path; refresh_insights() credits an agent set only against
-- comparable teams (a bad pair is no longer reported as its members) and runs
-- one call at a time; error templates group like a log parser; duration_s
-- and complexity are bounded to meaningful ranges.
\echo Use "ALTER EXTENSION agentgres UPDATE TO '0.4.0'" to load this file. \quit

-- satisfaction integer instead of smallint, so a plain literal resolves.
DROP FUNCTION agentgres.finish_task(text, boolean, text, smallint, jsonb, text[]);
DROP FUNCTION agentgres.record_execution(text, text[], boolean, double precision, double precision, text, smallint,
                                         jsonb, text);

CREATE FUNCTION agentgres.record_execution(task_type text, agents text[], success boolean,
                                           duration_s double precision, complexity double precision DEFAULT NULL,
                                           error text DEFAULT NULL, satisfaction integer DEFAULT NULL,
                                           resources jsonb DEFAULT NULL, task_id text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	settings agentgres.learning_settings;
	unknown text;
	new_id bigint;
BEGIN
	SELECT * INTO settings FROM agentgres.learning_settings;
	IF settings.mode = 'off' THEN
		RETURN NULL;
	END IF;
	IF task_type IS NULL OR task_type = '' THEN
		RAISE EXCEPTION 'task_type must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF agents IS NULL OR cardinality(agents) = 0 THEN
		RAISE EXCEPTION 'agents must not be empty' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Pass the agents that ran the task, for example ARRAY[''planner'', ''coder''].';
	END IF;
	IF array_ndims(agents) > 1 OR cardinality(agents) > 64 THEN
		RAISE EXCEPTION 'agents must be a one-dimensional array of at most 64 names'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(agents, NULL) IS NOT NULL OR array_position(agents, '') IS NOT NULL THEN
		RAISE EXCEPTION 'agent names must not be null or empty' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF success IS NULL THEN
		RAISE EXCEPTION 'success must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF duration_s IS NULL OR duration_s = 'NaN' OR duration_s < 0 OR duration_s = 'Infinity' THEN
		RAISE EXCEPTION 'duration_s must be a finite number of seconds, not %', coalesce(duration_s::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF complexity = 'NaN' OR complexity IN ('Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'complexity must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Meaningful ranges (the model squares complexity and takes the log of
	-- durations; beyond these a value is a unit or caller bug).
	IF duration_s > 1e7 THEN
		RAISE EXCEPTION 'duration_s is out of range: %', duration_s USING ERRCODE = 'numeric_value_out_of_range',
			HINT = 'A duration is at most 10000000 seconds (about 115 days).';
	END IF;
	IF abs(complexity) > 1e6 THEN
		RAISE EXCEPTION 'complexity is out of range: %', complexity USING ERRCODE = 'numeric_value_out_of_range',
			HINT = 'Complexity must be between -1000000 and 1000000.';
	END IF;
	IF satisfaction NOT BETWEEN 1 AND 10 THEN
		RAISE EXCEPTION 'satisfaction must be between 1 and 10, not %', satisfaction
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF settings.strict_catalog THEN
		SELECT a INTO unknown FROM unnest(agents) AS a
		WHERE NOT EXISTS (SELECT FROM agentgres.agent_catalog c WHERE c.name = a) LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'agent "%" is not in agentgres.agent_catalog', unknown
				USING ERRCODE = 'foreign_key_violation',
				HINT = 'Add it to agentgres.agent_catalog or turn strict_catalog off in agentgres.learning_settings.';
		END IF;
	END IF;
	INSERT INTO agentgres.executions (task_id, task_type, complexity, agents, success, duration_s, error,
	                                  satisfaction, resources)
	VALUES (record_execution.task_id, record_execution.task_type, record_execution.complexity,
	        record_execution.agents, record_execution.success, record_execution.duration_s,
	        record_execution.error, record_execution.satisfaction, record_execution.resources)
	RETURNING id INTO new_id;
	RETURN new_id;
END $$;
COMMENT ON FUNCTION agentgres.record_execution(text, text[], boolean, double precision, double precision, text,
                                               integer, jsonb, text) IS
	'records one task execution and returns its id (NULL when learning is off)';

CREATE FUNCTION agentgres.finish_task(task_id text, success boolean, error text DEFAULT NULL,
                                      satisfaction integer DEFAULT NULL, resources jsonb DEFAULT NULL,
                                      agents text[] DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t agentgres.tasks;
	execution bigint;
BEGIN
	SELECT * INTO t FROM agentgres.tasks WHERE tasks.task_id = finish_task.task_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'task "%" does not exist', finish_task.task_id USING ERRCODE = 'undefined_object',
			HINT = 'Start tasks with agentgres.begin_task().';
	END IF;
	IF t.finished_at IS NOT NULL THEN
		RAISE EXCEPTION 'task "%" is already finished', finish_task.task_id
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	execution := agentgres.record_execution(
		t.task_type, coalesce(finish_task.agents, t.agents, t.recommended_agents), finish_task.success,
		extract(epoch FROM clock_timestamp() - t.started_at)::double precision, t.complexity, finish_task.error,
		finish_task.satisfaction, finish_task.resources, t.task_id);
	UPDATE agentgres.tasks SET finished_at = clock_timestamp(), execution_id = execution
	WHERE tasks.task_id = t.task_id;
	RETURN execution;
END $$;
COMMENT ON FUNCTION agentgres.finish_task(text, boolean, text, integer, jsonb, text[]) IS
	'records the execution of a task started with begin_task, with its measured duration';


CREATE OR REPLACE FUNCTION agentgres.heartbeat(agent text, status text DEFAULT 'ok', details jsonb DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	beat timestamptz := now();
BEGIN
	IF agent IS NULL OR agent = '' THEN
		RAISE EXCEPTION 'agent name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Only registered agents beat: a typo must not create a phantom agent
	-- whose heartbeats nobody watches.
	UPDATE agentgres.agents a SET last_heartbeat_at = beat WHERE a.name = heartbeat.agent;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agent "%" is not registered', agent USING ERRCODE = 'undefined_object',
			HINT = 'Register it first with agentgres.register_agent(name).';
	END IF;
	INSERT INTO agentgres.heartbeats (agent, at, status, details)
	VALUES (heartbeat.agent, beat, coalesce(heartbeat.status, 'ok'), details);
	RETURN beat;
END $$;
COMMENT ON FUNCTION agentgres.heartbeat(text, text, jsonb) IS 'records that a registered agent is alive';


-- Rollups per series: labels become part of the key. Earlier rollups merged
-- series that differed only in labels; they keep the empty label set.
ALTER TABLE agentgres.metrics_rollups ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';
ALTER TABLE agentgres.metrics_rollups DROP CONSTRAINT metrics_rollups_pkey,
	ADD PRIMARY KEY (resolution, name, source, labels, bucket);
COMMENT ON TABLE agentgres.metrics_rollups IS
	'hourly and daily aggregates of performance_metrics per series (source, name, labels), kept after the raw rows expire';

CREATE OR REPLACE FUNCTION agentgres.rollup_metrics() RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	written bigint;
	hourly bigint;
BEGIN
	-- Complete hours and days only (the current hour is still filling up),
	-- recomputed from the raw rows still there. A series is (source, name,
	-- labels): samples that differ only in their labels stay apart.
	INSERT INTO agentgres.metrics_rollups AS r (resolution, bucket, source, name, labels, n, sum, min, max)
	SELECT 'hour', date_trunc('hour', at), source, name, coalesce(labels, '{}'), count(*), sum(value), min(value),
	       max(value)
	FROM agentgres.performance_metrics WHERE at < date_trunc('hour', now())
	GROUP BY 2, 3, 4, 5
	ON CONFLICT (resolution, name, source, labels, bucket) DO UPDATE
		SET n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max;
	GET DIAGNOSTICS hourly = ROW_COUNT;
	INSERT INTO agentgres.metrics_rollups AS r (resolution, bucket, source, name, labels, n, sum, min, max)
	SELECT 'day', date_trunc('day', bucket), source, name, labels, sum(n), sum(sum), min(min), max(max)
	FROM agentgres.metrics_rollups WHERE resolution = 'hour' AND bucket < date_trunc('day', now())
	GROUP BY 2, 3, 4, 5
	ON CONFLICT (resolution, name, source, labels, bucket) DO UPDATE
		SET n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max;
	GET DIAGNOSTICS written = ROW_COUNT;
	RETURN hourly + written;
END $$;
COMMENT ON FUNCTION agentgres.rollup_metrics() IS
	'folds raw metrics of complete hours and days into rollups per series (source, name, labels); returns rows written';


CREATE FUNCTION agentgres.stale_agents(stale_after interval DEFAULT '2 minutes')
RETURNS TABLE (name text, last_seen_at timestamptz, silent_for interval)
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.name, s.last_seen_at, now() - s.last_seen_at
	FROM agentgres.agents a
	CROSS JOIN LATERAL (SELECT coalesce(greatest(a.last_heartbeat_at, a.started_at), a.created_at) AS last_seen_at) s
	WHERE a.status IN ('running', 'degraded') AND s.last_seen_at < now() - stale_after
	ORDER BY a.name
$$;
COMMENT ON FUNCTION agentgres.stale_agents(interval) IS
	'running or degraded agents with no heartbeat (or start) within stale_after';


CREATE OR REPLACE FUNCTION agentgres.system_health(stale_after interval DEFAULT '2 minutes') RETURNS jsonb
LANGUAGE sql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
	WITH a AS (
		SELECT count(*) FILTER (WHERE status = 'running') AS running,
		       count(*) FILTER (WHERE status = 'failed') AS failed,
		       count(*) FILTER (WHERE status = 'degraded') AS degraded,
		       array_agg(name ORDER BY name) FILTER (WHERE status = 'failed') AS failed_names,
		       array_agg(name ORDER BY name) FILTER (WHERE status = 'degraded') AS degraded_names
		FROM agentgres.agents
	), st AS (
		SELECT count(*) AS stale, array_agg(name ORDER BY name) AS stale_names
		FROM agentgres.stale_agents(stale_after)
	), al AS (
		SELECT count(*) AS open,
		       count(*) FILTER (WHERE severity = 'critical' AND rule NOT LIKE 'host.%') AS critical,
		       count(*) FILTER (WHERE rule LIKE 'host.%') AS host,
		       count(*) FILTER (WHERE rule NOT LIKE 'host.%' AND severity <> 'critical') AS other
		FROM agentgres.alerts WHERE status = 'open'
	), j AS (
		SELECT count(*) FILTER (WHERE state = 'queued') AS queued, count(*) FILTER (WHERE state = 'running') AS running,
		       count(*) FILTER (WHERE state = 'dead') AS dead
		FROM agentgres.jobs
	), r AS (
		SELECT array_remove(ARRAY[
			CASE WHEN a.failed > 0 THEN 'failed agents: ' || array_to_string(a.failed_names, ', ') END,
			CASE WHEN st.stale > 0 THEN 'agents without a heartbeat for over ' || round(extract(epoch FROM stale_after)) || ' s: '
			                            || array_to_string(st.stale_names, ', ') END,
			CASE WHEN al.critical > 0 THEN al.critical || ' open critical alert(s)' END,
			CASE WHEN a.degraded > 0 THEN 'degraded agents: ' || array_to_string(a.degraded_names, ', ') END,
			CASE WHEN al.host > 0 THEN al.host || ' open alert(s) about the host' END,
			CASE WHEN al.other > 0 THEN al.other || ' other open alert(s)' END], NULL) AS reasons
		FROM a, st, al
	)
	SELECT jsonb_build_object(
		'status', CASE WHEN a.failed > 0 OR st.stale > 0 OR al.critical > 0 THEN 'failing'
		               WHEN a.degraded > 0 OR al.open > 0 THEN 'warning' ELSE 'ok' END,
		'reasons', to_jsonb(r.reasons),
		'checked_at', now(),
		'stale_after_s', extract(epoch FROM stale_after),
		'agents', jsonb_build_object('running', a.running, 'degraded', a.degraded, 'failed', a.failed, 'stale', st.stale),
		'alerts', jsonb_build_object('open', al.open, 'critical', al.critical, 'host', al.host),
		'jobs', jsonb_build_object('queued', j.queued, 'running', j.running, 'dead', j.dead),
		'database', jsonb_build_object('size_bytes', pg_database_size(current_database()),
		                               'connections', (SELECT count(*) FROM pg_stat_activity
		                                               WHERE datname = current_database())))
	FROM a, st, al, j, r
$$;
COMMENT ON FUNCTION agentgres.system_health(interval) IS
	'ok | warning | failing, the reasons, and the counts behind it: agents, alerts, jobs, database';


CREATE OR REPLACE FUNCTION agentgres.statistics() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT jsonb_build_object(
		'agents', (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM
		           (SELECT status, count(*) AS n FROM agentgres.agents GROUP BY status) s),
		'jobs', (SELECT coalesce(jsonb_object_agg(state, n), '{}') FROM
		         (SELECT state, count(*) AS n FROM agentgres.jobs GROUP BY state) s),
		'alerts', (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM
		           (SELECT status, count(*) AS n FROM agentgres.alerts GROUP BY status) s),
		'heartbeats_last_hour', (SELECT count(*) FROM agentgres.heartbeats WHERE at > now() - interval '1 hour'),
		'events_last_day', (SELECT count(*) FROM agentgres.system_events WHERE at > now() - interval '1 day'),
		'executions', (SELECT count(*) FROM agentgres.executions),
		'metrics_raw', (SELECT count(*) FROM agentgres.performance_metrics))
$$;
COMMENT ON FUNCTION agentgres.statistics() IS 'row counts by state across the shared-state tables';

-- Every SQL function pins search_path, so no object a user planted in a
-- schema on the caller's path runs inside agentgres.
ALTER FUNCTION agentgres.array_to_embedding(integer[], integer, boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION agentgres.array_to_embedding(numeric[], integer, boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION agentgres.learning_mode() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION agentgres.log_event(text, text, text, jsonb) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION agentgres.resolve_alert(text, text) SET search_path = pg_catalog, pg_temp;

-- Error templates that group like a log parser: per message, and clustered
-- across messages (what agent_patterns groups top_error by).
COMMENT ON FUNCTION agentgres.error_template(text) IS
	'error message as a template: tokens with digits, quoted and key= values, paths, URLs, dotted names, '
	'user@host and lists replaced by placeholders';
CREATE FUNCTION agentgres.error_templates(messages text[]) RETURNS text[]
	AS 'MODULE_PATHNAME', 'agentgres_error_templates' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.error_templates(text[]) IS
	'one template per message, grouped across the messages (Drain-style prefix tree, order-independent); '
	'NULL stays NULL';

-- refresh_insights: credits an agent set only against comparable teams that
-- differ by one of its members (stratified, Cochran-Mantel-Haenszel), so a
-- bad pair is no longer reported as its members; grammatical descriptions;
-- concurrent calls serialised.
CREATE OR REPLACE FUNCTION agentgres.refresh_insights(min_support integer DEFAULT 10,
                                                     significance double precision DEFAULT 0.05)
RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1 AS $$
DECLARE
	set_size integer;
	team_cells jsonb;
	candidate_sets jsonb;
	tested jsonb;
	-- sets already attributed an effect (on success, on duration), largest first
	success_found jsonb := '[]';
	slow_found jsonb := '[]';
	written integer;
BEGIN
	IF min_support IS NULL OR min_support < 1 THEN
		RAISE EXCEPTION 'min_support must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF significance IS NULL OR NOT (significance > 0 AND significance < 1) THEN
		RAISE EXCEPTION 'significance must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- The table is replaced as a whole: at repeatable read or serializable a
	-- concurrent refresh's rows would stay invisible to the DELETE below and
	-- survive next to ours.
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'refresh_insights() must run at read committed isolation, not %',
			current_setting('transaction_isolation')
			USING ERRCODE = 'invalid_transaction_state',
			HINT = 'Call it in its own transaction or after SET TRANSACTION ISOLATION LEVEL READ COMMITTED.';
	END IF;
	-- One refresh at a time (key: "agentgres" "insights"). A second call
	-- waits here; its DELETE then sees and replaces the first call's rows.
	PERFORM pg_advisory_xact_lock(1634166116, 1768846196);

	-- Executions by task type, team (as a set) and complexity tercile, and the
	-- candidate sets: both small, computed once for the loop below.
	WITH cuts AS (
		SELECT e.task_type,
		       percentile_cont(1.0 / 3) WITHIN GROUP (ORDER BY e.complexity) AS low,
		       percentile_cont(2.0 / 3) WITHIN GROUP (ORDER BY e.complexity) AS high
		FROM agentgres.executions e WHERE e.complexity IS NOT NULL GROUP BY e.task_type
	), cells AS (
		SELECT e.task_type, t.team,
		       CASE WHEN e.complexity IS NULL THEN 0 WHEN e.complexity <= c.low THEN 1
		            WHEN e.complexity <= c.high THEN 2 ELSE 3 END AS band,
		       count(*) AS n, count(*) FILTER (WHERE e.success) AS successes,
		       sum(ln(greatest(e.duration_s, 1e-3))) AS sum_log, sum(ln(greatest(e.duration_s, 1e-3)) ^ 2) AS sum_log2,
		       sum(e.duration_s) AS sum_duration
		FROM agentgres.executions e
		CROSS JOIN LATERAL (SELECT ARRAY(SELECT a FROM unnest(e.agents) AS a GROUP BY a ORDER BY a COLLATE "C")
		                    AS team) t
		LEFT JOIN cuts c ON c.task_type = e.task_type
		GROUP BY 1, 2, 3
	)
	SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]') INTO team_cells FROM cells c;
	SELECT coalesce(jsonb_agg(to_jsonb(p)), '[]') INTO candidate_sets
	FROM (SELECT p.task_type, p.agents, p.n, p.success_rate, p.mean_duration_s, p.p95_duration_s, p.top_error,
	             p.top_error_count, count(*) OVER (PARTITION BY p.task_type) AS family
	      FROM agentgres.agent_patterns(min_support, NULL, 3) p
	      WHERE p.task_type IS NOT NULL) p;

	-- Attribution. An agent set S is credited with an effect only if it holds
	-- in matched comparisons: for every member a of S, executions of teams
	-- containing S against executions of the same teams without a (the same
	-- other agents, the same complexity tercile), pooled over those strata
	-- (Cochran-Mantel-Haenszel for success, a stratified mean difference of
	-- log seconds for duration). For |S| >= 2 every member's effect must also
	-- be significantly stronger inside S than where a joins teams lacking the
	-- rest of S (Mantel-Haenszel log odds ratios, or log-duration differences,
	-- compared): otherwise S is only the sum of its parts. Sets are tested
	-- largest first, and comparisons where a completes a larger set already
	-- credited are left out, so that {deployer} is judged only where adding it
	-- does not complete {coder, deployer}. A set's p-value is the largest of
	-- its members' (intersection-union test); it is reported when that p-value
	-- times the number of sets tested for the task type (Bonferroni) is below
	-- significance.
	FOR set_size IN REVERSE 3..1 LOOP
		WITH cells AS (
			SELECT * FROM jsonb_to_recordset(team_cells)
				AS c(task_type text, team text[], band integer, n double precision, successes double precision,
				     sum_log double precision, sum_log2 double precision, sum_duration double precision)
		), spread AS (
			-- pooled variance of log seconds within cells
			SELECT task_type, sum(greatest(sum_log2 - sum_log ^ 2 / n, 0)) / nullif(sum(n) - count(*), 0) AS var_log
			FROM cells GROUP BY task_type
		), patterns AS (
			SELECT * FROM jsonb_to_recordset(candidate_sets)
				AS p(task_type text, agents text[], n bigint, success_rate double precision,
				     mean_duration_s double precision, p95_duration_s double precision, top_error text,
				     top_error_count bigint, family bigint)
		), dropped AS MATERIALIZED (
			SELECT c.*, m.agent, array_remove(c.team, m.agent) AS rest
			FROM cells c CROSS JOIN LATERAL unnest(c.team) AS m(agent)
		), matched AS MATERIALIZED (
			-- every team against the same team without one of its agents, in the same tercile
			SELECT w.task_type, w.agent, w.team, w.n AS n1, w.successes AS s1, w.sum_log AS l1, w.sum_duration AS d1,
			       o.n AS n0, o.successes AS s0, o.sum_log AS l0, o.sum_duration AS d0
			FROM dropped w JOIN cells o ON o.task_type = w.task_type AND o.band = w.band AND o.team = w.rest
		), strata AS (
			-- for each member a of each set S: the matched comparisons that add a
			SELECT s.task_type, s.agents, x.agent, x.team @> s.agents AS inside,
			       x.n1, x.s1, x.l1, x.d1, x.n0, x.s0, x.l0, x.d0,
			       EXISTS (SELECT FROM jsonb_to_recordset(success_found) AS f(task_type text, agents text[])
			               WHERE f.task_type = s.task_type AND x.agent = ANY (f.agents) AND x.team @> f.agents)
			           AS success_explained,
			       EXISTS (SELECT FROM jsonb_to_recordset(slow_found) AS f(task_type text, agents text[])
			               WHERE f.task_type = s.task_type AND x.agent = ANY (f.agents) AND x.team @> f.agents)
			           AS slow_explained
			FROM patterns s
			CROSS JOIN LATERAL unnest(s.agents) AS m(agent)
			JOIN matched x ON x.task_type = s.task_type AND x.agent = m.agent
			WHERE cardinality(s.agents) = set_size
		), success_terms AS (
			SELECT st.task_type, st.agents, st.agent, st.inside, st.n1, st.s1, st.n0, st.s0,
			       st.n1 + st.n0 AS total, st.s1 + st.s0 AS wins,
			       st.n1 - st.s1 AS f1, st.n0 - st.s0 AS f0
			FROM strata st WHERE NOT st.success_explained
		), success_groups AS (
			-- Cochran-Mantel-Haenszel score and Mantel-Haenszel odds ratio with
			-- the Robins-Breslow-Greenland variance; 0.5 added to every cell
			-- when a sum is zero
			SELECT task_type, agents, agent, inside,
			       sum(n1) AS n_with, sum(s1) AS s_with, sum(n1 * s0 / n0) / sum(n1) AS rate_without,
			       sum(n0) AS n_without,
			       sum(s1 - n1 * wins / total) AS o_minus_e,
			       sum(CASE WHEN total > 1 THEN n1 * n0 * wins * (total - wins) / (total * total * (total - 1))
			                ELSE 0 END) AS v,
			       sum(s1 * f0 / total) AS r, sum(f1 * s0 / total) AS s,
			       sum((s1 + f0) / total * s1 * f0 / total) AS pr,
			       sum((s1 + f0) / total * f1 * s0 / total + (f1 + s0) / total * s1 * f0 / total) AS ps_qr,
			       sum((f1 + s0) / total * f1 * s0 / total) AS qs,
			       sum((s1 + .5) * (f0 + .5) / (total + 2)) AS r_c, sum((f1 + .5) * (s0 + .5) / (total + 2)) AS s_c,
			       sum((s1 + f0 + 1) / (total + 2) * (s1 + .5) * (f0 + .5) / (total + 2)) AS pr_c,
			       sum((s1 + f0 + 1) / (total + 2) * (f1 + .5) * (s0 + .5) / (total + 2)
			           + (f1 + s0 + 1) / (total + 2) * (s1 + .5) * (f0 + .5) / (total + 2)) AS ps_qr_c,
			       sum((f1 + s0 + 1) / (total + 2) * (f1 + .5) * (s0 + .5) / (total + 2)) AS qs_c
			FROM success_terms GROUP BY task_type, agents, agent, inside
		), success_odds AS (
			SELECT g.*,
			       CASE WHEN g.r > 0 AND g.s > 0 THEN ln(g.r / g.s) ELSE ln(g.r_c / g.s_c) END AS log_or,
			       CASE WHEN g.r > 0 AND g.s > 0
			            THEN g.pr / (2 * g.r ^ 2) + g.ps_qr / (2 * g.r * g.s) + g.qs / (2 * g.s ^ 2)
			            ELSE g.pr_c / (2 * g.r_c ^ 2) + g.ps_qr_c / (2 * g.r_c * g.s_c) + g.qs_c / (2 * g.s_c ^ 2)
			       END AS var_log_or
			FROM success_groups g
		), success_members AS (
			SELECT i.task_type, i.agents, i.agent, i.n_with::bigint, i.s_with / i.n_with AS rate_with, i.rate_without,
			       i.n_without::bigint, i.log_or, sqrt(i.var_log_or) AS se_log_or,
			       i.o_minus_e / sqrt(i.v) AS z, x.z AS interaction_z,
			       o.log_or AS log_or_elsewhere, o.n_with::bigint AS n_elsewhere
			FROM success_odds i
			LEFT JOIN success_odds o ON o.task_type = i.task_type AND o.agents = i.agents AND o.agent = i.agent
			                         AND NOT o.inside
			CROSS JOIN LATERAL (SELECT (i.log_or - o.log_or) / sqrt(i.var_log_or + o.var_log_or) AS z) x
			WHERE i.inside AND i.v > 0 AND i.n_with >= min_support
		), success_tested AS (
			SELECT m.*, CASE WHEN set_size = 1 THEN 2 * agentgres.normal_cdf(-abs(m.z))
			                 WHEN sign(m.interaction_z) = sign(m.z)
			                 THEN 2 * agentgres.normal_cdf(-least(abs(m.z), abs(m.interaction_z)))
			                 ELSE 1 END AS p_value
			FROM success_members m
		), success_sets AS (
			SELECT p.task_type, p.agents, p.family, p.n, p.success_rate, p.top_error, p.top_error_count,
			       min(sign(t.z)) = max(sign(t.z)) AND count(t.*) = set_size AS agree,
			       max(t.p_value) AS p_value,
			       (array_agg(to_jsonb(t) - 'task_type' - 'agents' ORDER BY t.p_value DESC, abs(t.z), t.agent))[1]
			           AS decisive,
			       jsonb_agg(to_jsonb(t) - 'task_type' - 'agents' ORDER BY t.agent) AS members
			FROM patterns p JOIN success_tested t ON t.task_type = p.task_type AND t.agents = p.agents
			GROUP BY p.task_type, p.agents, p.family, p.n, p.success_rate, p.top_error, p.top_error_count
		), slow_groups AS (
			-- mean difference of log seconds, weighted n1 n0 / (n1 + n0) per stratum
			SELECT st.task_type, st.agents, st.agent, st.inside,
			       sum(st.n1) AS n_with, sum(st.d1) / sum(st.n1) AS mean_with,
			       sum(st.n1 * st.d0 / st.n0) / sum(st.n1) AS mean_without, sum(st.n0) AS n_without,
			       sum(st.n1 * st.n0 / (st.n1 + st.n0) * (st.l1 / st.n1 - st.l0 / st.n0))
			           / sum(st.n1 * st.n0 / (st.n1 + st.n0)) AS log_ratio,
			       sum(st.n1 * st.n0 / (st.n1 + st.n0)) AS weight
			FROM strata st WHERE NOT st.slow_explained
			GROUP BY st.task_type, st.agents, st.agent, st.inside
		), slow_members AS (
			SELECT i.task_type, i.agents, i.agent, i.n_with::bigint, i.mean_with, i.mean_without, i.n_without::bigint,
			       i.mean_with / nullif(i.mean_without, 0) AS ratio, i.log_ratio,
			       i.log_ratio / sqrt(sp.var_log / i.weight) AS z,
			       (i.log_ratio - o.log_ratio) / sqrt(sp.var_log / i.weight + sp.var_log / o.weight) AS interaction_z,
			       o.log_ratio AS log_ratio_elsewhere, o.n_with::bigint AS n_elsewhere
			FROM slow_groups i JOIN spread sp ON sp.task_type = i.task_type AND sp.var_log > 0
			LEFT JOIN slow_groups o ON o.task_type = i.task_type AND o.agents = i.agents AND o.agent = i.agent
			                        AND NOT o.inside
			WHERE i.inside AND i.n_with >= min_support
		), slow_tested AS (
			SELECT m.*, CASE WHEN m.z > 0 AND m.ratio >= 1.5 AND (set_size = 1 OR m.interaction_z > 0)
			                 THEN 2 * agentgres.normal_cdf(-least(m.z, coalesce(m.interaction_z, m.z)))
			                 ELSE 1 END AS p_value
			FROM slow_members m
		), slow_sets AS (
			SELECT p.task_type, p.agents, p.family, p.n, p.mean_duration_s, p.p95_duration_s,
			       count(t.*) = set_size AS agree, max(t.p_value) AS p_value,
			       (array_agg(to_jsonb(t) - 'task_type' - 'agents' ORDER BY t.p_value DESC, t.z, t.agent))[1]
			           AS decisive,
			       jsonb_agg(to_jsonb(t) - 'task_type' - 'agents' ORDER BY t.agent) AS members
			FROM patterns p JOIN slow_tested t ON t.task_type = p.task_type AND t.agents = p.agents
			GROUP BY p.task_type, p.agents, p.family, p.n, p.mean_duration_s, p.p95_duration_s
		), credited AS (
			SELECT 'success' AS effect, s.task_type, s.agents, s.family, s.n, s.success_rate, s.top_error,
			       s.top_error_count, NULL::double precision AS mean_duration_s, NULL::double precision AS p95_duration_s,
			       s.p_value, least(1, s.p_value * s.family) AS p_adjusted, s.decisive, s.members
			FROM success_sets s WHERE s.agree AND s.p_value * s.family < significance
			UNION ALL
			SELECT 'duration', s.task_type, s.agents, s.family, s.n, NULL, NULL, NULL, s.mean_duration_s,
			       s.p95_duration_s, s.p_value, least(1, s.p_value * s.family), s.decisive, s.members
			FROM slow_sets s WHERE s.agree AND s.p_value * s.family < significance
		)
		SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]') INTO tested FROM credited c;

		success_found := success_found || coalesce((SELECT jsonb_agg(t) FROM jsonb_array_elements(tested) AS t
		                                            WHERE t ->> 'effect' = 'success'), '[]');
		slow_found := slow_found || coalesce((SELECT jsonb_agg(t) FROM jsonb_array_elements(tested) AS t
		                                      WHERE t ->> 'effect' = 'duration'), '[]');
	END LOOP;

	DELETE FROM agentgres.insights;
	INSERT INTO agentgres.insights (kind, task_type, agents, confidence, description, data)
	SELECT CASE WHEN (f.decisive ->> 'z')::double precision > 0 THEN 'best_combo' ELSE 'avoid_pattern' END,
	       f.task_type, f.agents, 1 - f.p_adjusted,
	       format('%s %s %s%% of the time at %s (n=%s) against %s%% for comparable teams %s%s',
	              array_to_string(f.agents, ' + '),
	              CASE WHEN (f.decisive ->> 'z')::double precision > 0
	                   THEN CASE cardinality(f.agents) WHEN 1 THEN 'succeeds' ELSE 'succeed' END
	                   ELSE CASE cardinality(f.agents) WHEN 1 THEN 'fails' ELSE 'fail' END END,
	              round(100 * CASE WHEN (f.decisive ->> 'z')::double precision > 0
	                               THEN (f.decisive ->> 'rate_with')::double precision
	                               ELSE 1 - (f.decisive ->> 'rate_with')::double precision END),
	              f.task_type, f.decisive ->> 'n_with',
	              round(100 * CASE WHEN (f.decisive ->> 'z')::double precision > 0
	                               THEN (f.decisive ->> 'rate_without')::double precision
	                               ELSE 1 - (f.decisive ->> 'rate_without')::double precision END),
	              CASE cardinality(f.agents) WHEN 1 THEN 'without it' ELSE 'missing one of them' END,
	              CASE WHEN (f.decisive ->> 'z')::double precision < 0 AND f.top_error IS NOT NULL
	                   THEN format('; most often: %s', f.top_error) ELSE '' END),
	       jsonb_build_object('n', f.n, 'success_rate', f.success_rate,
	                          'n_matched', (f.decisive ->> 'n_with')::bigint,
	                          'matched_success_rate', f.decisive -> 'rate_with',
	                          'comparable_success_rate', f.decisive -> 'rate_without',
	                          'without', f.decisive ->> 'agent', 'z', f.decisive -> 'z',
	                          'p_value', f.p_value, 'p_adjusted', f.p_adjusted, 'sets_tested', f.family,
	                          'members', f.members)
	       || CASE WHEN (f.decisive ->> 'z')::double precision < 0
	               THEN jsonb_build_object('top_error', f.top_error, 'top_error_count', f.top_error_count)
	               ELSE '{}' END
	FROM jsonb_to_recordset(success_found) AS f(task_type text, agents text[], family bigint, n bigint,
	                                            success_rate double precision, top_error text, top_error_count bigint,
	                                            p_value double precision, p_adjusted double precision, decisive jsonb,
	                                            members jsonb)
	-- an agent that helps on its own is no combination
	WHERE (f.decisive ->> 'z')::double precision < 0 OR cardinality(f.agents) >= 2
	UNION ALL
	SELECT 'slow_pattern', f.task_type, f.agents, 1 - f.p_adjusted,
	       format('teams with %s take %s s on average at %s (n=%s), %sx the %s s of comparable teams %s',
	              array_to_string(f.agents, ' + '), round((f.decisive ->> 'mean_with')::numeric, 1), f.task_type,
	              f.decisive ->> 'n_with', round((f.decisive ->> 'ratio')::numeric, 1),
	              round((f.decisive ->> 'mean_without')::numeric, 1),
	              CASE cardinality(f.agents) WHEN 1 THEN 'without it' ELSE 'missing one of them' END),
	       jsonb_build_object('n', f.n, 'mean_duration_s', f.mean_duration_s, 'p95_duration_s', f.p95_duration_s,
	                          'n_matched', (f.decisive ->> 'n_with')::bigint,
	                          'matched_mean_duration_s', f.decisive -> 'mean_with',
	                          'comparable_mean_duration_s', f.decisive -> 'mean_without',
	                          'ratio', f.decisive -> 'ratio', 'without', f.decisive ->> 'agent',
	                          'z', f.decisive -> 'z', 'p_value', f.p_value, 'p_adjusted', f.p_adjusted,
	                          'sets_tested', f.family, 'members', f.members)
	FROM jsonb_to_recordset(slow_found) AS f(task_type text, agents text[], family bigint, n bigint,
	                                         mean_duration_s double precision, p95_duration_s double precision,
	                                         p_value double precision, p_adjusted double precision, decisive jsonb,
	                                         members jsonb);

	SELECT count(*) INTO written FROM agentgres.insights;
	RETURN written;
END $$;
COMMENT ON FUNCTION agentgres.refresh_insights(integer, double precision) IS
	'replaces agentgres.insights with best_combo, avoid_pattern and slow_pattern insights: agent sets whose effect holds '
	'against comparable teams that differ only by one of their members; confidence is 1 minus the Bonferroni-adjusted '
	'p-value';

-- The job queue: workers renew their lease while a job runs (renew_lease, a
-- heartbeat; false once the job was lost to a requeue, a cancel or another
-- worker); the failure backoff caps its exponent before it multiplies, so
-- fail_job works at any attempt count; enqueue checks the payloads of the
-- kinds agentgresd runs.
CREATE OR REPLACE FUNCTION agentgres.enqueue(kind text, payload jsonb, priority integer DEFAULT 3, run_at timestamptz DEFAULT now(),
                                  max_attempts integer DEFAULT 3)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	job_id bigint;
	takes text[];
	unknown text;
BEGIN
	IF kind IS NULL OR kind = '' THEN
		RAISE EXCEPTION 'job kind must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF priority IS NULL OR priority NOT BETWEEN 1 AND 5 THEN
		RAISE EXCEPTION 'job priority must be between 1 (first) and 5 (last), not %', priority
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'max_attempts must be between 1 and 100' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	payload := coalesce(payload, '{}');
	-- The kinds agentgresd runs (Handlers() in sidecar/agents/worker.cpp; noop
	-- takes anything): a payload its handler would misread fails here, at
	-- enqueue, rather than being ignored in the daemon.
	takes := CASE kind WHEN 'sleep' THEN ARRAY['ms'] WHEN 'fail' THEN ARRAY['error'] WHEN 'learning.train' THEN
	                   ARRAY['model'] WHEN 'learning.refresh_insights' THEN '{}' WHEN 'metrics.rollup' THEN '{}' END;
	IF takes IS NOT NULL THEN
		IF jsonb_typeof(payload) <> 'object' THEN
			RAISE EXCEPTION 'the payload of a % job must be a JSON object, not %', kind, jsonb_typeof(payload)
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		SELECT k INTO unknown FROM jsonb_object_keys(payload) AS k WHERE k <> ALL (takes) ORDER BY k LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'a % job takes no payload key "%"', kind, unknown USING ERRCODE = 'invalid_parameter_value',
				HINT = CASE WHEN cardinality(takes) = 0 THEN format('A %s job takes an empty payload.', kind)
				            ELSE format('A %s job takes: %s.', kind, array_to_string(takes, ', ')) END;
		END IF;
		IF kind = 'sleep' AND payload ? 'ms' AND (jsonb_typeof(payload -> 'ms') <> 'number'
		                                          OR (payload ->> 'ms')::numeric NOT BETWEEN 0 AND 86400000) THEN
			RAISE EXCEPTION 'payload key "ms" of a sleep job must be a number of milliseconds from 0 to 86400000'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'fail' AND payload ? 'error' AND jsonb_typeof(payload -> 'error') <> 'string' THEN
			RAISE EXCEPTION 'payload key "error" of a fail job must be a string' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'learning.train' AND payload ? 'model'
		   AND (jsonb_typeof(payload -> 'model') <> 'string' OR payload ->> 'model' = '') THEN
			RAISE EXCEPTION 'payload key "model" of a learning.train job must be a non-empty string'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	INSERT INTO agentgres.jobs (kind, payload, priority, run_at, max_attempts)
	VALUES (kind, payload, priority, coalesce(run_at, now()), max_attempts)
	RETURNING id INTO job_id;
	-- Workers LISTEN on agentgres_jobs and wake at once (delivered at commit).
	PERFORM pg_notify('agentgres_jobs', kind);
	RETURN job_id;
END $$;

CREATE OR REPLACE FUNCTION agentgres.fail_job(id bigint, worker text, error text, retry boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	new_state text;
BEGIN
	-- Exponential backoff: 10 s, 20 s, 40 s, ... capped at one hour.
	UPDATE agentgres.jobs j
	SET state = CASE WHEN retry AND j.attempts < j.max_attempts THEN 'queued' ELSE 'dead' END,
	    -- The exponent is capped first (10 s x 2^9 is over the hour already), so
	    -- no attempt count overflows the interval.
	    run_at = now() + least(interval '1 hour', interval '10 seconds' * power(2, least(greatest(j.attempts - 1, 0), 9))),
	    last_error = fail_job.error, locked_by = NULL, lease_until = NULL,
	    finished_at = CASE WHEN retry AND j.attempts < j.max_attempts THEN NULL ELSE now() END
	WHERE j.id = fail_job.id AND j.state = 'running' AND j.locked_by = worker
	RETURNING j.state INTO new_state;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job % is not running under worker "%"', id, worker
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN new_state;
END $$;

CREATE FUNCTION agentgres.renew_lease(id bigint, worker text, lease interval DEFAULT '5 minutes') RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF worker IS NULL OR worker = '' THEN
		RAISE EXCEPTION 'worker name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lease IS NULL OR lease < interval '1 second' THEN
		RAISE EXCEPTION 'lease must be at least one second' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Still this worker's while it runs under its name, even just after the
	-- lease ran out if nobody has requeued it yet. Cancelled, requeued or
	-- claimed by another worker: the lease is lost.
	UPDATE agentgres.jobs j SET lease_until = now() + renew_lease.lease
	WHERE j.id = renew_lease.id AND j.state = 'running' AND j.locked_by = renew_lease.worker;
	RETURN FOUND;
END $$;
COMMENT ON FUNCTION agentgres.renew_lease(bigint, text, interval) IS
	'extends the lease of a running job by lease from now (a worker heartbeat); false when the worker lost the job';

-- Numeric inputs bounded to meaningful ranges (record_execution and
-- begin_task above and here; predict_success, estimate_duration and
-- recommend_agents in C). The table checks match for new rows; rows an older
-- version accepted beyond them stay (training clamps them), so the
-- constraints are validated only when every existing row satisfies them.
ALTER TABLE agentgres.executions DROP CONSTRAINT executions_complexity_check,
	ADD CONSTRAINT executions_complexity_check CHECK (complexity >= -1e6 AND complexity <= 1e6) NOT VALID,
	DROP CONSTRAINT executions_duration_s_check,
	ADD CONSTRAINT executions_duration_s_check CHECK (duration_s >= 0 AND duration_s <= 1e7) NOT VALID;
DO $$
BEGIN
	ALTER TABLE agentgres.executions VALIDATE CONSTRAINT executions_complexity_check;
	ALTER TABLE agentgres.executions VALIDATE CONSTRAINT executions_duration_s_check;
EXCEPTION WHEN check_violation THEN
	RAISE WARNING 'agentgres.executions holds rows beyond the new complexity or duration_s bounds'
		USING DETAIL = 'The checks apply to new rows only; training clamps the old ones to the bounds.',
		HINT = 'Fix or delete those rows, then VALIDATE CONSTRAINT executions_complexity_check and executions_duration_s_check.';
END $$;

CREATE OR REPLACE FUNCTION agentgres.begin_task(task_type text, complexity double precision DEFAULT NULL,
                                     agents text[] DEFAULT NULL)
RETURNS TABLE (task_id text, assigned_agents text[], recommended_agents text[], p_success double precision)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	mode text := agentgres.learning_mode();
	best record;
	new_id text := gen_random_uuid()::text;
	chosen text[] := begin_task.agents;
	advice text[];
	p double precision;
BEGIN
	IF task_type IS NULL OR task_type = '' THEN
		RAISE EXCEPTION 'task_type must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- The bounds of record_execution, checked now rather than at finish_task.
	IF complexity = 'NaN' OR complexity IN ('Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'complexity must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF abs(complexity) > 1e6 THEN
		RAISE EXCEPTION 'complexity is out of range: %', complexity USING ERRCODE = 'numeric_value_out_of_range',
			HINT = 'Complexity must be between -1000000 and 1000000.';
	END IF;
	IF chosen IS NULL AND mode IN ('recommend', 'adapt') THEN
		SELECT r.agents, r.p_success INTO best
		FROM agentgres.recommend_agents(begin_task.task_type, begin_task.complexity, 1) AS r;
		IF FOUND THEN
			advice := best.agents;
			p := best.p_success;
			IF mode = 'adapt' THEN
				chosen := best.agents;
			END IF;
		END IF;
	END IF;
	INSERT INTO agentgres.tasks (task_id, task_type, complexity, agents, recommended_agents)
	VALUES (new_id, begin_task.task_type, begin_task.complexity, chosen, advice);
	RETURN QUERY SELECT new_id, chosen, advice, p;
END $$;

-- agent_patterns stays inlinable (no SET search_path), so its one unqualified
-- operator is qualified: a search_path with public before pg_catalog must
-- not reach it.
CREATE OR REPLACE FUNCTION agentgres.agent_patterns(min_support integer DEFAULT 5, since timestamptz DEFAULT NULL,
                                                    max_size integer DEFAULT 3)
	RETURNS TABLE (task_type text, agents text[], n bigint, successes bigint, success_rate double precision,
	               wilson_low double precision, wilson_high double precision, mean_duration_s double precision,
	               p95_duration_s double precision, top_error text, top_error_count bigint)
-- No SET search_path, so that the planner can inline it: the body is parsed
-- with the caller's search_path, which a database owner controls (ALTER
-- DATABASE ... SET search_path = public, pg_catalog), so every function,
-- table and operator in it is schema-qualified.
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT p.*
	FROM agentgres.pattern_rows(
		(SELECT agentgres.pattern_summary(e.task_type, e.agents, e.success, e.duration_s, e.error, max_size)
		 FROM agentgres.executions e
		 WHERE since IS NULL OR e.created_at OPERATOR(pg_catalog.>=) since),
		min_support, max_size) AS p
$$;

-- Loops identified by daemon instance (issue 8, item 11): a second agentgresd
-- on the same database keeps its own loop records instead of overwriting the
-- first one's; the agent's row shows its instances combined, and staleness
-- is judged per instance.

-- Each daemon instance's record of the loops it runs. Several agentgresd may
-- run the same loops on one database (on other hosts, or other addresses of
-- one host); each keeps its own status, pid and heartbeat here, and the
-- agent's row in agents shows them combined (set_loop_status).
CREATE TABLE agentgres.agent_instances (
	agent text NOT NULL REFERENCES agentgres.agents (name) ON DELETE CASCADE,
	instance text NOT NULL CHECK (instance <> ''),
	status text NOT NULL
		CHECK (status IN ('registered', 'starting', 'running', 'degraded', 'stopping', 'stopped', 'failed')),
	host text,
	pid integer,
	restarts integer NOT NULL DEFAULT 0,
	last_error text,
	last_heartbeat_at timestamptz,
	started_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (agent, instance)
);
COMMENT ON TABLE agentgres.agent_instances IS
	'each daemon instance''s view of the loops it runs: status, process and heartbeat per (agent, instance)';
SELECT pg_catalog.pg_extension_config_dump('agentgres.agent_instances', '');

CREATE FUNCTION agentgres.set_loop_status(instance text, name text, status text, error text DEFAULT NULL,
                                          host text DEFAULT NULL, pid integer DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	previous text;
	combined agentgres.agent_instances;
	restarted integer;
BEGIN
	IF instance IS NULL OR instance = '' THEN
		RAISE EXCEPTION 'daemon instance must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status IS NULL OR status NOT IN ('registered', 'starting', 'running', 'degraded', 'stopping', 'stopped', 'failed') THEN
		RAISE EXCEPTION 'unrecognized agent status "%"', status USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use registered, starting, running, degraded, stopping, stopped or failed.';
	END IF;
	-- The agent's row first: it serialises the transitions of all its instances.
	PERFORM FROM agentgres.agents a WHERE a.name = set_loop_status.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agent "%" does not exist', name USING ERRCODE = 'undefined_object';
	END IF;
	SELECT i.status INTO previous FROM agentgres.agent_instances i
	WHERE i.agent = set_loop_status.name AND i.instance = set_loop_status.instance;
	IF NOT FOUND THEN
		INSERT INTO agentgres.agent_instances (agent, instance, status)
		VALUES (set_loop_status.name, set_loop_status.instance, 'registered');
	END IF;
	restarted := CASE WHEN previous IN ('failed', 'degraded') AND status = 'starting' THEN 1 ELSE 0 END;
	UPDATE agentgres.agent_instances i SET status = set_loop_status.status, updated_at = now(),
		last_error = CASE WHEN set_loop_status.status IN ('failed', 'degraded') THEN error ELSE i.last_error END,
		restarts = i.restarts + restarted,
		started_at = CASE WHEN set_loop_status.status = 'running' AND previous IS DISTINCT FROM 'running'
		                  THEN now() ELSE i.started_at END,
		host = coalesce(set_loop_status.host, i.host), pid = coalesce(set_loop_status.pid, i.pid)
	WHERE i.agent = set_loop_status.name AND i.instance = set_loop_status.instance;
	-- The agent as a whole: its worst instance (failed, degraded), else the
	-- liveliest (running, starting, stopping), else stopped.
	SELECT * INTO combined FROM agentgres.agent_instances i WHERE i.agent = set_loop_status.name
	ORDER BY array_position(ARRAY['failed', 'degraded', 'running', 'starting', 'stopping', 'registered', 'stopped'],
	                        i.status), i.updated_at DESC
	LIMIT 1;
	UPDATE agentgres.agents a SET status = combined.status, updated_at = now(),
		last_error = CASE WHEN combined.status IN ('failed', 'degraded') THEN combined.last_error ELSE a.last_error END,
		restarts = a.restarts + restarted,
		started_at = CASE WHEN combined.status = 'running' AND a.status <> 'running' THEN now() ELSE a.started_at END,
		host = combined.host, pid = combined.pid
	WHERE a.name = set_loop_status.name;
	IF previous IS DISTINCT FROM status THEN
		PERFORM agentgres.log_event('agent_status', format('agent %s on %s: %s -> %s', name, instance, previous, status),
		                            name, jsonb_build_object('instance', instance, 'from', previous, 'to', status,
		                                                     'error', error));
	END IF;
	RETURN previous;
END $$;
COMMENT ON FUNCTION agentgres.set_loop_status(text, text, text, text, text, integer) IS
	'records a daemon instance''s loop transition in agent_instances and the combined status in agents; returns the instance''s previous status';

CREATE FUNCTION agentgres.loop_heartbeat(instance text, agent text, details jsonb DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	beat timestamptz;
BEGIN
	-- The agent's row before the instance's, the order set_loop_status takes
	-- them in: the other order deadlocks with a loop recording its status.
	beat := agentgres.heartbeat(agent, 'ok', details);
	UPDATE agentgres.agent_instances i SET last_heartbeat_at = now()
	WHERE i.agent = loop_heartbeat.agent AND i.instance = loop_heartbeat.instance;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agent "%" has no instance "%"', agent, instance USING ERRCODE = 'undefined_object',
			HINT = 'Record its status first with agentgres.set_loop_status(instance, agent, status).';
	END IF;
	RETURN beat;
END $$;
COMMENT ON FUNCTION agentgres.loop_heartbeat(text, text, jsonb) IS
	'records that a daemon instance''s loop is alive (its instance row and the agent''s heartbeat)';

-- One definition of stale, used by system_health() and by agentgresd's
-- stale-heartbeat alerts: an agent that should be alive (running or degraded)
-- and has shown no sign of life (a heartbeat, or else its start) for longer
-- than stale_after. A loop that has just started is therefore not stale. A
-- daemon's loops are judged per instance (agent_instances), named
-- "<agent> on <instance>": one live daemon does not hide a dead one.
CREATE OR REPLACE FUNCTION agentgres.stale_agents(stale_after interval DEFAULT '2 minutes')
RETURNS TABLE (name text, last_seen_at timestamptz, silent_for interval)
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT s.name, s.last_seen_at, now() - s.last_seen_at
	FROM (SELECT a.name, coalesce(greatest(a.last_heartbeat_at, a.started_at), a.created_at) AS last_seen_at
	      FROM agentgres.agents a
	      WHERE a.status IN ('running', 'degraded')
	        AND NOT EXISTS (SELECT FROM agentgres.agent_instances i WHERE i.agent = a.name)
	      UNION ALL
	      SELECT i.agent || ' on ' || i.instance, coalesce(greatest(i.last_heartbeat_at, i.started_at), i.created_at)
	      FROM agentgres.agent_instances i
	      WHERE i.status IN ('running', 'degraded')) s
	WHERE s.last_seen_at < now() - stale_after
	ORDER BY s.name
$$;

-- pg_dump / restore (issue 8, item 6): an insert into learning_settings
-- replaces the row that is there, so a restore, which loads the dumped row
-- after CREATE EXTENSION inserted the default one, brings back the dumped
-- settings instead of failing on learning_settings_pkey.
CREATE FUNCTION agentgres.learning_settings_replace() RETURNS trigger
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM agentgres.learning_settings s WHERE s.singleton = NEW.singleton;
	RETURN NEW;
END $$;
CREATE TRIGGER learning_settings_replace BEFORE INSERT ON agentgres.learning_settings
	FOR EACH ROW EXECUTE FUNCTION agentgres.learning_settings_replace();

-- Roles and privileges (issue 8, item 12), as in sql/roles.sql. Keep this
-- block last in the script: it grants on every function and table created
-- above.
--
--   agentgres_reader  reads every table and view; read-only functions
--   agentgres_agent   reader + what an application does: record executions,
--                     tasks, agents, heartbeats, events, metrics, jobs
--   agentgres_admin   agent + what agentgresd does: training, insights,
--                     alerts, retention, settings; every function and table
--
-- Roles belong to the cluster, not to the database: they are created once,
-- by the first install (in any database), kept by DROP EXTENSION, and reused
-- by installs in other databases. The extension is not trusted, so a
-- superuser installs it and can always create them. Functions are SECURITY
-- INVOKER: a role needs both EXECUTE on a function and the table privileges
-- its body uses, so the grants below come in pairs.

DO $$
DECLARE
	group_role text;
	existing record;
BEGIN
	FOREACH group_role IN ARRAY ARRAY['agentgres_reader', 'agentgres_agent', 'agentgres_admin'] LOOP
		SELECT r.rolcanlogin, r.rolsuper INTO existing FROM pg_catalog.pg_roles r WHERE r.rolname = group_role;
		IF NOT FOUND THEN
			IF NOT (SELECT r.rolsuper OR r.rolcreaterole FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
				RAISE EXCEPTION 'role "%" does not exist and "%" cannot create it', group_role, current_user
					USING ERRCODE = 'insufficient_privilege',
					      HINT = 'Install the extension as a superuser, or create the roles agentgres_reader, '
					             'agentgres_agent and agentgres_admin (NOLOGIN) first.';
			END IF;
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', group_role);
		ELSIF existing.rolcanlogin OR existing.rolsuper THEN
			-- A role someone created beforehand under this name would receive
			-- the grants below: it must be a plain group role.
			RAISE EXCEPTION 'role "%" exists and is not a NOLOGIN, non-superuser group role', group_role
				USING ERRCODE = 'duplicate_object',
				      HINT = 'Drop or rename that role, or make it NOLOGIN NOSUPERUSER, then install again.';
		END IF;
	END LOOP;
	-- admin includes agent, agent includes reader.
	IF NOT pg_catalog.pg_has_role('agentgres_agent', 'agentgres_reader', 'MEMBER') THEN
		GRANT agentgres_reader TO agentgres_agent;
	END IF;
	IF NOT pg_catalog.pg_has_role('agentgres_admin', 'agentgres_agent', 'MEMBER') THEN
		GRANT agentgres_agent TO agentgres_admin;
	END IF;
END $$;

GRANT USAGE ON SCHEMA agentgres TO agentgres_reader;

-- Tables and views: everyone reads; the application appends and updates what
-- its functions write; the daemon may do everything (retention deletes).
GRANT SELECT ON ALL TABLES IN SCHEMA agentgres TO agentgres_reader;
GRANT INSERT ON agentgres.executions, agentgres.agent_catalog, agentgres.experiments,
	agentgres.experiment_assignments, agentgres.agent_versions, agentgres.heartbeats, agentgres.system_events,
	agentgres.performance_metrics TO agentgres_agent;
GRANT INSERT, UPDATE ON agentgres.tasks, agentgres.agents, agentgres.jobs TO agentgres_agent;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agentgres TO agentgres_admin;

-- Functions. Pure computations (the embedding type, distances, rank fusion,
-- statistics helpers, the simulator's generator, top_k, which checks the
-- caller's privileges on the table it searches) stay executable by PUBLIC.
-- Everything that reads or changes the extension's tables is revoked from
-- PUBLIC and granted to the group that needs it (NULL: the owner's alone),
-- one row per function.
DO $$
DECLARE
	fn record;
BEGIN
	FOR fn IN
		SELECT f.grantee, f.signature::regprocedure AS signature
		FROM (VALUES
			(NULL,                'agentgres.learning_settings_replace()'),
			(NULL,                'agentgres.enable_pgvector_interop()'),
			(NULL,                'agentgres.disable_pgvector_interop()'),
			('agentgres_reader',  'agentgres.learning_mode()'),
			('agentgres_reader',  'agentgres.predict_success(text, text[], double precision, text)'),
			('agentgres_reader',  'agentgres.estimate_duration(text, text[], double precision, text)'),
			('agentgres_reader',  'agentgres.recommend_agents(text, double precision, integer, integer)'),
			('agentgres_reader',  'agentgres.agent_patterns(integer, timestamptz, integer)'),
			('agentgres_reader',  'agentgres.experiment_results(text)'),
			('agentgres_reader',  'agentgres.stale_agents(interval)'),
			('agentgres_reader',  'agentgres.system_health(interval)'),
			('agentgres_reader',  'agentgres.statistics()'),
			('agentgres_agent',   'agentgres.log_event(text, text, text, jsonb)'),
			('agentgres_agent',   'agentgres.register_agent(text, text, jsonb)'),
			('agentgres_agent',   'agentgres.update_agent_config(text, jsonb, text)'),
			('agentgres_agent',   'agentgres.rollback_agent(text, integer)'),
			('agentgres_agent',   'agentgres.set_agent_status(text, text, text, text, integer)'),
			('agentgres_agent',   'agentgres.heartbeat(text, text, jsonb)'),
			('agentgres_agent',   'agentgres.record_metric(text, text, double precision, jsonb)'),
			('agentgres_agent',   'agentgres.record_execution(text, text[], boolean, double precision, double precision, text, integer, jsonb, text)'),
			('agentgres_agent',   'agentgres.begin_task(text, double precision, text[])'),
			('agentgres_agent',   'agentgres.finish_task(text, boolean, text, integer, jsonb, text[])'),
			('agentgres_agent',   'agentgres.assign_variant(text, text)'),
			('agentgres_agent',   'agentgres.enqueue(text, jsonb, integer, timestamptz, integer)'),
			('agentgres_agent',   'agentgres.claim_jobs(text, text[], integer, interval)'),
			('agentgres_agent',   'agentgres.renew_lease(bigint, text, interval)'),
			('agentgres_agent',   'agentgres.complete_job(bigint, text, jsonb)'),
			('agentgres_agent',   'agentgres.fail_job(bigint, text, text, boolean)'),
			('agentgres_agent',   'agentgres.release_job(bigint, text)'),
			('agentgres_agent',   'agentgres.cancel_job(bigint)'),
			('agentgres_admin',   'agentgres.set_learning_mode(text)'),
			('agentgres_admin',   'agentgres.train_success_model(text, integer, double precision)'),
			('agentgres_admin',   'agentgres.refresh_insights(integer, double precision)'),
			('agentgres_admin',   'agentgres.simulate_executions(text, integer, bigint)'),
			('agentgres_admin',   'agentgres.raise_alert(text, text, text, text, jsonb)'),
			('agentgres_admin',   'agentgres.resolve_alert(text, text)'),
			('agentgres_admin',   'agentgres.ack_alert(bigint, text)'),
			('agentgres_admin',   'agentgres.rollup_metrics()'),
			('agentgres_admin',   'agentgres.purge_history(interval)'),
			('agentgres_admin',   'agentgres.set_loop_status(text, text, text, text, text, integer)'),
			('agentgres_admin',   'agentgres.loop_heartbeat(text, text, jsonb)')
		) AS f(grantee, signature)
	LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn.signature);
		IF fn.grantee IS NOT NULL THEN
			EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', fn.signature, fn.grantee);
		END IF;
	END LOOP;
END $$;
