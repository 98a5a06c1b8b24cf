-- Shared state: agent registry and versions, heartbeats, events, alerts,
-- metrics and rollups, retention, health, and the job queue.
SET search_path = public, agentgres;
\set SHOW_CONTEXT never

-- registry, lifecycle and config versions
SELECT register_agent('indexer', 'loop', '{"interval_s": 30}');
SELECT register_agent('indexer', 'loop', '{"interval_s": 30}');   -- unchanged: same version
SELECT register_agent('indexer', 'loop', '{"interval_s": 10}');   -- changed: new version
SELECT update_agent_config('indexer', '{"interval_s": 5, "paths": ["src"]}', 'faster');
SELECT agent, version, config, note FROM agent_versions ORDER BY version;
SELECT rollback_agent('indexer', 1);
SELECT name, kind, status, config, version FROM agents;
SELECT version, note FROM agent_versions WHERE agent = 'indexer' ORDER BY version;
SELECT set_agent_status('indexer', 'starting', host => 'h1', pid => 42);
SELECT set_agent_status('indexer', 'running');
SELECT set_agent_status('indexer', 'failed', 'boom');
SELECT set_agent_status('indexer', 'starting');
SELECT status, restarts, last_error, host, pid FROM agents WHERE name = 'indexer';
SELECT kind, message FROM system_events WHERE agent = 'indexer' ORDER BY id;
\set VERBOSITY default
SELECT register_agent('', 'loop');
SELECT register_agent('x', 'loop', '[1]');
SELECT update_agent_config('ghost', '{}');
SELECT rollback_agent('indexer', 99);
SELECT set_agent_status('indexer', 'sleeping');
SELECT set_agent_status('ghost', 'running');

-- heartbeats
SELECT heartbeat('indexer') <= now() AS beat;
SELECT heartbeat('indexer', 'busy', '{"queue": 3}') <= now() AS beat;
SELECT agent, status, details FROM heartbeats ORDER BY at, status;
SELECT last_heartbeat_at IS NOT NULL AS seen FROM agents WHERE name = 'indexer';
SELECT heartbeat('');
-- only registered agents beat: a typo is an error, not a phantom agent
SELECT heartbeat('nobody');
SELECT count(*) AS phantom_heartbeats FROM heartbeats WHERE agent = 'nobody';

-- alerts: deduplicated by rule and subject, acknowledged, resolved
SELECT raise_alert('stale_heartbeat', 'indexer', 'warning', 'no heartbeat for 3 minutes') AS first_id \gset
SELECT raise_alert('stale_heartbeat', 'indexer', 'critical', 'no heartbeat for 5 minutes') = :first_id AS same_alert;
SELECT rule, subject, severity, status, message, occurrences FROM alerts;
SELECT ack_alert(:first_id, 'ops');
SELECT ack_alert(:first_id);
SELECT status, acknowledged_by FROM alerts;
SELECT resolve_alert('stale_heartbeat', 'indexer') = :first_id AS resolved;
SELECT raise_alert('stale_heartbeat', 'indexer', 'warning', 'again') <> :first_id AS new_alert_after_resolve;
SELECT rule, status, occurrences FROM alerts ORDER BY id;
SELECT raise_alert('r', 's', 'fatal', 'm');
SELECT raise_alert('', 's', 'info', 'm');
SELECT ack_alert(999999);

-- metrics, rollups and retention
INSERT INTO performance_metrics (at, source, name, value)
SELECT now() - interval '3 days' + g * interval '10 minutes', 'perfmon', 'cpu', g % 7 FROM generate_series(0, 431) AS g;
SELECT record_metric('perfmon', 'cpu', 1.5);
SELECT record_metric('perfmon', 'cpu', 'NaN');
-- rollups and their checks in one transaction (one now()), so an hour that
-- ends mid-test does not move which hours are complete
BEGIN;
SELECT rollup_metrics() > 0 AS rolled_up;
SELECT resolution, count(*) > 0 AS has_rows, sum(n) FILTER (WHERE resolution = 'day') IS NOT NULL AS daily
FROM metrics_rollups GROUP BY resolution ORDER BY resolution;
-- the rollups agree with the raw rows
SELECT (SELECT sum(n) FROM metrics_rollups WHERE resolution = 'hour')
     = (SELECT count(*) FROM performance_metrics WHERE at < date_trunc('hour', now())) AS hourly_complete;
