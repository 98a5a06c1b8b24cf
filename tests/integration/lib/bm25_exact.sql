-- public.bm25_index_is_exact(): whether the BM25 postings and statistics
-- equal what the chunks alone give (bm25_terms over every chunk, their
-- counts and sums), in the caller's snapshot. Shared by the integration tests
-- (tests/regress/sql/knowledge.sql has the same check as pg_temp.index_is_exact,
-- since pg_regress reads its files from stdin and cannot include this one).
CREATE OR REPLACE FUNCTION public.bm25_index_is_exact() RETURNS boolean LANGUAGE sql AS $$
	WITH truth AS (
		SELECT c.collection_id, t.term, c.id AS chunk_id, t.tf
		FROM agentgres.chunks c JOIN agentgres.collections k ON k.id = c.collection_id,
		     LATERAL agentgres.bm25_terms(c.content, k.text_config::regconfig) t
	), lengths AS (
		SELECT collection_id, chunk_id, sum(tf)::integer AS doc_len FROM truth GROUP BY 1, 2
	), expected AS (
		SELECT t.collection_id, t.term, t.chunk_id, t.tf, l.doc_len FROM truth t JOIN lengths l USING (collection_id, chunk_id)
	), expected_stats AS (
		SELECT collection_id, count(*) AS chunks, sum(doc_len) AS tokens FROM lengths GROUP BY 1
	)
	SELECT NOT EXISTS (SELECT collection_id, term, chunk_id, tf, doc_len FROM expected
	                   EXCEPT ALL SELECT collection_id, term, chunk_id, tf, doc_len FROM agentgres.bm25_postings)
	   AND NOT EXISTS (SELECT collection_id, term, chunk_id, tf, doc_len FROM agentgres.bm25_postings
	                   EXCEPT ALL SELECT collection_id, term, chunk_id, tf, doc_len FROM expected)
	   AND NOT EXISTS (SELECT * FROM expected_stats EXCEPT SELECT collection_id, chunks, tokens FROM agentgres.bm25_stats
	                   WHERE chunks > 0)
	   AND NOT EXISTS (SELECT collection_id, chunks, tokens FROM agentgres.bm25_stats WHERE chunks > 0
	                   EXCEPT SELECT * FROM expected_stats)
$$;
