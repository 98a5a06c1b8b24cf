-- Learning: executions, models, recommendations, patterns, insights, experiments, simulator
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql.

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE agentgres.agent_catalog (
	name text PRIMARY KEY CHECK (name <> ''),
	capabilities text[] NOT NULL DEFAULT '{}',
	description text,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE agentgres.agent_catalog IS
	'agents known to the system; in strict mode record_execution accepts only these';

-- One row: how the learning system behaves.
CREATE TABLE agentgres.learning_settings (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	mode text NOT NULL DEFAULT 'recommend' CHECK (mode IN ('off', 'observe', 'recommend', 'adapt')),
	strict_catalog boolean NOT NULL DEFAULT false,
	min_history integer NOT NULL DEFAULT 20 CHECK (min_history >= 1),
	updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO agentgres.learning_settings DEFAULT VALUES;
COMMENT ON TABLE agentgres.learning_settings IS
	'mode: off (nothing recorded or recommended), observe (record only), recommend (recommend_agents answers), '
	'adapt (begin_task picks agents itself); strict_catalog: only agents in agent_catalog; min_history: '
	'executions of a task type needed before recommending';

CREATE TABLE agentgres.executions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	task_id text,
	task_type text NOT NULL CHECK (task_type <> ''),
	complexity double precision CHECK (complexity > '-Infinity' AND complexity < 'Infinity'),
	agents text[] NOT NULL CHECK (cardinality(agents) BETWEEN 1 AND 64 AND array_position(agents, NULL) IS NULL
	                              AND array_ndims(agents) = 1),
	success boolean NOT NULL,
	duration_s double precision NOT NULL CHECK (duration_s >= 0 AND duration_s < 'Infinity'),
	error text,
	satisfaction smallint CHECK (satisfaction BETWEEN 1 AND 10),
	resources jsonb,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX executions_task_type_created_at ON agentgres.executions (task_type, created_at);
CREATE INDEX executions_created_at ON agentgres.executions (created_at);
CREATE INDEX executions_task_id ON agentgres.executions (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX executions_agents ON agentgres.executions USING gin (agents);
COMMENT ON TABLE agentgres.executions IS 'every recorded task execution; agents keep their order (the first leads)';

-- Tasks started with begin_task and not yet finished.
CREATE TABLE agentgres.tasks (
	task_id text PRIMARY KEY,
	task_type text NOT NULL,
	complexity double precision,
	agents text[],
	recommended_agents text[],
	started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at timestamptz,
	execution_id bigint REFERENCES agentgres.executions (id) ON DELETE SET NULL
);
CREATE INDEX tasks_unfinished ON agentgres.tasks (started_at) WHERE finished_at IS NULL;

CREATE TABLE agentgres.models (
	name text PRIMARY KEY CHECK (name <> ''),
	version bigint NOT NULL DEFAULT 1,
	model jsonb NOT NULL,
	metrics jsonb NOT NULL,
	trained_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE agentgres.models IS
	'trained success and duration models; every backend reloads a model when its version changes';

CREATE TABLE agentgres.insights (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL CHECK (kind IN ('best_combo', 'avoid_pattern', 'slow_pattern')),
	task_type text,
	agents text[] NOT NULL,
	confidence double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
	description text NOT NULL,
	data jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX insights_kind ON agentgres.insights (kind, confidence DESC);

CREATE TABLE agentgres.experiments (
	name text PRIMARY KEY CHECK (name <> ''),
	variants text[] NOT NULL CHECK (cardinality(variants) >= 2 AND array_position(variants, NULL) IS NULL),
	description text,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE agentgres.experiments IS 'A/B experiments; the first variant is the control';

CREATE TABLE agentgres.experiment_assignments (
	experiment text NOT NULL REFERENCES agentgres.experiments (name) ON DELETE CASCADE,
	subject text NOT NULL,
	variant text NOT NULL,
	assigned_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (experiment, subject)
);

-- pg_dump keeps the rows of these tables (and the identity counters), not
-- only their definitions: they are data, not part of the extension.
SELECT pg_catalog.pg_extension_config_dump('agentgres.agent_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.learning_settings', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.executions', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.executions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.tasks', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.models', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.insights', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.insights_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.experiments', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.experiment_assignments', '');

------------------------------------------------------------------------------
-- Statistics helpers (C++)
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.wilson_interval(successes bigint, n bigint, z double precision DEFAULT 1.959963984540054,
                                          OUT low double precision, OUT high double precision)
	AS 'MODULE_PATHNAME', 'agentgres_wilson_interval' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.wilson_interval(bigint, bigint, double precision) IS
	'Wilson score interval of a proportion (95% by default); [0, 1] when n = 0';
CREATE FUNCTION agentgres.two_proportion_z_test(successes_a bigint, n_a bigint, successes_b bigint, n_b bigint,
                                                OUT z double precision, OUT p_value double precision)
	AS 'MODULE_PATHNAME', 'agentgres_two_proportion_z_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.two_proportion_z_test(bigint, bigint, bigint, bigint) IS
	'pooled two-proportion z-test of b against a: z and the two-sided p-value';
CREATE FUNCTION agentgres.normal_cdf(x double precision) RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_normal_cdf' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.normal_cdf(double precision) IS 'standard normal cumulative distribution';
CREATE FUNCTION agentgres.hash_bucket(key text, buckets integer) RETURNS integer
	AS 'MODULE_PATHNAME', 'agentgres_hash_bucket' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.hash_bucket(text, integer) IS
	'0 .. buckets-1 from a stable 64-bit hash of key (the same on every platform and version)';
CREATE FUNCTION agentgres.error_template(message text) RETURNS text
	AS 'MODULE_PATHNAME', 'agentgres_error_template' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.error_template(text) IS
	'error message as a template: tokens with digits, quoted and key= values, paths, URLs, dotted names, '
	'user@host and lists replaced by placeholders';
CREATE FUNCTION agentgres.error_templates(messages text[]) RETURNS text[]
	AS 'MODULE_PATHNAME', 'agentgres_error_templates' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.error_templates(text[]) IS
	'one template per message, grouped across the messages (Drain-style prefix tree, order-independent); '
	'NULL stays NULL';

------------------------------------------------------------------------------
-- Learning mode
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.set_learning_mode(mode text) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF mode IS NULL OR mode NOT IN ('off', 'observe', 'recommend', 'adapt') THEN
		RAISE EXCEPTION 'unrecognized learning mode "%"', mode
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use off, observe, recommend or adapt.';
	END IF;
	UPDATE agentgres.learning_settings SET mode = set_learning_mode.mode, updated_at = now();
	RETURN mode;
END $$;
COMMENT ON FUNCTION agentgres.set_learning_mode(text) IS 'switches off | observe | recommend | adapt';

CREATE FUNCTION agentgres.learning_mode() RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
	AS $$ SELECT mode FROM agentgres.learning_settings $$;

CREATE VIEW agentgres.learning_status AS
SELECT s.mode, s.strict_catalog, s.min_history,
       (SELECT count(*) FROM agentgres.executions) AS executions,
       (SELECT count(DISTINCT task_type) FROM agentgres.executions) AS task_types,
       m.name AS model, m.version AS model_version, m.trained_at AS model_trained_at,
       (m.metrics ->> 'auc')::double precision AS model_auc,
       (SELECT count(*) FROM agentgres.insights) AS insights
FROM agentgres.learning_settings s
LEFT JOIN agentgres.models m ON m.name = 'default';
COMMENT ON VIEW agentgres.learning_status IS 'the learning mode and what the system has learned so far';

------------------------------------------------------------------------------
-- Recording
------------------------------------------------------------------------------

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

------------------------------------------------------------------------------
-- Models (C++: logistic regression and ridge regression in Eigen)
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.train_success_model(model_name text DEFAULT 'default', max_rows integer DEFAULT 1000000,
                                              l2 double precision DEFAULT 1.0) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'agentgres_train_success_model' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION agentgres.train_success_model(text, integer, double precision) IS
	'trains the success and duration models on the most recent max_rows executions; returns their holdout quality';

CREATE FUNCTION agentgres.predict_success(task_type text, agents text[], complexity double precision DEFAULT NULL,
                                          model_name text DEFAULT 'default') RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_predict_success' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION agentgres.predict_success(text, text[], double precision, text) IS
	'probability that the agents succeed at the task, from the trained model';
CREATE FUNCTION agentgres.estimate_duration(task_type text, agents text[], complexity double precision DEFAULT NULL,
                                            model_name text DEFAULT 'default') RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_estimate_duration' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION agentgres.estimate_duration(text, text[], double precision, text) IS
	'expected duration in seconds (log-normal mean), from the trained model';

CREATE FUNCTION agentgres.recommend_agents(task_type text, complexity double precision DEFAULT NULL,
                                           k integer DEFAULT 5, max_agents integer DEFAULT 4)
	RETURNS TABLE (agents text[], p_success double precision, expected_duration_s double precision, support bigint)
	AS 'MODULE_PATHNAME', 'agentgres_recommend_agents' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION agentgres.recommend_agents(text, double precision, integer, integer) IS
	'agent sets ranked by predicted success, then expected duration; support = executions with exactly that set';

------------------------------------------------------------------------------
-- Task lifecycle
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.begin_task(task_type text, complexity double precision DEFAULT NULL,
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
COMMENT ON FUNCTION agentgres.begin_task(text, double precision, text[]) IS
	'starts a task; recommends agents when none are given (mode recommend) or picks them (mode adapt)';

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

------------------------------------------------------------------------------
-- Patterns: a parallel-safe C++ aggregate
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.pattern_transition(internal, text, text[], boolean, double precision, text, integer)
	RETURNS internal AS 'MODULE_PATHNAME', 'agentgres_pattern_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION agentgres.pattern_combine(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'agentgres_pattern_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION agentgres.pattern_serialize(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'agentgres_pattern_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.pattern_deserialize(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'agentgres_pattern_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.pattern_final(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'agentgres_pattern_serialize' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- The state serializes with a format version first; a stored bytea stays
-- readable by pattern_rows as long as that version is supported.
CREATE AGGREGATE agentgres.pattern_summary(task_type text, agents text[], success boolean,
                                           duration_s double precision, error text, max_size integer) (
	SFUNC = agentgres.pattern_transition,
	STYPE = internal,
	COMBINEFUNC = agentgres.pattern_combine,
	SERIALFUNC = agentgres.pattern_serialize,
	DESERIALFUNC = agentgres.pattern_deserialize,
	FINALFUNC = agentgres.pattern_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE agentgres.pattern_summary(text, text[], boolean, double precision, text, integer) IS
	'statistics of every agent set and its subsets up to max_size, per task type and overall, as a state for pattern_rows';

CREATE FUNCTION agentgres.pattern_rows(summary bytea, min_support integer DEFAULT 5, max_size integer DEFAULT 5)
	RETURNS TABLE (task_type text, agents text[], n bigint, successes bigint, success_rate double precision,
	               wilson_low double precision, wilson_high double precision, mean_duration_s double precision,
	               p95_duration_s double precision, top_error text, top_error_count bigint)
	AS 'MODULE_PATHNAME', 'agentgres_pattern_rows' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION agentgres.agent_patterns(min_support integer DEFAULT 5, since timestamptz DEFAULT NULL,
                                         max_size integer DEFAULT 3)
	RETURNS TABLE (task_type text, agents text[], n bigint, successes bigint, success_rate double precision,
	               wilson_low double precision, wilson_high double precision, mean_duration_s double precision,
	               p95_duration_s double precision, top_error text, top_error_count bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT p.*
	FROM agentgres.pattern_rows(
		(SELECT agentgres.pattern_summary(e.task_type, e.agents, e.success, e.duration_s, e.error, max_size)
		 FROM agentgres.executions e
		 WHERE since IS NULL OR e.created_at >= since),
		min_support, max_size) AS p
$$;
COMMENT ON FUNCTION agentgres.agent_patterns(integer, timestamptz, integer) IS
	'agent sets and their subsets up to max_size, per task type and overall (task_type NULL): support, success '
	'rate with 95% Wilson bounds, mean and p95 duration, most common error template';

------------------------------------------------------------------------------
-- Insights and views
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.refresh_insights(min_support integer DEFAULT 10, significance double precision DEFAULT 0.05)
RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	written integer;
BEGIN
	IF min_support IS NULL OR min_support < 1 THEN
		RAISE EXCEPTION 'min_support must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF significance IS NULL OR NOT (significance > 0 AND significance < 1) THEN
		RAISE EXCEPTION 'significance must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM agentgres.insights;

	WITH patterns AS (
		SELECT * FROM agentgres.agent_patterns(min_support, NULL, 3) WHERE task_type IS NOT NULL
	), baseline AS (
		SELECT e.task_type, count(*) AS n, count(*) FILTER (WHERE e.success) AS successes,
		       avg(ln(greatest(e.duration_s, 1e-3))) AS mean_log, stddev_samp(ln(greatest(e.duration_s, 1e-3))) AS sd_log,
		       avg(e.duration_s) AS mean_duration
		FROM agentgres.executions e GROUP BY e.task_type
	), tested AS (
		-- each pattern against the rest of its task type's executions
		SELECT p.*, b.n AS type_n, b.successes AS type_successes, b.successes::double precision / b.n AS type_rate,
		       b.mean_duration,
		       t.z, t.p_value
		FROM patterns p JOIN baseline b USING (task_type),
		LATERAL agentgres.two_proportion_z_test(b.successes - p.successes, b.n - p.n, p.successes, p.n) AS t
		WHERE b.n > p.n
	), best AS (
		SELECT * FROM (
			SELECT t.*, row_number() OVER (PARTITION BY t.task_type ORDER BY t.wilson_low DESC, t.n DESC) AS position
			FROM tested t
			WHERE cardinality(t.agents) >= 2 AND t.z > 0 AND t.p_value < significance AND t.wilson_low > t.type_rate
		) ranked WHERE position = 1
	), avoid AS (
		SELECT t.* FROM tested t
		WHERE t.z < 0 AND t.p_value < significance AND t.wilson_high < t.type_rate
	), avoid_explained AS (
		-- Keep a set unless a flagged superset explains it (without the
		-- superset's executions it is no longer significantly worse), or a
		-- flagged subset explains it (it is not significantly worse than the
		-- rest of that subset's executions).
		SELECT a.* FROM avoid a
		WHERE NOT EXISTS (
			SELECT FROM avoid b,
			LATERAL agentgres.two_proportion_z_test(a.type_successes - a.successes, a.type_n - a.n,
			                                        a.successes - b.successes, a.n - b.n) AS rest
			WHERE b.task_type = a.task_type AND b.agents @> a.agents AND cardinality(b.agents) > cardinality(a.agents)
			  AND a.n > b.n AND NOT (rest.p_value < significance AND rest.z < 0))
		  AND NOT EXISTS (
			SELECT FROM avoid b,
			LATERAL agentgres.two_proportion_z_test(b.successes - a.successes, b.n - a.n, a.successes, a.n) AS inside
			WHERE b.task_type = a.task_type AND b.agents <@ a.agents AND cardinality(b.agents) < cardinality(a.agents)
			  AND b.n > a.n AND NOT (inside.p_value < significance AND inside.z < 0))
	)
	INSERT INTO agentgres.insights (kind, task_type, agents, confidence, description, data)
	SELECT 'best_combo', task_type, agents, 1 - p_value,
	       format('%s succeed %s%% of the time at %s (n=%s) against %s%% for other teams',
	              array_to_string(agents, ' + '), round(100 * success_rate), task_type, n, round(100 * type_rate)),
	       jsonb_build_object('n', n, 'success_rate', success_rate, 'wilson_low', wilson_low,
	                          'baseline_rate', type_rate, 'z', z, 'p_value', p_value)
	FROM best
	UNION ALL
	SELECT 'avoid_pattern', task_type, agents, 1 - p_value,
	       format('%s fail %s%% of the time at %s (n=%s) against %s%% for other teams%s',
	              array_to_string(agents, ' + '), round(100 * (1 - success_rate)), task_type, n,
	              round(100 * (1 - type_rate)),
	              CASE WHEN top_error IS NOT NULL THEN format('; most often: %s', top_error) ELSE '' END),
	       jsonb_build_object('n', n, 'success_rate', success_rate, 'wilson_high', wilson_high,
	                          'baseline_rate', type_rate, 'z', z, 'p_value', p_value,
	                          'top_error', top_error, 'top_error_count', top_error_count)
	FROM avoid_explained;

	-- Slow: sets whose log durations are significantly longer than the rest
	-- of their task type (Welch's test on log seconds) and at least 1.5x on
	-- average; minimal sets only.
	WITH candidates AS (
		SELECT p.task_type, p.agents, p.n, p.mean_duration_s, p.p95_duration_s
		FROM agentgres.agent_patterns(min_support, NULL, 2) p
		WHERE p.task_type IS NOT NULL
	), compared AS (
		SELECT c.*, inside.mean_log AS in_log, inside.var_log AS in_var, inside.n AS in_n,
		       outside.mean_log AS out_log, outside.var_log AS out_var, outside.n AS out_n,
		       outside.mean_duration AS out_mean
		FROM candidates c,
		LATERAL (SELECT avg(ln(greatest(e.duration_s, 1e-3))) AS mean_log,
		                var_samp(ln(greatest(e.duration_s, 1e-3))) AS var_log, count(*) AS n
		         FROM agentgres.executions e WHERE e.task_type = c.task_type AND e.agents @> c.agents) inside,
		LATERAL (SELECT avg(ln(greatest(e.duration_s, 1e-3))) AS mean_log,
		                var_samp(ln(greatest(e.duration_s, 1e-3))) AS var_log, count(*) AS n,
		                avg(e.duration_s) AS mean_duration
		         FROM agentgres.executions e WHERE e.task_type = c.task_type AND NOT e.agents @> c.agents) outside
		WHERE outside.n >= 2 AND inside.n >= 2
	), scored AS (
		SELECT c.*, (in_log - out_log) / nullif(sqrt(in_var / in_n + out_var / out_n), 0) AS z
		FROM compared c
		WHERE c.mean_duration_s >= 1.5 * c.out_mean
	), slow AS (
		SELECT s.*, 2 * agentgres.normal_cdf(-abs(s.z)) AS p_value FROM scored s WHERE s.z > 0
	), slow_minimal AS (
		SELECT a.* FROM slow a
		WHERE a.p_value < significance
		  AND NOT EXISTS (SELECT FROM slow b WHERE b.task_type = a.task_type AND b.p_value < significance
		                  AND b.agents <@ a.agents AND cardinality(b.agents) < cardinality(a.agents))
	)
	INSERT INTO agentgres.insights (kind, task_type, agents, confidence, description, data)
	SELECT 'slow_pattern', task_type, agents, 1 - p_value,
	       format('%s take %s s on average at %s (n=%s), %sx the %s s of other teams',
	              array_to_string(agents, ' + '), round(mean_duration_s::numeric, 1), task_type, n,
	              round((mean_duration_s / out_mean)::numeric, 1), round(out_mean::numeric, 1)),
	       jsonb_build_object('n', n, 'mean_duration_s', mean_duration_s, 'p95_duration_s', p95_duration_s,
	                          'others_mean_duration_s', out_mean, 'z', z, 'p_value', p_value)
	FROM slow_minimal;

	SELECT count(*) INTO written FROM agentgres.insights;
	RETURN written;
END $$;
COMMENT ON FUNCTION agentgres.refresh_insights(integer, double precision) IS
	'replaces agentgres.insights with best_combo, avoid_pattern and slow_pattern insights; confidence is 1 minus the '
	'p-value of the test behind each insight';

CREATE VIEW agentgres.latest_insights AS
SELECT id, kind, task_type, agents, confidence, description, data, created_at
FROM agentgres.insights ORDER BY kind, confidence DESC, task_type, agents;

CREATE VIEW agentgres.agent_performance AS
SELECT a.agent,
       count(*) AS executions,
       avg(e.success::int)::double precision AS success_rate,
       avg(e.duration_s) AS mean_duration_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY e.duration_s) AS p95_duration_s,
       avg((e.error IS NOT NULL)::int)::double precision AS error_rate,
       avg(e.success::int) FILTER (WHERE e.created_at >= now() - interval '7 days')::double precision
           AS success_rate_last_7_days,
       avg(e.success::int) FILTER (WHERE e.created_at < now() - interval '7 days')::double precision
           AS success_rate_before,
       (avg(e.success::int) FILTER (WHERE e.created_at >= now() - interval '7 days')
        - avg(e.success::int) FILTER (WHERE e.created_at < now() - interval '7 days'))::double precision
           AS success_rate_trend
FROM agentgres.executions e, LATERAL (SELECT DISTINCT x AS agent FROM unnest(e.agents) AS x) a
GROUP BY a.agent;
COMMENT ON VIEW agentgres.agent_performance IS
	'per agent: success rate, mean and p95 duration, error rate, and the last 7 days against the time before';

------------------------------------------------------------------------------
-- A/B experiments
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.assign_variant(experiment text, subject text) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	variant_list text[];
	chosen text;
BEGIN
	IF subject IS NULL THEN
		RAISE EXCEPTION 'subject must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT variants INTO variant_list FROM agentgres.experiments WHERE name = experiment;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'experiment "%" does not exist', experiment USING ERRCODE = 'undefined_object',
			HINT = 'Create it with INSERT INTO agentgres.experiments (name, variants) VALUES (...).';
	END IF;
	chosen := variant_list[1 + agentgres.hash_bucket(experiment || E'\x1f' || subject, cardinality(variant_list))];
	INSERT INTO agentgres.experiment_assignments (experiment, subject, variant)
	VALUES (assign_variant.experiment, assign_variant.subject, chosen)
	ON CONFLICT ON CONSTRAINT experiment_assignments_pkey DO NOTHING;
	-- An existing assignment stands, even if the variant list changed since.
	SELECT a.variant INTO chosen FROM agentgres.experiment_assignments a
	WHERE a.experiment = assign_variant.experiment AND a.subject = assign_variant.subject;
	RETURN chosen;
END $$;
COMMENT ON FUNCTION agentgres.assign_variant(text, text) IS
	'the variant of an experiment for a subject (a task id): deterministic by hashing, remembered once assigned';

CREATE FUNCTION agentgres.experiment_results(experiment text)
RETURNS TABLE (variant text, subjects bigint, executions bigint, successes bigint, success_rate double precision,
               difference double precision, z double precision, p_value double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	variant_list text[];
BEGIN
	SELECT variants INTO variant_list FROM agentgres.experiments WHERE name = experiment;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'experiment "%" does not exist', experiment USING ERRCODE = 'undefined_object';
	END IF;
	RETURN QUERY
	WITH per_variant AS (
		SELECT v.variant, v.position,
		       (SELECT count(*) FROM agentgres.experiment_assignments a
		        WHERE a.experiment = experiment_results.experiment AND a.variant = v.variant) AS subjects,
		       count(e.id) AS executions, count(e.id) FILTER (WHERE e.success) AS successes
		FROM unnest(variant_list) WITH ORDINALITY AS v(variant, position)
		LEFT JOIN agentgres.experiment_assignments a
		       ON a.experiment = experiment_results.experiment AND a.variant = v.variant
		LEFT JOIN agentgres.executions e ON e.task_id = a.subject
		GROUP BY v.variant, v.position
	), control AS (
		SELECT * FROM per_variant WHERE position = 1
	)
	SELECT p.variant, p.subjects, p.executions, p.successes,
	       p.successes::double precision / nullif(p.executions, 0),
	       CASE WHEN p.position = 1 THEN NULL
	            ELSE p.successes::double precision / nullif(p.executions, 0)
	                 - c.successes::double precision / nullif(c.executions, 0) END,
	       CASE WHEN p.position = 1 THEN NULL ELSE t.z END,
	       CASE WHEN p.position = 1 THEN NULL ELSE t.p_value END
	FROM per_variant p CROSS JOIN control c
	LEFT JOIN LATERAL agentgres.two_proportion_z_test(c.successes, c.executions, p.successes, p.executions) t ON true
	ORDER BY p.position;
END $$;
COMMENT ON FUNCTION agentgres.experiment_results(text) IS
	'per variant: subjects, executions and success rate; against the control (first variant): difference, z and '
	'two-sided p-value of a two-proportion z-test';

------------------------------------------------------------------------------
-- Simulator
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.generate_executions(n integer, seed bigint DEFAULT 1)
	RETURNS TABLE (agents text[], complexity double precision, success boolean, duration_s double precision,
	               error text, age_s double precision)
	AS 'MODULE_PATHNAME', 'agentgres_generate_executions' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.generate_executions(integer, bigint) IS
	'n executions from the documented ground truth (see README), the same for the same seed';

CREATE FUNCTION agentgres.simulate_executions(task_type text, n integer, seed bigint DEFAULT 1) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	inserted bigint;
BEGIN
	IF task_type IS NULL OR task_type = '' THEN
		RAISE EXCEPTION 'task_type must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF n IS NULL OR n < 0 OR n > 10000000 THEN
		RAISE EXCEPTION 'n must be between 0 and 10000000' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO agentgres.executions (task_id, task_type, complexity, agents, success, duration_s, error, created_at)
	SELECT NULL, simulate_executions.task_type, g.complexity, g.agents, g.success, g.duration_s, g.error,
	       now() - g.age_s * interval '1 second'
	FROM agentgres.generate_executions(n, coalesce(seed, 1)) AS g;
	GET DIAGNOSTICS inserted = ROW_COUNT;
	RETURN inserted;
END $$;
COMMENT ON FUNCTION agentgres.simulate_executions(text, integer, bigint) IS
	'inserts n simulated executions of a task type with planted good, bad and slow agent sets';