COMMIT;
INSERT INTO heartbeats (agent, at) VALUES ('indexer', now() - interval '40 days');
SELECT * FROM purge_history('30 days');
SELECT * FROM purge_history('1 day') AS p WHERE p.metrics > 0;
SELECT purge_history('1 minute');
SELECT count(*) > 0 AS rollups_survive FROM metrics_rollups;
-- series that differ only in their labels stay apart in the rollups; the
-- current hour is not rolled up until it is complete
BEGIN;
TRUNCATE performance_metrics, metrics_rollups;
INSERT INTO performance_metrics (at, source, name, value, labels) VALUES
	(date_trunc('hour', now()) - interval '30 minutes', 'perfmon', 'disk_used', 10, '{"mount": "/"}'),
	(date_trunc('hour', now()) - interval '20 minutes', 'perfmon', 'disk_used', 12, '{"mount": "/"}'),
	(date_trunc('hour', now()) - interval '30 minutes', 'perfmon', 'disk_used', 90, '{"mount": "/data"}'),
	(date_trunc('hour', now()) - interval '30 minutes', 'perfmon', 'disk_used', 50, NULL),
	(date_trunc('hour', now()), 'perfmon', 'disk_used', 99, '{"mount": "/"}');
SELECT rollup_metrics() AS written \gset
-- three hourly rows; daily ones too when that hour ended a day in this
-- session's time zone (midnight), so count them apart
SELECT :written = (SELECT count(*) FROM metrics_rollups) AS all_written,
       (SELECT count(*) FROM metrics_rollups WHERE resolution = 'hour') AS hourly;
SELECT labels, n, sum, min, max FROM metrics_rollups WHERE resolution = 'hour' ORDER BY labels;

COMMIT;
-- the job queue
SELECT enqueue('embed', '{"doc": 1}') AS j1 \gset
SELECT enqueue('embed', '{"doc": 2}', priority => 1) AS j2 \gset
SELECT enqueue('report', '{}', priority => 5) AS j3 \gset
SELECT enqueue('embed', '{"doc": 3}', run_at => now() + interval '1 hour') AS later \gset
SELECT kind, state, jobs FROM job_queue ORDER BY kind, state;
-- priority 1 first, then by run_at; future jobs wait; kinds filter
SELECT id = :j2 AS urgent_first, attempts, locked_by FROM claim_jobs('w1', ARRAY['embed'], 1);
SELECT id = :j1 AS next FROM claim_jobs('w2', ARRAY['embed'], 5);
SELECT count(*) AS none_left FROM claim_jobs('w2', ARRAY['embed'], 5);
SELECT complete_job(:j2, 'w1', '{"ok": true}');
SELECT complete_job(:j2, 'w1');
SELECT complete_job(:j1, 'w1');
SELECT state, result FROM jobs WHERE id = :j2;
-- failures back off exponentially, then the job dies
SELECT fail_job(:j1, 'w2', 'HTTP 503');
SELECT state, attempts, last_error, run_at > now() + interval '9 seconds' AS backed_off FROM jobs WHERE id = :j1;
UPDATE jobs SET run_at = now() WHERE id = :j1;
SELECT count(*) FROM claim_jobs('w2', ARRAY['embed'], 1);
SELECT fail_job(:j1, 'w2', 'HTTP 503');
SELECT round(extract(epoch FROM run_at - now())) BETWEEN 19 AND 20 AS doubled FROM jobs WHERE id = :j1;
UPDATE jobs SET run_at = now() WHERE id = :j1;
SELECT count(*) FROM claim_jobs('w2', ARRAY['embed'], 1);
SELECT fail_job(:j1, 'w2', 'HTTP 503');
SELECT state, attempts, finished_at IS NOT NULL AS finished FROM jobs WHERE id = :j1;
-- a crashed worker's lease runs out and the job returns to the queue
SELECT id = :j3 AS claimed FROM claim_jobs('w3', ARRAY['report'], 1, '1 second');
UPDATE jobs SET lease_until = now() - interval '1 second' WHERE id = :j3;
SELECT id = :j3 AS reclaimed, attempts, locked_by FROM claim_jobs('w4', ARRAY['report'], 1);
SELECT complete_job(:j3, 'w3');
SELECT complete_job(:j3, 'w4');
-- release (shutdown) does not count an attempt; cancel
SELECT enqueue('embed', '{}') AS j5 \gset
SELECT attempts FROM claim_jobs('w5', ARRAY['embed'], 1);
SELECT release_job(:j5, 'w5');
SELECT state, attempts FROM jobs WHERE id = :j5;
SELECT cancel_job(:j5), cancel_job(:j5), cancel_job(:later);
SELECT cancel_job(424242);
SELECT kind, state, jobs FROM job_queue ORDER BY kind, state;
-- NOTIFY on enqueue, seen by another session that LISTENs
CREATE EXTENSION dblink;
SELECT dblink_connect('listener', format('host=%s port=%s dbname=%s user=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_database(),
	current_user));
