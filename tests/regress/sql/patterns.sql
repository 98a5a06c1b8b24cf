-- Patterns, insights, experiments and the statistics helpers.
SET search_path = public, agentgres;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

-- statistics helpers against published values
SELECT round(low::numeric, 4) AS low, round(high::numeric, 4) AS high FROM wilson_interval(5, 10);
SELECT round(low::numeric, 4) AS low, round(high::numeric, 4) AS high FROM wilson_interval(0, 10);
SELECT * FROM wilson_interval(0, 0);
SELECT round(z::numeric, 4) AS z, round(p_value::numeric, 4) AS p FROM two_proportion_z_test(45, 100, 56, 100);
SELECT * FROM two_proportion_z_test(0, 0, 1, 2);
SELECT round(normal_cdf(1.959963984540054)::numeric, 6), normal_cdf(0);
SELECT wilson_interval(11, 10);
SELECT wilson_interval(-1, 10);
SELECT wilson_interval(1, 10, 0);
SELECT two_proportion_z_test(5, 4, 1, 2);
SELECT error_template('deploy lock timeout after 42s on node 0x1f3a (job 123e4567-e89b-12d3-a456-426614174000)');
SELECT error_template('assertion failed at /src/app/main.py:120, value ''abc'' was -3.5e2');
-- every token with a digit, names, addresses and lists are variables
SELECT error_template('dependency conflict: package lib123 requires v4.7 at /srv/build/12345'),
       error_template('dependency conflict: package lib123 requires v4.7 at /srv/build/12345')
       = error_template('dependency conflict: package lib9 requires v10.2.1 at /srv/build/7') AS same;
SELECT error_template('worker-7f9c2a on db7.example.com: jobs 17, 18, 19 failed for alice@example.com');
SELECT hash_bucket('same key', 10) = hash_bucket('same key', 10) AS stable, hash_bucket('k', 1);
SELECT hash_bucket('k', 0);

-- patterns on a hand-made history
CREATE TABLE saved_executions AS SELECT * FROM executions;
TRUNCATE executions CASCADE;
SELECT record_execution('review', ARRAY['a', 'b'], true, 10) IS NOT NULL,
       record_execution('review', ARRAY['b', 'a'], false, 20, error => 'timeout after 30s') IS NOT NULL,
       record_execution('review', ARRAY['a', 'b', 'c'], false, 40, error => 'timeout after 45s') IS NOT NULL,
       record_execution('review', ARRAY['c'], true, 5) IS NOT NULL,
       record_execution('build', ARRAY['a'], true, 100) IS NOT NULL;
SELECT task_type, agents, n, successes, round(success_rate::numeric, 3) AS rate, round(wilson_low::numeric, 3) AS low,
       round(wilson_high::numeric, 3) AS high, round(mean_duration_s::numeric, 2) AS mean,
       round(p95_duration_s::numeric, 0) AS p95, top_error, top_error_count
FROM agent_patterns(1);
SELECT count(*) FROM agent_patterns(2);
SELECT count(*) FROM agent_patterns(1, now() + interval '1 day');
SELECT count(*) FROM agent_patterns(1, NULL, 1);
SELECT * FROM agent_patterns(0);
SELECT * FROM agent_patterns(1, NULL, 0);
SELECT * FROM agent_patterns(1, NULL, 6);
-- errors that differ in a name group into one top_error
SELECT count(record_execution('deploy', ARRAY['x'], false, 1, error => e))
FROM unnest(ARRAY['cannot open config for service alpha', 'cannot open config for service beta',
                  'cannot open config for service gamma', 'quota exceeded', 'quota exceeded']) AS e;
SELECT task_type, agents, n, top_error, top_error_count FROM agent_patterns(1) WHERE task_type = 'deploy';
-- the summary state is a documented, versioned bytea; corrupt input is rejected
SELECT length(pattern_summary(task_type, agents, success, duration_s, error, 2)) > 0 AS has_state FROM executions;
SELECT count(*) FROM pattern_rows((SELECT pattern_summary(task_type, agents, success, duration_s, error, 2)
                                   FROM executions WHERE false), 1);
SELECT * FROM pattern_rows('\x01', 1);
SELECT * FROM pattern_rows('\x02000000', 1);
SELECT * FROM pattern_rows(decode(repeat('ff', 64), 'hex'), 1);

-- the aggregate runs in parallel workers: same answer as the serial plan
TRUNCATE executions CASCADE;
SELECT simulate_executions('code_change', 20000, 42);
SELECT simulate_executions('docs', 5000, 7);
ANALYZE executions;
CREATE TABLE serial_patterns AS SELECT * FROM agent_patterns(5);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET force_parallel_mode = on;
EXPLAIN (COSTS OFF)
SELECT pattern_summary(task_type, agents, success, duration_s, error, 3) FROM executions;
CREATE TABLE parallel_patterns AS SELECT * FROM agent_patterns(5);
RESET force_parallel_mode;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SELECT count(*) AS patterns,
       count(*) FILTER (WHERE s.n = p.n AND s.successes = p.successes AND s.top_error IS NOT DISTINCT FROM p.top_error
                        AND abs(s.mean_duration_s - p.mean_duration_s) < 1e-9 * s.mean_duration_s
                        AND s.p95_duration_s = p.p95_duration_s) AS identical
