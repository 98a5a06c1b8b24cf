-- agentgres_ivf: an approximate nearest-neighbour index for the embedding
-- distance operators. Inverted lists from k-means, one-bit RaBitQ codes with
-- an error bound, and exact re-ranking on the heap rows: rows come out in
-- exact distance order among the lists a scan visits (agentgres.ivf_probes).
-- extension/pg/ivf.hpp describes the design and the page layout.

CREATE FUNCTION agentgres.ivf_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME', 'agentgres_ivf_handler' LANGUAGE C;
COMMENT ON FUNCTION agentgres.ivf_handler(internal) IS 'the handler of the agentgres_ivf index access method';

CREATE ACCESS METHOD agentgres_ivf TYPE INDEX HANDLER agentgres.ivf_handler;
COMMENT ON ACCESS METHOD agentgres_ivf IS
	'approximate nearest neighbours: IVF lists of RaBitQ codes, re-ranked exactly (ORDER BY e <=> q LIMIT k)';

-- One operator class per metric; the operator's strategy number tells the
-- index which one (1 l2, 2 cosine, 3 inner product).
CREATE OPERATOR CLASS agentgres.embedding_l2_ops FOR TYPE agentgres.embedding USING agentgres_ivf AS
	OPERATOR 1 agentgres.<-> (agentgres.embedding, agentgres.embedding) FOR ORDER BY pg_catalog.float_ops;
CREATE OPERATOR CLASS agentgres.embedding_cosine_ops DEFAULT FOR TYPE agentgres.embedding USING agentgres_ivf AS
	OPERATOR 2 agentgres.<=> (agentgres.embedding, agentgres.embedding) FOR ORDER BY pg_catalog.float_ops;
CREATE OPERATOR CLASS agentgres.embedding_ip_ops FOR TYPE agentgres.embedding USING agentgres_ivf AS
	OPERATOR 3 agentgres.<#> (agentgres.embedding, agentgres.embedding) FOR ORDER BY pg_catalog.float_ops;

-- An amcheck for agentgres_ivf: raises index_corrupted (XX002) at the first
-- page out of place, and returns every entry's list and heap TID, so that
-- SQL can hold the index against its table. Needs SELECT on the table.
CREATE FUNCTION agentgres.ivf_check(index regclass) RETURNS TABLE (list integer, heap_tid tid)
	AS 'MODULE_PATHNAME', 'agentgres_ivf_check' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION agentgres.ivf_check(regclass) IS
	'checks an agentgres_ivf index page by page and lists its entries (list, heap TID)';