SELECT dblink_exec('listener', 'LISTEN agentgres_jobs');
SELECT enqueue('wake', '{}') > 0 AS queued;
-- the notification travels asynchronously: wait for it (at most 5 s)
CREATE TEMP TABLE seen AS SELECT * FROM dblink_get_notify('listener') WHERE false;
DO $$
BEGIN
	FOR i IN 1..200 LOOP
		INSERT INTO seen SELECT * FROM dblink_get_notify('listener');
		EXIT WHEN FOUND;
		PERFORM pg_sleep(0.025);
	END LOOP;
END $$;
SELECT notify_name, extra FROM seen;
DROP TABLE seen;
SELECT dblink_disconnect('listener');
DROP EXTENSION dblink;
-- a running job's lease is renewed (the worker's heartbeat) until the job is lost
SELECT enqueue('lease', '{}') AS j6 \gset
SELECT id = :j6 AS claimed FROM claim_jobs('w6', ARRAY['lease'], 1, '1 second');
SELECT renew_lease(:j6, 'w6', '1 hour') AS renewed;
SELECT lease_until > now() + interval '59 minutes' AS extended FROM jobs WHERE id = :j6;
SELECT renew_lease(:j6, 'w7', '1 hour') AS not_the_holder;
-- its lease ran out and another worker took it: the first may neither renew
-- nor finish it
UPDATE jobs SET lease_until = now() - interval '1 second' WHERE id = :j6;
SELECT attempts, locked_by FROM claim_jobs('w7', ARRAY['lease'], 1, '1 minute');
SELECT renew_lease(:j6, 'w6', '1 minute') AS lost;
\set VERBOSITY sqlstate
SELECT complete_job(:j6, 'w6', '{"late": true}');
SELECT fail_job(:j6, 'w6', 'late');
\set VERBOSITY default
SELECT state, locked_by, result FROM jobs WHERE id = :j6;
SELECT renew_lease(:j6, 'w7', '1 minute') AS holder_renews;
-- cancelled while running: lost as well
SELECT cancel_job(:j6);
SELECT renew_lease(:j6, 'w7', '1 minute') AS cancelled_is_lost;
SELECT renew_lease(NULL, 'w7', '1 minute') AS no_job, renew_lease(424242, 'w7') AS unknown_job;
SELECT renew_lease(:j6, '', '1 minute');
SELECT renew_lease(:j6, NULL, '1 minute');
SELECT renew_lease(:j6, 'w7', '0.5 seconds');
SELECT renew_lease(:j6, 'w7', NULL);
-- the backoff caps its exponent first: no overflow at any attempt count
SELECT enqueue('retry', '{}', max_attempts => 100) AS j7 \gset
SELECT count(*) FROM claim_jobs('w8', ARRAY['retry'], 1);
BEGIN; -- one now()
UPDATE jobs SET attempts = 41 WHERE id = :j7;
SELECT fail_job(:j7, 'w8', 'attempt 41') AS state;
SELECT run_at - now() AS backoff FROM jobs WHERE id = :j7;
UPDATE jobs SET state = 'running', locked_by = 'w8', attempts = 99 WHERE id = :j7;
SELECT fail_job(:j7, 'w8', 'attempt 99') AS state;
SELECT run_at - now() AS backoff FROM jobs WHERE id = :j7;
UPDATE jobs SET state = 'running', locked_by = 'w8', attempts = 100 WHERE id = :j7;
SELECT fail_job(:j7, 'w8', 'attempt 100') AS state;
SELECT run_at - now() AS backoff, finished_at = now() AS finished FROM jobs WHERE id = :j7;
COMMIT;
DELETE FROM jobs WHERE id IN (:j6, :j7);
-- the kinds agentgresd runs have their payloads checked at enqueue; other
-- kinds take any payload
SELECT enqueue('sleep', '{"seconds": 3}');
SELECT enqueue('sleep', '{"ms": "3000"}');
SELECT enqueue('sleep', '{"ms": -1}');
SELECT enqueue('sleep', '{"ms": 1e12}');
SELECT enqueue('sleep', '[1]');
SELECT enqueue('fail', '{"error": 5}');
SELECT enqueue('learning.train', '{"model": ""}');
SELECT enqueue('learning.train', '{"model": "m", "rows": 5}');
SELECT enqueue('metrics.rollup', '{"x": 1}');
SELECT enqueue('learning.refresh_insights', '"now"');
BEGIN;
SELECT count(*) AS accepted FROM (VALUES (enqueue('sleep', '{"ms": 3000}')), (enqueue('sleep', NULL)),
	(enqueue('sleep', '{"ms": 0.5}')), (enqueue('noop', '[1, 2]')), (enqueue('fail', '{"error": "boom"}')),
	(enqueue('learning.train', '{"model": "m"}')), (enqueue('learning.refresh_insights', '{}')),
	(enqueue('metrics.rollup', '{}')), (enqueue('myapp.summarize', '{"seconds": 3}'))) AS v(id);
