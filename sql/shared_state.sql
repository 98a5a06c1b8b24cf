-- Shared state: agent registry, heartbeats, events, alerts, metrics, retention
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql.

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
	labels jsonb NOT NULL DEFAULT '{}',
	PRIMARY KEY (resolution, name, source, labels, bucket)
);
COMMENT ON TABLE agentgres.metrics_rollups IS
	'hourly and daily aggregates of performance_metrics per series (source, name, labels), kept after the raw rows expire';

------------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('agentgres.agents', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.agent_versions', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.agent_instances', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.heartbeats', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.system_events', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.system_events_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.alerts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.performance_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.metrics_rollups', '');

------------------------------------------------------------------------------
-- Registry functions
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.log_event(kind text, message text, agent text DEFAULT NULL, data jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
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

CREATE FUNCTION agentgres.heartbeat(agent text, status text DEFAULT 'ok', details jsonb DEFAULT NULL)
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
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
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
