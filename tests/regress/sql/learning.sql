-- The learning system: recording, models, recommendations, task lifecycle,
-- learning modes, and the cross-backend model cache.
SET search_path = public, agentgres;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

SELECT * FROM learning_status;

-- recording: valid calls return ids; every bad input has a precise error
SELECT record_execution('code_change', ARRAY['planner', 'coder'], true, 12.5) > 0 AS recorded;
SELECT record_execution('code_change', ARRAY['coder'], false, 3, complexity => 7, error => 'boom 42',
                        satisfaction => 4, resources => '{"tokens": 1200}', task_id => 't-1') > 0 AS recorded;
SELECT task_id, task_type, agents, success, duration_s, complexity, error, satisfaction, resources
FROM executions ORDER BY id;
\set VERBOSITY default
SELECT record_execution('', ARRAY['a'], true, 1);
SELECT record_execution(NULL, ARRAY['a'], true, 1);
SELECT record_execution('t', ARRAY[]::text[], true, 1);
SELECT record_execution('t', NULL, true, 1);
SELECT record_execution('t', ARRAY['a', NULL], true, 1);
SELECT record_execution('t', ARRAY['a', ''], true, 1);
SELECT record_execution('t', ARRAY[['a'], ['b']], true, 1);
SELECT record_execution('t', array_fill('a'::text, ARRAY[65]), true, 1);
SELECT record_execution('t', ARRAY['a'], NULL, 1);
SELECT record_execution('t', ARRAY['a'], true, -1);
SELECT record_execution('t', ARRAY['a'], true, 'NaN');
SELECT record_execution('t', ARRAY['a'], true, 'Infinity');
SELECT record_execution('t', ARRAY['a'], true, NULL);
SELECT record_execution('t', ARRAY['a'], true, 1, complexity => 'NaN');
SELECT record_execution('t', ARRAY['a'], true, 1, satisfaction => 0);
SELECT record_execution('t', ARRAY['a'], true, 1, satisfaction => 11);
SELECT record_execution('t', ARRAY['a'], true, 1, satisfaction => 2147483647);
SELECT record_execution('t', ARRAY['a'], true, 1, satisfaction => 8::smallint) > 0 AS smallint_still_works;
-- the table's constraints hold for direct inserts too
\set VERBOSITY terse
INSERT INTO executions (task_type, agents, success, duration_s) VALUES ('t', '{}', true, 1);
INSERT INTO executions (task_type, agents, success, duration_s) VALUES ('t', '{a}', true, 'NaN');
\set VERBOSITY default
-- strict catalog mode
UPDATE learning_settings SET strict_catalog = true;
INSERT INTO agent_catalog (name, capabilities, description) VALUES ('planner', '{plan}', 'breaks work down');
SELECT record_execution('t', ARRAY['planner'], true, 1) > 0 AS recorded;
SELECT record_execution('t', ARRAY['planner', 'ghost'], true, 1);
UPDATE learning_settings SET strict_catalog = false;
-- learning switched off: nothing is recorded
SELECT set_learning_mode('off');
SELECT record_execution('t', ARRAY['planner'], true, 1) AS id_when_off;
SELECT set_learning_mode('recommend');
SELECT set_learning_mode('sometimes');
SELECT set_learning_mode(NULL);
SELECT count(*) FROM executions;

-- training needs history with both outcomes
SELECT train_success_model();
SELECT predict_success('code_change', ARRAY['coder']);
SELECT * FROM recommend_agents('code_change');

-- simulated history with planted effects (see README: the simulator)
TRUNCATE executions CASCADE;
SELECT simulate_executions('code_change', 4000, 42);
SELECT simulate_executions('docs', 1500, 7);
SELECT simulate_executions('x', -1);
SELECT simulate_executions('', 10);
SELECT count(*), count(DISTINCT task_type), bool_and(cardinality(agents) BETWEEN 2 AND 4) AS team_sizes,
       bool_and(created_at BETWEEN now() - interval '30 days' AND now()) AS last_30_days
