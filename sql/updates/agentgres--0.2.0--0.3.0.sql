-- agentgres 0.3.0: the shared state the sidecar agentgresd keeps: an agent
-- registry with lifecycle states and config versions, heartbeats, an audit
-- trail, deduplicated alerts, performance metrics with rollups, and a job
-- queue with leases, retries and LISTEN/NOTIFY.
\echo Use "ALTER EXTENSION agentgres UPDATE TO '0.3.0'" to load this file. \quit

------------------------------------------------------------------------------
-- Agent registry
------------------------------------------------------------------------------

CREATE TABLE agentgres.agents (
	name text PRIMARY KEY CHECK (name <> ''),
	kind text NOT NULL DEFAULT 'loop',
	status text NOT NULL DEFAULT 'registered'
		CHECK (status IN ('registered', 'starting', 'running', 'degraded', 'stopping', 'stopped', 'failed')),
	config jsonb NOT NULL DEFAULT '{}',
	version integer NOT NULL DEFAULT 1,
	host text,
	pid integer,
	restarts integer NOT NULL DEFAULT 0,
	last_error text,
	last_heartbeat_at timestamptz,
	started_at timestamptz,
	updated_at timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE agentgres.agents IS 'agents and agent loops, their lifecycle state and current config version';

CREATE TABLE agentgres.agent_versions (
	agent text NOT NULL REFERENCES agentgres.agents (name) ON DELETE CASCADE,
	version integer NOT NULL,
	config jsonb NOT NULL,
	created_by text NOT NULL DEFAULT current_user,
	created_at timestamptz NOT NULL DEFAULT now(),
	note text,
	PRIMARY KEY (agent, version)
);

CREATE TABLE agentgres.heartbeats (
	agent text NOT NULL,
	at timestamptz NOT NULL DEFAULT now(),
	status text NOT NULL DEFAULT 'ok',
	details jsonb
);
CREATE INDEX heartbeats_agent_at ON agentgres.heartbeats (agent, at DESC);
CREATE INDEX heartbeats_at ON agentgres.heartbeats (at);

CREATE TABLE agentgres.system_events (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	actor text NOT NULL DEFAULT current_user,
	agent text,
	kind text NOT NULL,
	message text NOT NULL,
	data jsonb
);
CREATE INDEX system_events_at ON agentgres.system_events (at);
COMMENT ON TABLE agentgres.system_events IS 'audit trail: who did what, when';

CREATE TABLE agentgres.alerts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	rule text NOT NULL,
	subject text NOT NULL DEFAULT '',
	severity text NOT NULL DEFAULT 'warning' CHECK (severity IN ('info', 'warning', 'critical')),
	status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
	message text NOT NULL,
	data jsonb,
	occurrences integer NOT NULL DEFAULT 1,
	opened_at timestamptz NOT NULL DEFAULT now(),
	last_seen_at timestamptz NOT NULL DEFAULT now(),
	acknowledged_at timestamptz,
	acknowledged_by text,
	resolved_at timestamptz
);
-- At most one unresolved alert per rule and subject: raising it again counts.
CREATE UNIQUE INDEX alerts_unresolved ON agentgres.alerts (rule, subject) WHERE status <> 'resolved';

CREATE TABLE agentgres.performance_metrics (
	at timestamptz NOT NULL DEFAULT now(),
	source text NOT NULL,
	name text NOT NULL,
	value double precision NOT NULL CHECK (value = value),
	labels jsonb
);
CREATE INDEX performance_metrics_name_at ON agentgres.performance_metrics (name, at);
CREATE INDEX performance_metrics_at ON agentgres.performance_metrics (at);

CREATE TABLE agentgres.metrics_rollups (
	resolution text NOT NULL CHECK (resolution IN ('hour', 'day')),
	bucket timestamptz NOT NULL,
	source text NOT NULL,
	name text NOT NULL,
	n bigint NOT NULL,
	sum double precision NOT NULL,
	min double precision NOT NULL,
	max double precision NOT NULL,
	PRIMARY KEY (resolution, name, source, bucket)
);
COMMENT ON TABLE agentgres.metrics_rollups IS 'hourly and daily aggregates of performance_metrics, kept after the raw rows expire';

