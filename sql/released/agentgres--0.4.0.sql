-- agentgres 0.4.0: built from sql/vectors.sql sql/ranking.sql sql/learning.sql sql/shared_state.sql sql/jobs.sql sql/health.sql sql/roles.sql. Do not edit.
\echo Use "CREATE EXTENSION agentgres" to load this file. \quit

-- Vectors: the embedding type, casts, distances, comparison, exact top-k, pgvector interop
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql.

------------------------------------------------------------------------------
-- Type agentgres.embedding(n): float4 elements, same layout as pgvector's vector
------------------------------------------------------------------------------

CREATE TYPE agentgres.embedding;

CREATE FUNCTION agentgres.embedding_in(cstring, oid, integer) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_embedding_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_out(agentgres.embedding) RETURNS cstring
	AS 'MODULE_PATHNAME', 'agentgres_embedding_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME', 'agentgres_embedding_typmod_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_typmod_out(integer) RETURNS cstring
	AS 'MODULE_PATHNAME', 'agentgres_embedding_typmod_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_recv(internal, oid, integer) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_embedding_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_send(agentgres.embedding) RETURNS bytea
	AS 'MODULE_PATHNAME', 'agentgres_embedding_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION agentgres.embedding_in(cstring, oid, integer) IS 'I/O';
COMMENT ON FUNCTION agentgres.embedding_out(agentgres.embedding) IS 'I/O';
COMMENT ON FUNCTION agentgres.embedding_typmod_in(cstring[]) IS 'I/O';
COMMENT ON FUNCTION agentgres.embedding_typmod_out(integer) IS 'I/O';
COMMENT ON FUNCTION agentgres.embedding_recv(internal, oid, integer) IS 'I/O';
COMMENT ON FUNCTION agentgres.embedding_send(agentgres.embedding) IS 'I/O';

-- STORAGE external: vectors are moved out of line when large but never
-- compressed (random floats do not compress, and decompressing costs scans).
CREATE TYPE agentgres.embedding (
	INPUT = agentgres.embedding_in,
	OUTPUT = agentgres.embedding_out,
	TYPMOD_IN = agentgres.embedding_typmod_in,
	TYPMOD_OUT = agentgres.embedding_typmod_out,
	RECEIVE = agentgres.embedding_recv,
	SEND = agentgres.embedding_send,
	STORAGE = external
);
COMMENT ON TYPE agentgres.embedding IS 'dense float4 vector of 1 to 16000 dimensions; embedding(n) fixes n';

------------------------------------------------------------------------------
-- Casts
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.embedding(agentgres.embedding, integer, boolean) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_embedding_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.embedding(agentgres.embedding, integer, boolean) IS
	'checks a value against the dimensions of embedding(n)';

CREATE FUNCTION agentgres.array_to_embedding(real[], integer, boolean) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_float4_array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.array_to_embedding(double precision[], integer, boolean) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_float8_array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.array_to_embedding(integer[], integer, boolean) RETURNS agentgres.embedding
	AS 'SELECT agentgres.array_to_embedding($1::double precision[], $2, $3)'
	LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION agentgres.array_to_embedding(numeric[], integer, boolean) RETURNS agentgres.embedding
	AS 'SELECT agentgres.array_to_embedding($1::double precision[], $2, $3)'
	LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
CREATE FUNCTION agentgres.embedding_to_real_array(agentgres.embedding) RETURNS real[]
	AS 'MODULE_PATHNAME', 'agentgres_embedding_to_float4_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_to_double_array(agentgres.embedding) RETURNS double precision[]
	AS 'MODULE_PATHNAME', 'agentgres_embedding_to_float8_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION agentgres.array_to_embedding(real[], integer, boolean) IS 'cast real[] to embedding';
COMMENT ON FUNCTION agentgres.array_to_embedding(double precision[], integer, boolean) IS
	'cast double precision[] to embedding; every element must fit in real';