FROM executions;
-- the same seed gives the same executions
SELECT (SELECT array_agg(success ORDER BY ordinality) FROM generate_executions(50, 5) WITH ORDINALITY)
     = (SELECT array_agg(success ORDER BY ordinality) FROM generate_executions(50, 5) WITH ORDINALITY) AS reproducible;

-- training: holdout quality is reported and stored
SELECT r ? 'auc' AND r ? 'log_loss' AND r ? 'brier' AND r ? 'features' AND r ? 'duration' AS complete,
       (r ->> 'n')::int AS n, (r ->> 'auc')::float > 0.75 AS good_auc, (r ->> 'brier')::float < 0.2 AS good_brier,
       (r -> 'duration' ->> 'median_relative_error')::float < 0.35 AS good_duration, r ->> 'version' AS version
FROM train_success_model() AS r;
SELECT name, version, metrics ->> 'n' AS n FROM models;
-- predictions find the planted effects
SELECT predict_success('code_change', ARRAY['planner', 'coder', 'reviewer'], 5) > 0.85 AS best_is_likely,
       predict_success('code_change', ARRAY['coder', 'deployer'], 5) < 0.35 AS bad_is_unlikely,
       predict_success('code_change', ARRAY['writer', 'tester'], 2)
           > predict_success('code_change', ARRAY['writer', 'tester'], 9) AS harder_fails_more,
       estimate_duration('code_change', ARRAY['researcher', 'writer'], 5)
           / estimate_duration('code_change', ARRAY['critic', 'writer'], 5) BETWEEN 3 AND 5.5 AS researcher_slow;
-- unknown names still predict; NULL task type or agents give NULL
SELECT predict_success('never_seen', ARRAY['nobody']) BETWEEN 0 AND 1 AS in_range,
       predict_success(NULL, ARRAY['coder']) IS NULL AS null_type, predict_success('x', NULL) IS NULL AS null_agents;
SELECT predict_success('code_change', ARRAY[]::text[]);
SELECT predict_success('code_change', ARRAY['coder', NULL]);
SELECT predict_success('code_change', ARRAY['coder'], 'NaN');
SELECT predict_success('code_change', ARRAY['coder'], 5, 'no_such_model');
SELECT estimate_duration('code_change', ARRAY['coder'], 5, 'no_such_model');
SELECT train_success_model('');
SELECT train_success_model('m', 0);
SELECT train_success_model('m', 100, 0);
SELECT train_success_model('m', 100, 'NaN');
-- max_rows bounds the training set to the most recent executions
SELECT (train_success_model('recent', 500) ->> 'n')::int AS n_recent;
-- quality figures are meaningful only with enough holdout rows of each
-- outcome: on 30 rows the report and a WARNING say they are not
SELECT r -> 'meaningful' AS meaningful, r ->> 'warning' AS warning, (r ->> 'n')::int AS n,
       least((r ->> 'holdout_successes')::int, (r ->> 'holdout_failures')::int) < 10 AS small_holdout
FROM train_success_model('tiny', max_rows => 30) AS r;
SELECT name, metrics -> 'meaningful' AS meaningful, metrics ? 'warning' AS warned FROM models ORDER BY name;

-- recommendations: ranked by predicted success, with their support
SELECT agents, round(p_success::numeric, 2) > 0.85 AS likely, support > 0 AS seen
FROM recommend_agents('code_change', 5, 3, 3);
SELECT agents FROM recommend_agents('code_change', 5, 1, 3);
-- a team is a set: the same agents recorded in different orders make one
-- candidate, shown in name order, with the executions of every order as its
-- support; k teams are k distinct sets
SELECT count(DISTINCT agents) AS orderings_of_one_team FROM executions
WHERE task_type = 'code_change' AND agents @> ARRAY['planner', 'coder', 'reviewer'] AND cardinality(agents) = 3;
SELECT agents, support = (SELECT count(*) FROM executions e WHERE e.task_type = 'code_change'
                          AND e.agents @> r.agents AND e.agents <@ r.agents) AS support_counts_every_order
FROM recommend_agents('code_change', complexity => 5, k => 3) AS r;
SELECT count(*) AS teams, count(DISTINCT agents) AS distinct_teams,
       bool_and(agents = ARRAY(SELECT a FROM unnest(agents) AS a ORDER BY a COLLATE "C")) AS in_name_order,
       bool_and(abs(p_success - predict_success('code_change', agents, 5)) < 1e-12) AS scored_as_shown