------------------------------------------------------------------------------
-- Jobs
------------------------------------------------------------------------------

CREATE TABLE agentgres.jobs (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL CHECK (kind <> ''),
	payload jsonb NOT NULL DEFAULT '{}',
	priority smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
	state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead', 'cancelled')),
	attempts integer NOT NULL DEFAULT 0,
	max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
	run_at timestamptz NOT NULL DEFAULT now(),
	locked_by text,
	lease_until timestamptz,
	last_error text,
	result jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	finished_at timestamptz
);
CREATE INDEX jobs_ready ON agentgres.jobs (priority, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leases ON agentgres.jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_kind_state ON agentgres.jobs (kind, state);
COMMENT ON TABLE agentgres.jobs IS 'job queue: priority 1 (first) to 5 (last), leases, retries with backoff';

SELECT pg_catalog.pg_extension_config_dump('agentgres.agents', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.agent_versions', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.heartbeats', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.system_events', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.system_events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.alerts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.performance_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.metrics_rollups', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.jobs_id_seq', '');

------------------------------------------------------------------------------
-- Registry functions
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.log_event(kind text, message text, agent text DEFAULT NULL, data jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE AS $$
	INSERT INTO agentgres.system_events (kind, message, agent, data) VALUES (kind, message, agent, data) RETURNING id
$$;
COMMENT ON FUNCTION agentgres.log_event(text, text, text, jsonb) IS 'appends to the audit trail';

CREATE FUNCTION agentgres.register_agent(name text, kind text DEFAULT 'loop', config jsonb DEFAULT '{}')
RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	current agentgres.agents;
BEGIN
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'agent name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF config IS NULL OR jsonb_typeof(config) <> 'object' THEN
		RAISE EXCEPTION 'agent config must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO current FROM agentgres.agents a WHERE a.name = register_agent.name FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO agentgres.agents (name, kind, config) VALUES (register_agent.name, coalesce(kind, 'loop'), config);
		INSERT INTO agentgres.agent_versions (agent, version, config, note) VALUES (register_agent.name, 1, config, 'registered');
		PERFORM agentgres.log_event('agent_registered', format('agent %s registered', register_agent.name), register_agent.name);
		RETURN 1;
	END IF;
	UPDATE agentgres.agents a SET kind = coalesce(register_agent.kind, a.kind), updated_at = now()
	WHERE a.name = register_agent.name;
	IF current.config IS DISTINCT FROM config THEN
		RETURN agentgres.update_agent_config(register_agent.name, config, 'changed at registration');
	END IF;
	RETURN current.version;
END $$;
COMMENT ON FUNCTION agentgres.register_agent(text, text, jsonb) IS
	'registers an agent, or updates it; a changed config becomes a new version; returns the version';

CREATE FUNCTION agentgres.update_agent_config(name text, config jsonb, note text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	new_version integer;
BEGIN
	IF config IS NULL OR jsonb_typeof(config) <> 'object' THEN
		RAISE EXCEPTION 'agent config must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE agentgres.agents a SET config = update_agent_config.config, version = a.version + 1, updated_at = now()
	WHERE a.name = update_agent_config.name RETURNING a.version INTO new_version;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agent "%" does not exist', name USING ERRCODE = 'undefined_object';
	END IF;
	INSERT INTO agentgres.agent_versions (agent, version, config, note) VALUES (name, new_version, config, note);
	PERFORM agentgres.log_event('agent_config_changed', format('agent %s config version %s', name, new_version),
	                            name, jsonb_build_object('version', new_version));
	RETURN new_version;
END $$;
COMMENT ON FUNCTION agentgres.update_agent_config(text, jsonb, text) IS
	'replaces an agent''s config; the previous one stays in agent_versions; returns the new version';

CREATE FUNCTION agentgres.rollback_agent(name text, version integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	old_config jsonb;
BEGIN
	SELECT v.config INTO old_config FROM agentgres.agent_versions v
	WHERE v.agent = rollback_agent.name AND v.version = rollback_agent.version;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agent "%" has no version %', name, version USING ERRCODE = 'undefined_object';
	END IF;
	RETURN agentgres.update_agent_config(name, old_config, format('rollback to version %s', version));
END $$;
COMMENT ON FUNCTION agentgres.rollback_agent(text, integer) IS
	'makes an earlier config current again, as a new version (history is never rewritten)';

CREATE FUNCTION agentgres.set_agent_status(name text, status text, error text DEFAULT NULL, host text DEFAULT NULL,
                                           pid integer DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	previous text;
BEGIN
	IF status IS NULL OR status NOT IN ('registered', 'starting', 'running', 'degraded', 'stopping', 'stopped', 'failed') THEN
		RAISE EXCEPTION 'unrecognized agent status "%"', status USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use registered, starting, running, degraded, stopping, stopped or failed.';
	END IF;
	SELECT a.status INTO previous FROM agentgres.agents a WHERE a.name = set_agent_status.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agent "%" does not exist', name USING ERRCODE = 'undefined_object';
	END IF;
	UPDATE agentgres.agents a SET status = set_agent_status.status, updated_at = now(),
		last_error = CASE WHEN set_agent_status.status IN ('failed', 'degraded') THEN error ELSE a.last_error END,
		restarts = a.restarts + CASE WHEN previous IN ('failed', 'degraded') AND set_agent_status.status = 'starting'
		                             THEN 1 ELSE 0 END,
		started_at = CASE WHEN set_agent_status.status = 'running' AND previous <> 'running' THEN now() ELSE a.started_at END,
		host = coalesce(set_agent_status.host, a.host), pid = coalesce(set_agent_status.pid, a.pid)
	WHERE a.name = set_agent_status.name;
	IF previous IS DISTINCT FROM status THEN
		PERFORM agentgres.log_event('agent_status', format('agent %s: %s -> %s', name, previous, status), name,
		                            jsonb_build_object('from', previous, 'to', status, 'error', error));
	END IF;
	RETURN previous;
END $$;
COMMENT ON FUNCTION agentgres.set_agent_status(text, text, text, text, integer) IS
	'records a lifecycle transition (logged in system_events); returns the previous status';

CREATE FUNCTION agentgres.heartbeat(agent text, status text DEFAULT 'ok', details jsonb DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	beat timestamptz := now();
BEGIN
	IF agent IS NULL OR agent = '' THEN
		RAISE EXCEPTION 'agent name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO agentgres.heartbeats (agent, at, status, details)
	VALUES (heartbeat.agent, beat, coalesce(heartbeat.status, 'ok'), details);
	UPDATE agentgres.agents a SET last_heartbeat_at = beat WHERE a.name = heartbeat.agent;
	RETURN beat;
END $$;
COMMENT ON FUNCTION agentgres.heartbeat(text, text, jsonb) IS 'records that an agent is alive';

------------------------------------------------------------------------------
-- Alerts
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.raise_alert(rule text, subject text, severity text, message text, data jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	alert_id bigint;
BEGIN
	IF rule IS NULL OR rule = '' OR message IS NULL THEN
		RAISE EXCEPTION 'an alert needs a rule and a message' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF severity IS NULL OR severity NOT IN ('info', 'warning', 'critical') THEN
		RAISE EXCEPTION 'unrecognized alert severity "%"', severity USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Use info, warning or critical.';
	END IF;
	INSERT INTO agentgres.alerts AS a (rule, subject, severity, message, data)
	VALUES (rule, coalesce(subject, ''), severity, message, data)
	ON CONFLICT (rule, subject) WHERE status <> 'resolved' DO UPDATE
		SET occurrences = a.occurrences + 1, last_seen_at = now(), message = excluded.message,
		    data = excluded.data, severity = excluded.severity
	RETURNING a.id INTO alert_id;
	RETURN alert_id;
END $$;
COMMENT ON FUNCTION agentgres.raise_alert(text, text, text, text, jsonb) IS
	'opens an alert, or counts another occurrence of the unresolved one with the same rule and subject';

CREATE FUNCTION agentgres.resolve_alert(rule text, subject text DEFAULT '') RETURNS bigint
LANGUAGE sql VOLATILE AS $$
	UPDATE agentgres.alerts a SET status = 'resolved', resolved_at = now()
	WHERE a.rule = resolve_alert.rule AND a.subject = coalesce(resolve_alert.subject, '') AND a.status <> 'resolved'
	RETURNING a.id
$$;
COMMENT ON FUNCTION agentgres.resolve_alert(text, text) IS 'resolves the unresolved alert of a rule and subject, if any';

CREATE FUNCTION agentgres.ack_alert(id bigint, who text DEFAULT current_user) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE agentgres.alerts a SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = who
	WHERE a.id = ack_alert.id AND a.status = 'open';
	IF FOUND THEN
		PERFORM agentgres.log_event('alert_acknowledged', format('alert %s acknowledged by %s', id, who), NULL,
		                            jsonb_build_object('alert', id));
		RETURN true;
	END IF;
	IF NOT EXISTS (SELECT FROM agentgres.alerts a WHERE a.id = ack_alert.id) THEN
		RAISE EXCEPTION 'alert % does not exist', id USING ERRCODE = 'undefined_object';
	END IF;
	RETURN false;
END $$;
COMMENT ON FUNCTION agentgres.ack_alert(bigint, text) IS 'acknowledges an open alert; false if it was not open';

------------------------------------------------------------------------------
-- Metrics
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.record_metric(source text, name text, value double precision, labels jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF value IS NULL OR value = 'NaN' OR value IN ('Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'metric value must be a finite number' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO agentgres.performance_metrics (source, name, value, labels) VALUES (source, name, value, labels);
END $$;

CREATE FUNCTION agentgres.rollup_metrics() RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	written bigint;
	hourly bigint;
BEGIN
	-- Complete hours and days only, recomputed from the raw rows still there.
	INSERT INTO agentgres.metrics_rollups AS r (resolution, bucket, source, name, n, sum, min, max)
	SELECT 'hour', date_trunc('hour', at), source, name, count(*), sum(value), min(value), max(value)
	FROM agentgres.performance_metrics WHERE at < date_trunc('hour', now())
	GROUP BY 2, 3, 4
	ON CONFLICT (resolution, name, source, bucket) DO UPDATE
		SET n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max;
	GET DIAGNOSTICS hourly = ROW_COUNT;
	INSERT INTO agentgres.metrics_rollups AS r (resolution, bucket, source, name, n, sum, min, max)
	SELECT 'day', date_trunc('day', bucket), source, name, sum(n), sum(sum), min(min), max(max)
	FROM agentgres.metrics_rollups WHERE resolution = 'hour' AND bucket < date_trunc('day', now())
	GROUP BY 2, 3, 4
	ON CONFLICT (resolution, name, source, bucket) DO UPDATE
		SET n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max;
	GET DIAGNOSTICS written = ROW_COUNT;
	RETURN hourly + written;
END $$;
COMMENT ON FUNCTION agentgres.rollup_metrics() IS 'folds raw metrics into hourly and daily rollups; returns rows written';

CREATE FUNCTION agentgres.purge_history(older_than interval DEFAULT '30 days')
RETURNS TABLE (heartbeats bigint, metrics bigint, events bigint, jobs bigint)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cutoff timestamptz;
BEGIN
	IF older_than IS NULL OR older_than < interval '1 hour' THEN
		RAISE EXCEPTION 'retention must be at least one hour' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	cutoff := now() - older_than;
	PERFORM agentgres.rollup_metrics();  -- never drop raw rows that are not rolled up yet
	DELETE FROM agentgres.heartbeats h WHERE h.at < cutoff;
	GET DIAGNOSTICS heartbeats = ROW_COUNT;
	DELETE FROM agentgres.performance_metrics m WHERE m.at < cutoff;
	GET DIAGNOSTICS metrics = ROW_COUNT;
	DELETE FROM agentgres.system_events e WHERE e.at < cutoff;
	GET DIAGNOSTICS events = ROW_COUNT;
	DELETE FROM agentgres.jobs j WHERE j.state IN ('done', 'cancelled') AND j.finished_at < cutoff;
	GET DIAGNOSTICS jobs = ROW_COUNT;
	RETURN NEXT;
END $$;
COMMENT ON FUNCTION agentgres.purge_history(interval) IS
	'retention: deletes heartbeats, raw metrics (after rolling them up), events and finished jobs older than the interval';

------------------------------------------------------------------------------
-- Job queue
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.enqueue(kind text, payload jsonb, priority integer DEFAULT 3, run_at timestamptz DEFAULT now(),
                                  max_attempts integer DEFAULT 3)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	job_id bigint;
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
	INSERT INTO agentgres.jobs (kind, payload, priority, run_at, max_attempts)
	VALUES (kind, coalesce(payload, '{}'), priority, coalesce(run_at, now()), max_attempts)
	RETURNING id INTO job_id;
	-- Workers LISTEN on agentgres_jobs and wake at once (delivered at commit).
	PERFORM pg_notify('agentgres_jobs', kind);
	RETURN job_id;
END $$;
COMMENT ON FUNCTION agentgres.enqueue(text, jsonb, integer, timestamptz, integer) IS
	'queues a job (priority 1 first .. 5 last) and notifies channel agentgres_jobs; returns its id';

CREATE FUNCTION agentgres.claim_jobs(worker text, kinds text[] DEFAULT NULL, n integer DEFAULT 1,
                                     lease interval DEFAULT '5 minutes')
RETURNS SETOF agentgres.jobs LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF worker IS NULL OR worker = '' THEN
		RAISE EXCEPTION 'worker name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF n IS NULL OR n NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'n must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lease IS NULL OR lease < interval '1 second' THEN
		RAISE EXCEPTION 'lease must be at least one second' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Jobs whose lease ran out (their worker died) go back to the queue, or
	-- die when they have used all their attempts.
	UPDATE agentgres.jobs j
	SET state = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,
	    last_error = format('lease of %s expired', j.locked_by), locked_by = NULL, lease_until = NULL,
	    finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END
	WHERE j.id IN (SELECT e.id FROM agentgres.jobs e WHERE e.state = 'running' AND e.lease_until < now()
	               FOR UPDATE SKIP LOCKED);
	RETURN QUERY
	UPDATE agentgres.jobs j
	SET state = 'running', attempts = j.attempts + 1, locked_by = worker, lease_until = now() + lease,
	    started_at = now()
	WHERE j.id IN (SELECT q.id FROM agentgres.jobs q
	               WHERE q.state = 'queued' AND q.run_at <= now() AND (kinds IS NULL OR q.kind = ANY (kinds))
	               ORDER BY q.priority, q.run_at, q.id
	               LIMIT n FOR UPDATE SKIP LOCKED)
	RETURNING j.*;
END $$;
COMMENT ON FUNCTION agentgres.claim_jobs(text, text[], integer, interval) IS
	'claims up to n ready jobs (FOR UPDATE SKIP LOCKED) for a worker with a lease; expired leases are requeued first';

CREATE FUNCTION agentgres.complete_job(id bigint, worker text, result jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE agentgres.jobs j SET state = 'done', result = complete_job.result, finished_at = now(), lease_until = NULL
	WHERE j.id = complete_job.id AND j.state = 'running' AND j.locked_by = worker;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job % is not running under worker "%"', id, worker
			USING ERRCODE = 'object_not_in_prerequisite_state',
			DETAIL = 'Its lease may have expired and the job been given to another worker.';
	END IF;
END $$;

CREATE FUNCTION agentgres.fail_job(id bigint, worker text, error text, retry boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	new_state text;
BEGIN
	-- Exponential backoff: 10 s, 20 s, 40 s, ... capped at one hour.
	UPDATE agentgres.jobs j
	SET state = CASE WHEN retry AND j.attempts < j.max_attempts THEN 'queued' ELSE 'dead' END,
	    run_at = now() + least(interval '1 hour', interval '10 seconds' * power(2, greatest(j.attempts - 1, 0))),
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
COMMENT ON FUNCTION agentgres.fail_job(bigint, text, text, boolean) IS
	'records a failed attempt: back to the queue after 10 s x 2^(attempts-1) (at most 1 h), or dead; returns the new state';

CREATE FUNCTION agentgres.release_job(id bigint, worker text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- Unfinished work handed back (a worker shutting down): the attempt does not count.
	UPDATE agentgres.jobs j SET state = 'queued', attempts = greatest(j.attempts - 1, 0), locked_by = NULL,
	                            lease_until = NULL, run_at = now()
	WHERE j.id = release_job.id AND j.state = 'running' AND j.locked_by = worker;
	IF FOUND THEN
		PERFORM pg_notify('agentgres_jobs', (SELECT kind FROM agentgres.jobs WHERE jobs.id = release_job.id));
	END IF;
END $$;

CREATE FUNCTION agentgres.cancel_job(id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE agentgres.jobs j SET state = 'cancelled', finished_at = now(), locked_by = NULL, lease_until = NULL
	WHERE j.id = cancel_job.id AND j.state IN ('queued', 'running');
	IF FOUND THEN
		PERFORM agentgres.log_event('job_cancelled', format('job %s cancelled', id), NULL, jsonb_build_object('job', id));
		RETURN true;
	END IF;
	IF NOT EXISTS (SELECT FROM agentgres.jobs j WHERE j.id = cancel_job.id) THEN
		RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'undefined_object';
	END IF;
	RETURN false;
END $$;

CREATE VIEW agentgres.job_queue AS
SELECT kind, state, count(*) AS jobs,
       extract(epoch FROM now() - min(CASE WHEN state = 'queued' THEN run_at ELSE created_at END))::double precision
           AS oldest_age_s
FROM agentgres.jobs GROUP BY kind, state;
COMMENT ON VIEW agentgres.job_queue IS 'queue depth and age of the oldest job per kind and state';

------------------------------------------------------------------------------
-- Health
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.system_health(stale_after interval DEFAULT '2 minutes') RETURNS jsonb
LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
	WITH a AS (
		SELECT count(*) FILTER (WHERE status = 'running') AS running,
		       count(*) FILTER (WHERE status = 'failed') AS failed,
		       count(*) FILTER (WHERE status = 'degraded') AS degraded,
		       count(*) FILTER (WHERE status IN ('running', 'degraded')
		                        AND (last_heartbeat_at IS NULL OR last_heartbeat_at < now() - stale_after)) AS stale
		FROM agentgres.agents
	), al AS (
		SELECT count(*) FILTER (WHERE status = 'open') AS open,
		       count(*) FILTER (WHERE status = 'open' AND severity = 'critical') AS critical
		FROM agentgres.alerts
	), j AS (
		SELECT count(*) FILTER (WHERE state = 'queued') AS queued, count(*) FILTER (WHERE state = 'running') AS running,
		       count(*) FILTER (WHERE state = 'dead') AS dead
		FROM agentgres.jobs
	)
	SELECT jsonb_build_object(
		'status', CASE WHEN a.failed > 0 OR al.critical > 0 THEN 'failing'
		               WHEN a.degraded > 0 OR a.stale > 0 OR al.open > 0 THEN 'degraded' ELSE 'ok' END,
		'checked_at', now(),
		'agents', jsonb_build_object('running', a.running, 'degraded', a.degraded, 'failed', a.failed, 'stale', a.stale),
		'alerts', jsonb_build_object('open', al.open, 'critical', al.critical),
		'jobs', jsonb_build_object('queued', j.queued, 'running', j.running, 'dead', j.dead),
		'database', jsonb_build_object('size_bytes', pg_database_size(current_database()),
		                               'connections', (SELECT count(*) FROM pg_stat_activity
		                                               WHERE datname = current_database())))
	FROM a, al, j
$$;
COMMENT ON FUNCTION agentgres.system_health(interval) IS
	'ok | degraded | failing, with the counts behind it: agents, alerts, jobs, database';

CREATE FUNCTION agentgres.statistics() RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $$
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
