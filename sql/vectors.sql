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
CREATE FUNCTION agentgres.top_k_filtered(rel regclass, id_column name, vector_column name, query agentgres.embedding,
                                         k integer, metric text, filter_column name, filter_value bigint,
                                         allowed_ids bigint[] DEFAULT NULL)
	RETURNS TABLE (id bigint, distance double precision)
	AS 'MODULE_PATHNAME', 'agentgres_top_k_filtered' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION agentgres.top_k_filtered(regclass, name, name, agentgres.embedding, integer, text, name, bigint,
                                             bigint[]) IS
	'top_k over the rows whose filter_column (an integer column) equals filter_value and, unless allowed_ids is NULL, '
	'whose id is in allowed_ids';

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