FROM serial_patterns s FULL JOIN parallel_patterns p
  ON s.task_type IS NOT DISTINCT FROM p.task_type AND s.agents = p.agents;

-- memory: the state is held to work_mem * hash_mem_multiplier, a clear 54000
-- naming work_mem when it would need more (also for a summary read back, and
-- in parallel workers), never an unbounded allocation
CREATE FUNCTION pg_temp.limited(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	message text;
	hint text;
BEGIN
	EXECUTE statement;
	RETURN 'completed';
EXCEPTION WHEN program_limit_exceeded THEN
	GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ' | ' || message || ' | ' || hint;
END $$;
CREATE TABLE summary AS SELECT pattern_summary(task_type, agents, success, duration_s, error, 3) AS s FROM executions;
SET work_mem = '64kB';
SELECT pg_temp.limited('SELECT count(*) FROM agent_patterns(5)') AS agent_patterns;
SELECT pg_temp.limited('SELECT count(*) FROM pattern_rows((SELECT s FROM summary), 5, 3)') AS pattern_rows;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT pg_temp.limited('SELECT pattern_summary(task_type, agents, success, duration_s, error, 3) FROM executions')
	AS parallel_summary;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET work_mem;
SELECT pg_temp.limited('SELECT count(*) FROM pattern_rows((SELECT s FROM summary), 5, 3)') AS pattern_rows;
DROP TABLE summary;

-- the planted bad pair and its characteristic error
SELECT task_type, agents, n > 1000 AS supported, wilson_high < 0.2 AS bad, top_error
FROM serial_patterns WHERE agents = ARRAY['coder', 'deployer'] ORDER BY task_type NULLS LAST;

-- insights rediscover what the simulator planted
SELECT refresh_insights() > 0 AS wrote;
SELECT kind, task_type, agents, confidence > 0.99 AS confident FROM latest_insights
WHERE (kind, agents) IN (('best_combo', ARRAY['coder', 'planner', 'reviewer']),
                         ('avoid_pattern', ARRAY['coder', 'deployer']), ('slow_pattern', ARRAY['researcher']))
ORDER BY kind, task_type;
SELECT kind, count(*) > 0 AS found FROM insights GROUP BY kind ORDER BY kind;
SELECT bool_and(confidence BETWEEN 0 AND 1) AS confidence_in_range, bool_and(description <> '') AS described
FROM insights;
SELECT description FROM insights WHERE kind = 'avoid_pattern' AND agents = ARRAY['coder', 'deployer']
  AND task_type = 'code_change';
-- refreshing replaces the previous set
SELECT (SELECT count(*) FROM insights) = refresh_insights() AS replaced;
SELECT refresh_insights(0);
SELECT refresh_insights(10, 1.5);

-- A/B experiments
INSERT INTO experiments (name, variants) VALUES ('prompt', ARRAY['control', 'short']);
SELECT assign_variant('prompt', 'task-' || i) AS variant, count(*) FROM generate_series(1, 1000) AS i
GROUP BY 1 ORDER BY 1;
SELECT assign_variant('prompt', 'task-7') = assign_variant('prompt', 'task-7') AS stable;
-- an assignment stands even if the variants change later
UPDATE experiments SET variants = ARRAY['short', 'control', 'long'] WHERE name = 'prompt';
SELECT count(*) FILTER (WHERE assign_variant('prompt', 'task-' || i) = a.variant) AS unchanged
FROM generate_series(1, 1000) AS i JOIN experiment_assignments a ON a.subject = 'task-' || i;
UPDATE experiments SET variants = ARRAY['control', 'short'] WHERE name = 'prompt';
-- outcomes: control succeeds 40 of 100 times, short 55 of 100
INSERT INTO executions (task_id, task_type, agents, success, duration_s)
SELECT a.subject, 'ab', ARRAY['coder'],
       CASE a.variant WHEN 'control' THEN r <= 40 ELSE r <= 55 END, 1
FROM (SELECT subject, variant, row_number() OVER (PARTITION BY variant ORDER BY subject) AS r
      FROM experiment_assignments WHERE experiment = 'prompt') a
WHERE r <= 100;
SELECT variant, subjects, executions, successes, round(success_rate::numeric, 2) AS rate,
       round(difference::numeric, 2) AS difference, round(z::numeric, 3) AS z, round(p_value::numeric, 4) AS p
FROM experiment_results('prompt');
SELECT round(z::numeric, 3) AS z, round(p_value::numeric, 4) AS p FROM two_proportion_z_test(40, 100, 55, 100);
SELECT assign_variant('nope', 's');
SELECT assign_variant('prompt', NULL);
SELECT * FROM experiment_results('nope');
\set VERBOSITY terse
INSERT INTO experiments (name, variants) VALUES ('single', ARRAY['only']);
\set VERBOSITY default

DROP TABLE serial_patterns, parallel_patterns;
TRUNCATE executions CASCADE;
INSERT INTO executions OVERRIDING SYSTEM VALUE SELECT * FROM saved_executions;
DROP TABLE saved_executions;

-- error_templates: one template per message, grouped across the messages;
-- NULL stays NULL, bounds and dimensions are kept
SELECT error_templates(ARRAY['cannot open config for service alpha', 'cannot open config for service beta',
                             'quota exceeded', '', NULL]);
SELECT error_templates('[0:1]={"disk full on node7","disk full on node9"}');
SELECT error_templates('{}'::text[]);
SELECT error_templates(NULL);
