-- Health: system_health() and statistics() over the shared state
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql.

-- Health
------------------------------------------------------------------------------

-- One definition of stale, used by system_health() and by agentgresd's
-- stale-heartbeat alerts: an agent that should be alive (running or degraded)
-- and has shown no sign of life (a heartbeat, or else its start) for longer
-- than stale_after. A loop that has just started is therefore not stale. A
-- daemon's loops are judged per instance (agent_instances), named
-- "<agent> on <instance>": one live daemon does not hide a dead one.
CREATE FUNCTION agentgres.stale_agents(stale_after interval DEFAULT '2 minutes')
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
COMMENT ON FUNCTION agentgres.stale_agents(interval) IS
	'running or degraded agents with no heartbeat (or start) within stale_after';

-- One meaning of healthy:
--   failing  agentgres itself does not work: a failed agent, a stale agent,
--            or an open critical alert about agentgres;
--   warning  it works, but something needs a look: a degraded agent, or any
--            other open alert, among them every alert about the host
--            (rules named host.*: a busy CPU is a warning, not a failure);
--   ok       nothing open.
-- reasons says why in short sentences, worst first.
CREATE FUNCTION agentgres.system_health(stale_after interval DEFAULT '2 minutes') RETURNS jsonb
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

CREATE FUNCTION agentgres.statistics() RETURNS jsonb
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