FROM recommend_agents('code_change', complexity => 5, k => 20);
SELECT count(*) FROM recommend_agents('code_change', NULL, 5, 1);
SELECT recommend_agents('code_change', 5, 0);
SELECT recommend_agents('code_change', 5, 5, 0);
SELECT recommend_agents('code_change', 5, 5, 17);
SELECT count(*) FROM recommend_agents(NULL);
-- too little history says so
SELECT record_execution('rare', ARRAY['coder'], true, 1) > 0 AS recorded;
SELECT * FROM recommend_agents('rare');
-- observe mode: recording only
SELECT set_learning_mode('observe');
SELECT * FROM recommend_agents('code_change');
SELECT set_learning_mode('recommend');

-- task lifecycle
SELECT assigned_agents IS NULL AS not_assigned_in_recommend_mode, recommended_agents, p_success > 0.85 AS likely
FROM begin_task('code_change', 5);
SELECT set_learning_mode('adapt');
SELECT task_id AS adapted_task, assigned_agents FROM begin_task('code_change', 5) \gset
SELECT :'assigned_agents' AS picked_by_adapt_mode;
SELECT finish_task(:'adapted_task', true) > 0 AS finished;
SELECT agents, success, duration_s >= 0 AS timed FROM executions WHERE task_id = :'adapted_task';
\set VERBOSITY sqlstate
SELECT finish_task(:'adapted_task', true);
\set VERBOSITY default
SELECT finish_task('no-such-task', true);
SELECT set_learning_mode('recommend');
SELECT task_id AS own_task FROM begin_task('code_change', 3, ARRAY['writer', 'critic']) \gset
SELECT finish_task(:'own_task', false, error => 'HTTP 500', satisfaction => 2) > 0 AS finished;
SELECT agents, success, error, satisfaction FROM executions WHERE task_id = :'own_task';
SELECT begin_task('', 1);

-- views
SELECT agent, executions > 0 AS used, success_rate BETWEEN 0 AND 1 AS rate_ok,
       p95_duration_s >= mean_duration_s * 0.5 AS p95_ok, success_rate_trend IS NOT NULL AS has_trend
FROM agent_performance ORDER BY agent;
SELECT mode, executions > 5000 AS has_history, model, model_version, model_auc > 0.75 AS good FROM learning_status;

-- insights credit a set only against comparable teams: the planted bad pair
-- coder + deployer, not deployer or coder alone (teams with coder make
-- deployer look bad); the planted best trio, not its parts
SELECT refresh_insights() AS insights;
SELECT kind, task_type, agents, confidence > 0.99 AS confident FROM latest_insights ORDER BY kind, task_type, agents;
SELECT count(*) AS confounded FROM insights
WHERE agents IN (ARRAY['deployer'], ARRAY['coder'], ARRAY['planner'], ARRAY['reviewer'], ARRAY['coder', 'planner'],
                 ARRAY['coder', 'reviewer'], ARRAY['planner', 'reviewer']);
-- descriptions read as sentences, for one agent and for several
SELECT description FROM latest_insights ORDER BY kind, task_type, agents;
SELECT bool_and(CASE WHEN kind = 'slow_pattern' THEN description ~ '^teams with \S+( \+ \S+)* take '
                     WHEN cardinality(agents) = 1 THEN description ~ '^\S+ (fails|succeeds) .* without it'
                     ELSE description ~ '^\S+( \+ \S+)+ (fail|succeed) .* missing one of them' END) AS grammatical
FROM insights;
-- data holds the statistics behind each insight
SELECT kind, array(SELECT jsonb_object_keys(data) ORDER BY 1) AS keys FROM insights
WHERE task_type = 'code_change' ORDER BY kind;
-- (data keeps 15 digits here: extra_float_digits = 0)
SELECT bool_and(confidence BETWEEN 0 AND 1 AND abs(confidence - (1 - (data ->> 'p_adjusted')::double precision)) < 1e-12
                AND abs((data ->> 'p_adjusted')::double precision
                        - least(1, (data ->> 'p_value')::double precision * (data ->> 'sets_tested')::int)) < 1e-12
                AND jsonb_array_length(data -> 'members') = cardinality(agents)) AS consistent