COMMENT ON FUNCTION agentgres.array_to_embedding(integer[], integer, boolean) IS 'cast integer[] to embedding';
COMMENT ON FUNCTION agentgres.array_to_embedding(numeric[], integer, boolean) IS 'cast numeric[] to embedding';
COMMENT ON FUNCTION agentgres.embedding_to_real_array(agentgres.embedding) IS 'cast embedding to real[]';
COMMENT ON FUNCTION agentgres.embedding_to_double_array(agentgres.embedding) IS
	'cast embedding to double precision[]';

CREATE CAST (agentgres.embedding AS agentgres.embedding)
	WITH FUNCTION agentgres.embedding(agentgres.embedding, integer, boolean) AS IMPLICIT;
CREATE CAST (real[] AS agentgres.embedding)
	WITH FUNCTION agentgres.array_to_embedding(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS agentgres.embedding)
	WITH FUNCTION agentgres.array_to_embedding(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (integer[] AS agentgres.embedding)
	WITH FUNCTION agentgres.array_to_embedding(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS agentgres.embedding)
	WITH FUNCTION agentgres.array_to_embedding(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (agentgres.embedding AS real[])
	WITH FUNCTION agentgres.embedding_to_real_array(agentgres.embedding) AS ASSIGNMENT;
CREATE CAST (agentgres.embedding AS double precision[])
	WITH FUNCTION agentgres.embedding_to_double_array(agentgres.embedding) AS ASSIGNMENT;

------------------------------------------------------------------------------
-- Distances and helpers
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.l2_distance(agentgres.embedding, agentgres.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.cosine_distance(agentgres.embedding, agentgres.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.cosine_similarity(agentgres.embedding, agentgres.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_cosine_similarity' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.inner_product(agentgres.embedding, agentgres.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.negative_inner_product(agentgres.embedding, agentgres.embedding)
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.dims(agentgres.embedding) RETURNS integer
	AS 'MODULE_PATHNAME', 'agentgres_embedding_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.norm(agentgres.embedding) RETURNS double precision
	AS 'MODULE_PATHNAME', 'agentgres_embedding_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.normalize(agentgres.embedding) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_embedding_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- NORMALIZE(...) is SQL-standard syntax that the parser always maps to
-- pg_catalog.normalize(text): call agentgres.normalize(e) qualified, or
-- l2_normalize(e) (pgvector's name), which needs no schema.
CREATE FUNCTION agentgres.l2_normalize(agentgres.embedding) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_embedding_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.kernel_isa() RETURNS text
	AS 'MODULE_PATHNAME', 'agentgres_kernel_isa' LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION agentgres.l2_distance(agentgres.embedding, agentgres.embedding) IS
	'Euclidean distance; the <-> operator';
COMMENT ON FUNCTION agentgres.cosine_distance(agentgres.embedding, agentgres.embedding) IS
	'1 - cosine similarity, in [0, 2]; NaN when either operand is all zeros; the <=> operator';
COMMENT ON FUNCTION agentgres.cosine_similarity(agentgres.embedding, agentgres.embedding) IS
	'cosine of the angle between the operands, in [-1, 1]; NaN when either is all zeros';
COMMENT ON FUNCTION agentgres.inner_product(agentgres.embedding, agentgres.embedding) IS 'dot product';
COMMENT ON FUNCTION agentgres.negative_inner_product(agentgres.embedding, agentgres.embedding) IS
	'minus the dot product, so that smaller is closer; the <#> operator';
COMMENT ON FUNCTION agentgres.dims(agentgres.embedding) IS 'number of dimensions';
COMMENT ON FUNCTION agentgres.norm(agentgres.embedding) IS 'Euclidean norm';
COMMENT ON FUNCTION agentgres.normalize(agentgres.embedding) IS
	'unit vector in the same direction; a zero vector stays zero';
COMMENT ON FUNCTION agentgres.l2_normalize(agentgres.embedding) IS
	'unit vector in the same direction (same as agentgres.normalize, callable without the schema)';
COMMENT ON FUNCTION agentgres.kernel_isa() IS
	'instruction set the distance kernels use in this backend: avx512, avx2 or portable';

CREATE OPERATOR agentgres.<-> (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding,
	FUNCTION = agentgres.l2_distance, COMMUTATOR = OPERATOR(agentgres.<->)
);
CREATE OPERATOR agentgres.<=> (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding,
	FUNCTION = agentgres.cosine_distance, COMMUTATOR = OPERATOR(agentgres.<=>)
);
CREATE OPERATOR agentgres.<#> (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding,
	FUNCTION = agentgres.negative_inner_product, COMMUTATOR = OPERATOR(agentgres.<#>)
);
COMMENT ON OPERATOR agentgres.<->(agentgres.embedding, agentgres.embedding) IS 'Euclidean distance';
COMMENT ON OPERATOR agentgres.<=>(agentgres.embedding, agentgres.embedding) IS 'cosine distance';
COMMENT ON OPERATOR agentgres.<#>(agentgres.embedding, agentgres.embedding) IS 'negative inner product';

------------------------------------------------------------------------------
-- Comparison and the btree operator class (DISTINCT, GROUP BY, UNIQUE)
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.embedding_lt(agentgres.embedding, agentgres.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'agentgres_embedding_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_le(agentgres.embedding, agentgres.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'agentgres_embedding_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_eq(agentgres.embedding, agentgres.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'agentgres_embedding_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_ne(agentgres.embedding, agentgres.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'agentgres_embedding_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_ge(agentgres.embedding, agentgres.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'agentgres_embedding_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_gt(agentgres.embedding, agentgres.embedding) RETURNS boolean
	AS 'MODULE_PATHNAME', 'agentgres_embedding_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION agentgres.embedding_cmp(agentgres.embedding, agentgres.embedding) RETURNS integer
	AS 'MODULE_PATHNAME', 'agentgres_embedding_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.embedding_cmp(agentgres.embedding, agentgres.embedding) IS
	'total order: element by element, then fewer dimensions first';

CREATE OPERATOR agentgres.< (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding, FUNCTION = agentgres.embedding_lt,
	COMMUTATOR = OPERATOR(agentgres.>), NEGATOR = OPERATOR(agentgres.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR agentgres.<= (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding, FUNCTION = agentgres.embedding_le,
	COMMUTATOR = OPERATOR(agentgres.>=), NEGATOR = OPERATOR(agentgres.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR agentgres.= (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding, FUNCTION = agentgres.embedding_eq,
	COMMUTATOR = OPERATOR(agentgres.=), NEGATOR = OPERATOR(agentgres.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, MERGES
);
CREATE OPERATOR agentgres.<> (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding, FUNCTION = agentgres.embedding_ne,
	COMMUTATOR = OPERATOR(agentgres.<>), NEGATOR = OPERATOR(agentgres.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR agentgres.>= (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding, FUNCTION = agentgres.embedding_ge,
	COMMUTATOR = OPERATOR(agentgres.<=), NEGATOR = OPERATOR(agentgres.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR agentgres.> (
	LEFTARG = agentgres.embedding, RIGHTARG = agentgres.embedding, FUNCTION = agentgres.embedding_gt,
	COMMUTATOR = OPERATOR(agentgres.<), NEGATOR = OPERATOR(agentgres.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS agentgres.embedding_ops DEFAULT FOR TYPE agentgres.embedding USING btree AS
	OPERATOR 1 agentgres.<,
	OPERATOR 2 agentgres.<=,
	OPERATOR 3 agentgres.=,
	OPERATOR 4 agentgres.>=,
	OPERATOR 5 agentgres.>,
	FUNCTION 1 agentgres.embedding_cmp(agentgres.embedding, agentgres.embedding);

------------------------------------------------------------------------------
-- Exact top-k
------------------------------------------------------------------------------

-- PARALLEL RESTRICTED: it reads tables, and a parallel worker cannot read the
-- leader's temporary tables.
CREATE FUNCTION agentgres.top_k(rel regclass, id_column name, vector_column name, query agentgres.embedding,
                                k integer, metric text DEFAULT 'cosine')
	RETURNS TABLE (id bigint, distance double precision)
	AS 'MODULE_PATHNAME', 'agentgres_top_k' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION agentgres.top_k(regclass, name, name, agentgres.embedding, integer, text) IS
	'exact k nearest rows of rel by metric (cosine, l2 or inner_product), nearest first, ties by ascending id';

------------------------------------------------------------------------------
-- pgvector interoperability
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.enable_pgvector_interop() RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	vector_type regtype;
BEGIN
	SELECT t.oid::regtype INTO vector_type
	FROM pg_type t
	JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
	JOIN pg_extension x ON x.oid = d.refobjid
	WHERE x.extname = 'vector' AND t.typname = 'vector';
	IF vector_type IS NULL THEN
		RAISE EXCEPTION 'extension "vector" is not installed'
			USING ERRCODE = 'undefined_object', HINT = 'Run CREATE EXTENSION vector first.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_cast WHERE castsource = vector_type
	               AND casttarget = 'agentgres.embedding'::regtype) THEN
		EXECUTE format('CREATE CAST (%s AS agentgres.embedding) WITHOUT FUNCTION AS IMPLICIT', vector_type);
	END IF;
	IF NOT EXISTS (SELECT FROM pg_cast WHERE castsource = 'agentgres.embedding'::regtype
	               AND casttarget = vector_type) THEN
		EXECUTE format('CREATE CAST (agentgres.embedding AS %s) WITHOUT FUNCTION AS ASSIGNMENT', vector_type);
	END IF;
END
$$;
COMMENT ON FUNCTION agentgres.enable_pgvector_interop() IS
	'creates binary-coercible casts between pgvector''s vector and agentgres.embedding (same layout)';

CREATE FUNCTION agentgres.disable_pgvector_interop() RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c record;
BEGIN
	FOR c IN SELECT castsource::regtype AS s, casttarget::regtype AS t FROM pg_cast
	         WHERE castmethod = 'b'
	           AND (castsource = 'agentgres.embedding'::regtype OR casttarget = 'agentgres.embedding'::regtype)
	LOOP
		EXECUTE format('DROP CAST (%s AS %s)', c.s, c.t);
	END LOOP;
END
$$;
COMMENT ON FUNCTION agentgres.disable_pgvector_interop() IS
	'drops the casts made by enable_pgvector_interop(); run it before DROP EXTENSION agentgres';

-- Ranking: reciprocal rank fusion
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql.

-- Reciprocal rank fusion
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.rrf(VARIADIC lists "any")
	RETURNS TABLE (id bigint, score double precision, rank integer, list_ranks integer[])
	AS 'MODULE_PATHNAME', 'agentgres_rrf' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION agentgres.rrf_weighted(k integer, weights double precision[], VARIADIC lists "any")
	RETURNS TABLE (id bigint, score double precision, rank integer, list_ranks integer[])
	AS 'MODULE_PATHNAME', 'agentgres_rrf_weighted' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.rrf("any") IS
	'reciprocal rank fusion of bigint[] id lists with k = 60: score = sum of 1 / (60 + rank)';
COMMENT ON FUNCTION agentgres.rrf_weighted(integer, double precision[], "any") IS
	'weighted reciprocal rank fusion: score = sum of weight_i / (k + rank_i)';

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

-- Jobs: the queue with leases, retries and NOTIFY
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql.

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

SELECT pg_catalog.pg_extension_config_dump('agentgres.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.jobs_id_seq', '');
------------------------------------------------------------------------------
-- Job queue
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.enqueue(kind text, payload jsonb, priority integer DEFAULT 3, run_at timestamptz DEFAULT now(),
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

-- Roles and privileges: three group roles, least privilege
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql. This topic
-- comes last: it grants on everything the others created.
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
