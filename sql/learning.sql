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
-- pg_dump keeps the changed row (pg_extension_config_dump below), and a
-- restore runs CREATE EXTENSION, which inserts the default row, before it
-- loads the dumped one: so an insert replaces the row that is there, and the
-- restore brings back the dumped settings instead of failing on the key.
CREATE FUNCTION agentgres.learning_settings_replace() RETURNS trigger
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM agentgres.learning_settings s WHERE s.singleton = NEW.singleton;
	RETURN NEW;
END $$;
CREATE TRIGGER learning_settings_replace BEFORE INSERT ON agentgres.learning_settings
	FOR EACH ROW EXECUTE FUNCTION agentgres.learning_settings_replace();
INSERT INTO agentgres.learning_settings DEFAULT VALUES;
COMMENT ON TABLE agentgres.learning_settings IS
	'mode: off (nothing recorded or recommended), observe (record only), recommend (recommend_agents answers), '
	'adapt (begin_task picks agents itself); strict_catalog: only agents in agent_catalog; min_history: '
	'executions of a task type needed before recommending';

CREATE TABLE agentgres.executions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	task_id text,
	task_type text NOT NULL CHECK (task_type <> ''),
	complexity double precision CHECK (complexity >= -1e6 AND complexity <= 1e6),
	agents text[] NOT NULL CHECK (cardinality(agents) BETWEEN 1 AND 64 AND array_position(agents, NULL) IS NULL
	                              AND array_ndims(agents) = 1),
	success boolean NOT NULL,
	duration_s double precision NOT NULL CHECK (duration_s >= 0 AND duration_s <= 1e7),
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
COMMENT ON FUNCTION agentgres.agent_patterns(integer, timestamptz, integer) IS
	'agent sets and their subsets up to max_size, per task type and overall (task_type NULL): support, success '
	'rate with 95% Wilson bounds, mean and p95 duration, most common error template';

------------------------------------------------------------------------------
-- Insights and views
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.refresh_insights(min_support integer DEFAULT 10, significance double precision DEFAULT 0.05)
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