ROLLBACK;
-- bad input
SELECT enqueue('', '{}');
SELECT enqueue('x', '{}', priority => 0);
SELECT enqueue('x', '{}', priority => 6);
SELECT enqueue('x', '{}', max_attempts => 0);
SELECT claim_jobs('', NULL, 1);
SELECT claim_jobs('w', NULL, 0);
SELECT claim_jobs('w', NULL, 1, '0 seconds');
SELECT fail_job(424242, 'w', 'x');

-- health and statistics
SELECT set_agent_status('indexer', 'running');
UPDATE agents SET last_heartbeat_at = now();
SELECT system_health() -> 'status' AS status, system_health() -> 'agents' AS agents,
       system_health() -> 'alerts' AS alerts, system_health() -> 'jobs' AS jobs;
-- host alerts (rules host.*) are warnings, even when critical
SELECT raise_alert('host.threshold', 'cpu_percent', 'critical', 'cpu_percent 97 >= 90') > 0 AS raised;
SELECT system_health() ->> 'status' AS status, system_health() -> 'reasons' AS reasons;
SELECT resolve_alert('host.threshold', 'cpu_percent') > 0 AS resolved;
-- stale: no heartbeat (or start) for longer than stale_after; one that has
-- just started without a heartbeat yet is not stale
SELECT register_agent('fresh');
SELECT set_agent_status('fresh', 'running');
SELECT * FROM stale_agents();
UPDATE agents SET last_heartbeat_at = now() - interval '10 minutes', started_at = now() - interval '10 minutes'
WHERE name = 'indexer';
SELECT name, silent_for >= interval '10 minutes' AS silent_10_min FROM stale_agents();
SELECT count(*) AS stale_after_an_hour FROM stale_agents('1 hour');
SELECT system_health() -> 'agents' -> 'stale' AS stale, system_health() ->> 'status' AS status,
       system_health() -> 'reasons' AS reasons;
SELECT set_agent_status('fresh', 'stopped');
SELECT set_agent_status('indexer', 'failed', 'crashed');
SELECT system_health() ->> 'status' AS status, system_health() -> 'reasons' AS reasons;
SELECT statistics() -> 'agents' AS agents, statistics() -> 'jobs' AS jobs;

-- a daemon's loops, per instance: two daemons run 'looper'; one stopping
-- leaves the other's running and the agent's row shows them combined (a
-- failed instance first); staleness is judged per instance
SELECT register_agent('looper');
SELECT set_loop_status('h/127.0.0.1:1', 'looper', 'running', host => 'h', pid => 1);
SELECT set_loop_status('h/127.0.0.1:2', 'looper', 'running', host => 'h', pid => 2);
SELECT set_loop_status('h/127.0.0.1:2', 'looper', 'stopped');
SELECT instance, status, pid FROM agent_instances ORDER BY instance;
SELECT status, pid FROM agents WHERE name = 'looper';
SELECT set_loop_status('h/127.0.0.1:2', 'looper', 'failed', 'boom');
SELECT status, pid, last_error FROM agents WHERE name = 'looper';
SELECT set_loop_status('h/127.0.0.1:2', 'looper', 'starting');
SELECT set_loop_status('h/127.0.0.1:2', 'looper', 'running', pid => 3);
SELECT status, pid IN (1, 3) AS a_live_pid, restarts FROM agents WHERE name = 'looper';
SELECT instance, status, pid, restarts FROM agent_instances ORDER BY instance;
SELECT loop_heartbeat('h/127.0.0.1:1', 'looper', '{"n": 1}') IS NOT NULL AS beat;
SELECT details FROM heartbeats WHERE agent = 'looper';
UPDATE agent_instances SET last_heartbeat_at = now() - interval '10 minutes', started_at = now() - interval '10 minutes'
WHERE instance = 'h/127.0.0.1:2';
SELECT name FROM stale_agents() WHERE name LIKE 'looper%';
SELECT set_loop_status('', 'looper', 'running');
SELECT set_loop_status(NULL, 'looper', 'running');
SELECT set_loop_status('i', 'nobody', 'running');
SELECT set_loop_status('i', 'looper', 'sleeping');
SELECT loop_heartbeat('never', 'looper');
DELETE FROM agents WHERE name = 'looper';
SELECT count(*) AS instances_left FROM agent_instances;
