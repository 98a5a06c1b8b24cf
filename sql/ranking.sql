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
