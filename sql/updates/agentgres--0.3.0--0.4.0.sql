-- agentgres 0.3.0 -> 0.4.0: what users hit. satisfaction accepts a plain
-- integer; heartbeat() refuses unregistered agents; metric rollups keep
-- series with different labels apart; one definition of a stale agent
-- (stale_agents) and one meaning of healthy (system_health: ok, warning,
-- failing, with reasons); every SQL function but agent_patterns pins
-- search_path.
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