FROM insights;

-- a history with known answers: six agents, each in a team with probability
-- 1/2; success log-odds 0.3 + 2.5 when alpha and beta work together - 1.5 for
-- gamma - 1.5 for eps (two independent bad agents: no bad pair); four times
-- longer with delta
CREATE TABLE saved_executions AS SELECT * FROM executions;
CREATE TABLE saved_tasks AS SELECT * FROM tasks;
TRUNCATE executions CASCADE;
INSERT INTO executions (task_type, agents, complexity, success, duration_s)
SELECT 'synthetic', t.team, 1 + 9 * u.c,
       u.s < 1 / (1 + exp(-(0.3 + CASE WHEN t.team @> '{alpha,beta}' THEN 2.5 ELSE 0 END
                            - CASE WHEN 'gamma' = ANY (t.team) THEN 1.5 ELSE 0 END
                            - CASE WHEN 'eps' = ANY (t.team) THEN 1.5 ELSE 0 END))),
       20 * exp(0.3 * (u.d - 0.5)) * CASE WHEN 'delta' = ANY (t.team) THEN 4 ELSE 1 END
FROM generate_series(1, 3000) AS i
CROSS JOIN LATERAL (SELECT hash_bucket('team/' || i, 63) + 1 AS bits) b
CROSS JOIN LATERAL (SELECT ARRAY(SELECT x FROM unnest(ARRAY['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta'])
                                 WITH ORDINALITY AS a(x, k) WHERE b.bits & (1 << (k::int - 1)) <> 0) AS team) t
CROSS JOIN LATERAL (SELECT hash_bucket('success/' || i, 1000000) / 1e6 AS s,
                           hash_bucket('complexity/' || i, 1000000) / 1e6 AS c,
                           hash_bucket('duration/' || i, 1000000) / 1e6 AS d) u;
SELECT refresh_insights() AS insights;
SELECT kind, agents, confidence > 0.99 AS confident, description FROM latest_insights ORDER BY kind, agents;

-- two concurrent refreshes: the second waits for the first and replaces its
-- rows instead of adding to them
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_database(),
	current_user));
SELECT dblink_send_query('other', $$SELECT agentgres.refresh_insights(), pg_sleep(1)$$);
SELECT pg_sleep(0.3);
SELECT refresh_insights() AS insights;
SELECT * FROM dblink_get_result('other') AS t(insights integer, slept text);
SELECT count(*) AS finished FROM dblink_get_result('other') AS t(insights integer, slept text);
SELECT count(*) AS rows, count(DISTINCT (kind, agents)) AS distinct_rows FROM insights;
-- a snapshot older than the table would miss a concurrent refresh's rows
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT refresh_insights();
ROLLBACK;
SELECT refresh_insights(10, 0);
TRUNCATE executions CASCADE;
INSERT INTO executions OVERRIDING SYSTEM VALUE SELECT * FROM saved_executions;
INSERT INTO tasks SELECT * FROM saved_tasks;
DROP TABLE saved_executions, saved_tasks;

-- a retrained model is used at once in this backend and, through the
-- relcache invalidation, by every other backend without a reconnect
SELECT * FROM dblink('other', $$SELECT agentgres.predict_success('code_change', ARRAY['coder', 'deployer'], 5)$$)
	AS t(p double precision) \gset before_
UPDATE executions SET success = true WHERE agents @> ARRAY['coder', 'deployer'];
SELECT (train_success_model() ->> 'version')::int AS new_version;
SELECT predict_success('code_change', ARRAY['coder', 'deployer'], 5) > 0.8 AS here_sees_new_model;
SELECT p > 0.8 AS other_backend_sees_new_model, :before_p < 0.35 AS it_saw_the_old_one
FROM dblink('other', $$SELECT agentgres.predict_success('code_change', ARRAY['coder', 'deployer'], 5)$$)
	AS t(p double precision);
SELECT dblink_disconnect('other');
DROP EXTENSION dblink;
