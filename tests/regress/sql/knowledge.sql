-- Knowledge: collections, ingestion, BM25 kept exact, hybrid search, and
-- every bad input with its SQLSTATE.
SET search_path = public, agentgres;
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE state text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
	RETURN state;
END $$;

-- The BM25 index recomputed from the chunks alone: postings equal to
-- bm25_terms over every chunk, statistics equal to their counts and sums.
CREATE FUNCTION pg_temp.index_is_exact() RETURNS boolean LANGUAGE sql AS $$
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

-- BM25 by its definition, straight from the chunks (Lucene's formula, the
-- collection's k1 and b): the reference bm25_search must equal.
CREATE FUNCTION pg_temp.bm25_reference(collection text, query text)
RETURNS TABLE (chunk_id bigint, score double precision) LANGUAGE sql AS $$
	WITH k AS (SELECT * FROM agentgres.collections WHERE name = collection),
	tf AS (
		SELECT c.id AS chunk_id, t.term, t.tf FROM agentgres.chunks c JOIN k ON k.id = c.collection_id,
		       LATERAL agentgres.bm25_terms(c.content, k.text_config::regconfig) t
	), len AS (SELECT chunk_id, sum(tf)::float8 AS dl FROM tf GROUP BY 1),
	n AS (SELECT count(*)::float8 AS n, avg(dl) AS avgdl FROM len),
	q AS (SELECT t.term, t.tf AS qtf FROM k, LATERAL agentgres.bm25_terms(query, k.text_config::regconfig) t),
	df AS (SELECT term, count(*)::float8 AS df FROM tf GROUP BY 1)
	SELECT tf.chunk_id,
	       sum(q.qtf * ln(1 + (n.n - df.df + 0.5) / (df.df + 0.5))
	           * tf.tf / (tf.tf + k.bm25_k1 * (1 - k.bm25_b + k.bm25_b * len.dl / n.avgdl)))
	FROM tf JOIN q USING (term) JOIN df USING (term) JOIN len USING (chunk_id), n, k
	GROUP BY tf.chunk_id
$$;

-- collections
SELECT create_collection('code') AS code_id \gset
SELECT create_collection('code') = :code_id AS idempotent;
SELECT name, embedder, dims = dims(embed('')) AS builtin_dims, chunk_size, chunk_overlap, text_config, bm25_k1, bm25_b
FROM collections;
SELECT create_collection('small', chunk_size => 120, chunk_overlap => 30, text_config => 'simple') > 0 AS created;
SELECT create_collection('ext', 'nomic-embed-text', 4) > 0 AS created;
SELECT pg_temp.sqlstate_of(statement) AS sqlstate, statement FROM (VALUES
	($$SELECT create_collection('code', chunk_size => 500)$$),
	($$SELECT create_collection('')$$),
	($$SELECT create_collection(NULL)$$),
	($$SELECT create_collection(repeat('x', 201))$$),
	($$SELECT create_collection('x', 'builtin', 3)$$),
	($$SELECT create_collection('x', 'some-model')$$),
	($$SELECT create_collection('x', 'some-model', 16001)$$),
	($$SELECT create_collection('x', chunk_size => 10)$$),
	($$SELECT create_collection('x', chunk_overlap => 1000)$$),
	($$SELECT create_collection('x', chunk_overlap => -1)$$),
	($$SELECT create_collection('x', text_config => 'nope')$$),
	($$SELECT create_collection('x', text_config => NULL)$$),
	($$SELECT create_collection('x', bm25_k1 => 'NaN')$$),
	($$SELECT create_collection('x', bm25_b => 2)$$),
	($$SELECT set_bm25_parameters('code', 'Infinity', 0.5)$$),
	($$SELECT set_bm25_parameters('nope', 1, 0.5)$$)
) AS t(statement);

-- ingestion: a Python file, a Markdown file, a C++ file
SELECT ingest_document('code', 'src/http.py', $py$import socket


def parse_http_request(raw):
    """Split a raw HTTP request into its method, path and headers."""
    head, _, body = raw.partition("\r\n\r\n")
    lines = head.split("\r\n")
    method, path, _ = lines[0].split(" ")
    return method, path, dict(line.split(": ", 1) for line in lines[1:]), body


class ConnectionPool:
    def __init__(self, size):
        self.size = size
        self.free = [socket.socket() for _ in range(size)]

    def acquire(self):
        return self.free.pop()
$py$, '{"owner": "web"}') AS py_doc \gset
SELECT ingest_document('code', 'docs/guide.md', $md$# Guide

Connection pooling keeps sockets open between requests.

## Retries

Failed requests are retried with exponential backoff and jitter.
$md$) AS md_doc \gset
SELECT ingest_document('code', 'src/heap.cpp', $cpp$#include <vector>

// A bounded max-heap that keeps the k nearest neighbours.
class TopK {
public:
	void Offer(long id, double distance);
};

int nearestNeighbour(const std::vector<double> &xs) { return xs.empty() ? -1 : 0; }
$cpp$) AS cpp_doc \gset
SELECT uri, language, metadata, content_hash ~ '^[0-9a-f]{64}$' AS hex_sha256 FROM documents
WHERE collection_id = :code_id ORDER BY uri;
SELECT ingest_document('code', 'hash.txt', 'héllo') AS hash_doc \gset
SELECT content_hash = encode(sha256(convert_to('héllo', 'UTF8')), 'hex') AS hash_ok FROM documents WHERE id = :hash_doc;
SELECT delete_document('code', 'hash.txt');
SELECT d.uri, c.ordinal, c.line_start, c.line_end, c.embedding IS NOT NULL AS embedded, c.tsv IS NOT NULL AS tsv,
       c.metadata
FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY d.uri, c.ordinal;
SELECT d.uri, s.name, s.kind, s.line, s.path, s.chunk_id = (SELECT id FROM chunks WHERE document_id = d.id
                                                             AND s.line BETWEEN line_start AND line_end
                                                             ORDER BY line_start DESC LIMIT 1) AS chunk_ok
FROM symbols s JOIN documents d ON d.id = s.document_id ORDER BY d.uri, s.line, s.name;
SELECT pg_temp.index_is_exact() AS exact;

-- identifiers are found by every spelling
SELECT term, tf FROM bm25_terms('parse_http_request parseHttpRequest HTTPServer', 'english');
SELECT uri FROM bm25_search('code', 'parseHttpRequest', 1);
SELECT uri FROM bm25_search('code', 'http_request parsing', 1);
SELECT uri FROM bm25_search('code', 'nearest neighbour', 1);

-- scores equal the reference to 1e-9, on several queries, and the order is
-- by score, then chunk id
SELECT q, (SELECT max(abs(s.score - r.score)) < 1e-9 AND count(*) = (SELECT count(*) FROM pg_temp.bm25_reference('code', q))
           FROM bm25_search('code', q, 100) s JOIN pg_temp.bm25_reference('code', q) r USING (chunk_id)) AS equal
FROM unnest(ARRAY['connection pool sockets', 'retried requests', 'http', 'TopK heap neighbours k nearest',
                  'request request request']) AS q;
SELECT set_bm25_parameters('code', 0.9, 0.4);
SELECT max(abs(s.score - r.score)) < 1e-9 AS equal_with_other_k1_b
FROM bm25_search('code', 'connection requests', 100) s JOIN pg_temp.bm25_reference('code', 'connection requests') r
     USING (chunk_id);
SELECT set_bm25_parameters('code', 1.2, 0.75);
SELECT bool_and(score > 0) AND count(*) > 0 AS positive FROM bm25_search('code', 'request', 10);
SELECT count(*) AS no_terms FROM bm25_search('code', 'the and of', 10);   -- stop words only
SELECT count(*) AS unknown_terms FROM bm25_search('code', 'xylophone', 10);

-- unchanged content: the same document and chunks; changed: replaced
SELECT array_agg(id ORDER BY id) AS md_chunks FROM chunks WHERE document_id = :md_doc \gset
SELECT ingest_document('code', 'docs/guide.md', $md$# Guide

Connection pooling keeps sockets open between requests.

## Retries

Failed requests are retried with exponential backoff and jitter.
$md$) = :md_doc AS same_document;
SELECT array_agg(id ORDER BY id) = :'md_chunks' AS same_chunks FROM chunks WHERE document_id = :md_doc;
SELECT ingest_document('code', 'docs/guide.md', E'# Guide\n\nPools are gone. Requests open a socket each.\n')
       = :md_doc AS same_id;
SELECT array_agg(id ORDER BY id) && :'md_chunks' AS old_chunks_left, count(*) AS chunks
FROM chunks WHERE document_id = :md_doc;
SELECT pg_temp.index_is_exact() AS exact;
SELECT uri FROM bm25_search('code', 'backoff jitter', 5);   -- the old text is gone
-- the metadata alone changed: re-chunked too
SELECT ingest_document('code', 'src/heap.cpp', (SELECT string_agg(content, '' ORDER BY ordinal) FROM chunks
                                                 WHERE document_id = :cpp_doc), '{"reviewed": true}') = :cpp_doc;
SELECT metadata ->> 'reviewed' AS reviewed FROM chunks WHERE document_id = :cpp_doc;

-- empty and whitespace-only documents have no chunks
SELECT ingest_document('code', 'empty.txt', '') > 0 AS ingested;
SELECT ingest_document('code', 'blank.txt', E' \n\t\n') > 0 AS ingested;
SELECT d.uri, count(c.id) FROM documents d LEFT JOIN chunks c ON c.document_id = d.id
WHERE d.uri IN ('empty.txt', 'blank.txt') GROUP BY d.uri ORDER BY d.uri;

-- filters apply before ranking
SELECT uri FROM bm25_search('code', 'request', 10, '{"path_prefix": "docs/"}');
SELECT DISTINCT uri FROM hybrid_search('code', 'request socket', filter => '{"language": ["python", "cpp"]}')
ORDER BY uri;
SELECT count(*) FROM hybrid_search('code', 'request', filter => '{"language": "haskell"}');

-- hybrid search: ranks in each list, fused order (the builtin vector list at
-- half weight), similarity and confidence
SELECT uri, vector_rank IS NOT NULL AS in_vectors, text_rank IS NOT NULL AS in_text,
       similarity BETWEEN -1 AND 1 AS similarity_ok, confidence BETWEEN 0 AND 1 AS confidence_ok
FROM hybrid_search('code', 'connection pool of sockets', k => 3);
SELECT bool_and(score > 0) AND count(*) = 3 AS three_scored,
       bool_and(abs(score - (coalesce(1.0 / (60 + text_rank), 0) + coalesce(0.5 / (60 + vector_rank), 0))) < 1e-12) AS rrf_scores
FROM hybrid_search('code', 'connection pool of sockets', k => 3);
SELECT (SELECT array_agg(chunk_id) FROM hybrid_search('code', 'retries with backoff', embed('retries with backoff')))
     = (SELECT array_agg(chunk_id) FROM hybrid_search('code', 'retries with backoff')) AS null_embedding_is_builtin;

-- a collection's approximate vector index: hybrid_search takes its vector
-- candidates from it; with every list visited they are the exact ones, so
-- the answers do not change; filters still apply; rebuilding replaces it
CREATE TEMP TABLE exact_answers AS
SELECT q, (SELECT array_agg(chunk_id || ':' || coalesce(vector_rank, 0) ORDER BY score DESC, chunk_id)
           FROM hybrid_search('code', q, k => 8)) AS answer
FROM unnest(ARRAY['connection pool of sockets', 'retries with backoff', 'request', 'parse the header']) AS q;
SELECT build_vector_index('code') = ('agentgres.chunks_vectors_' || collection_id('code'))::regclass AS built;
SELECT pg_get_expr(indpred, indrelid) = '(collection_id = ' || collection_id('code') || ')' AS partial, amname
FROM pg_index JOIN pg_class c ON c.oid = indexrelid JOIN pg_am a ON a.oid = c.relam
WHERE indexrelid = ('agentgres.chunks_vectors_' || collection_id('code'))::regclass;
-- a collection this small is read faster without the index (a scan and a
-- sort): the planner must be told to use it here
SET enable_sort = off;
SET jit = off; -- the disabled sort's cost would otherwise start JIT, whose timings print at debug1
SET agentgres.ivf_probes = 65536;
SELECT q, (SELECT array_agg(chunk_id || ':' || coalesce(vector_rank, 0) ORDER BY score DESC, chunk_id)
           FROM hybrid_search('code', q, k => 8)) = answer AS same_with_index
FROM exact_answers ORDER BY q;
SET client_min_messages = debug1;
SELECT count(*) FROM hybrid_search('code', 'connection pool of sockets', k => 3);
RESET client_min_messages;
SELECT DISTINCT uri FROM hybrid_search('code', 'request socket', filter => '{"language": ["python", "cpp"]}') ORDER BY uri;
SELECT build_vector_index('code', 2)::text = build_vector_index('code')::text AS rebuilt_same_name;
RESET agentgres.ivf_probes;
RESET enable_sort;
RESET jit;
SELECT pg_temp.sqlstate_of($$SELECT agentgres.build_vector_index('nope')$$) AS unknown_collection,
       pg_temp.sqlstate_of($$SELECT agentgres.build_vector_index('code', 0)$$) AS zero_lists,
       pg_temp.sqlstate_of($$SELECT agentgres.build_vector_index('code', 70000)$$) AS too_many_lists;
SELECT count(*) > 0 AS vector_only FROM hybrid_search_multi('code', '{}', ARRAY[embed('heap of neighbours')]);
SELECT count(*) > 0 AS two_queries, bool_and(text_rank IS NOT NULL OR vector_rank IS NOT NULL) AS ranked
FROM hybrid_search_multi('code', ARRAY['connection pool', 'nearest neighbour heap']);
SELECT search_coverage(ARRAY[0.9, 0.2]), search_coverage(ARRAY[0.5]), search_coverage(ARRAY[0.1]),
       search_coverage('{}');

-- top_k_filtered: one collection's rows only, optionally an allow-list
SELECT count(*) = (SELECT count(*) FROM chunks WHERE collection_id = :code_id AND embedding IS NOT NULL) AS one_collection
FROM top_k_filtered('agentgres.chunks', 'id', 'embedding', embed('x'), 1000, 'cosine', 'collection_id', :code_id);
SELECT count(*) AS allowed FROM top_k_filtered('agentgres.chunks', 'id', 'embedding', embed('x'), 10, 'cosine',
                                               'collection_id', :code_id, ARRAY[(SELECT min(id) FROM chunks)]);
SELECT count(*) AS none_allowed FROM top_k_filtered('agentgres.chunks', 'id', 'embedding', embed('x'), 10, 'cosine',
                                                    'collection_id', :code_id, '{}');

-- an external embedder: chunks wait for vectors, a job is queued
SELECT ingest_document('ext', 'a.txt', 'alpha beta gamma') AS ext_doc \gset
SELECT count(*) AS waiting FROM chunks WHERE document_id = :ext_doc AND embedding IS NULL;
SELECT kind, payload = jsonb_build_object('document_id', :ext_doc) AS payload_ok, state FROM jobs
WHERE kind = 'knowledge.embed';
SELECT uri, text_rank, vector_rank, similarity FROM hybrid_search('ext', 'beta');   -- lexical only
SELECT set_chunk_embeddings(array_agg(id), array_agg('[1,0,0,0]'::embedding)) FROM chunks WHERE document_id = :ext_doc;
SELECT uri, text_rank, vector_rank, similarity FROM hybrid_search('ext', 'beta', '[1,0,0,0]');

-- a collection-trained embedder (lsa): no vectors until trained, then every
-- chunk re-embedded; a training is requested once there are 100 chunks
SELECT create_collection('trained', 'lsa', 4) > 0 AS created;
SELECT count(*) AS ingested FROM generate_series(1, 99) AS i
WHERE ingest_document('trained', 'd' || i || '.txt',
                      (ARRAY['cats purr and sleep', 'dogs bark and run', 'cats and dogs play', 'fish swim',
                             'birds sing and fly', 'dogs chase cats'])[1 + i % 6] || ' note ' || i) > 0;
SELECT count(*) AS chunks, count(embedding) AS embedded FROM chunks WHERE collection_id = collection_id('trained');
SELECT count(*) AS train_jobs FROM jobs WHERE kind = 'knowledge.train';
SELECT ingest_document('trained', 'd100.txt', 'cats purr note 100') > 0 AS hundredth;
SELECT kind, payload FROM jobs WHERE kind = 'knowledge.train';
SELECT embed_for('trained', 'cats') IS NULL AS untrained;
SELECT train_embedder('trained') - 'seconds' - 'model_bytes';
SELECT count(*) AS chunks, count(embedding) AS embedded, min(dims(embedding)) AS dims
FROM chunks WHERE collection_id = collection_id('trained');
SELECT version, dimensions, trained_chunks FROM embedder_models;
SELECT dims(embed_for('trained', 'cats purr')) AS query_dims,
       embed_for('trained', 'cats purr')::text = lsa_embed(collection_id('trained'), 'cats purr')::text AS same;
SELECT uri IS NOT NULL AS found, vector_rank IS NOT NULL AS in_vectors
FROM hybrid_search('trained', 'cats purr', k => 1);
SELECT (train_embedder('trained') ->> 'version')::integer AS retrained_version;
SELECT dims(embed_for('code', 'x')) = dims(embed('x')) AS builtin_for_code;
SELECT pg_temp.sqlstate_of(statement) AS sqlstate, statement FROM (VALUES
	($$SELECT train_embedder('code')$$),
	($$SELECT train_embedder('nope')$$),
	($$SELECT embed_for('ext', 'x')$$),
	($$SELECT create_collection('x', 'lsa', 1)$$),
	($$SELECT create_collection('tiny', 'lsa', 300)$$),
	($$SELECT lsa_train(collection_id('tiny'), 300)$$),
	($$SELECT rocchio('[1,0]', ARRAY['[1,0,0]'::embedding], 1)$$),
	($$SELECT rocchio('[1,0]', ARRAY['[0,1]'::embedding], 'NaN')$$),
	($$SELECT chunk_text('x', 'text', 100, 60)$$),
	($$SELECT create_collection('x', chunk_size => 100, chunk_overlap => 51)$$)
) AS t(statement);
SET maintenance_work_mem = '1MB';   -- 100 chunks x 2010 x 16 bytes do not fit
SELECT pg_temp.sqlstate_of($$SELECT agentgres.lsa_train(agentgres.collection_id('trained'), 2000)$$) AS over_memory;
RESET maintenance_work_mem;
SELECT rocchio('[1,0]', ARRAY['[0,1]'::embedding, NULL], 1)::text AS moved,
       rocchio('[3,4]', '{}', 5)::text AS normalised;

-- delete: chunks and symbols go, the index follows
SELECT delete_document('code', 'src/http.py'), delete_document('code', 'src/http.py');
SELECT count(*) AS chunks_left FROM chunks WHERE document_id = :py_doc;
SELECT count(*) AS symbols_left FROM symbols WHERE document_id = :py_doc;
SELECT pg_temp.index_is_exact() AS exact;
DELETE FROM documents WHERE uri = 'src/heap.cpp';   -- directly, by the cascade
SELECT pg_temp.index_is_exact() AS exact;
DELETE FROM collections WHERE name = 'small';
SELECT pg_temp.index_is_exact() AS exact;

-- a chunk's text is fixed; its embedding is not
SELECT pg_temp.sqlstate_of($$UPDATE agentgres.chunks SET content = 'x'$$);
SELECT pg_temp.sqlstate_of($$UPDATE agentgres.chunks SET metadata = '{}' WHERE false$$);

-- bad input, each with its SQLSTATE
SELECT pg_temp.sqlstate_of(statement) AS sqlstate, statement FROM (VALUES
	($$SELECT ingest_document('nope', 'a', 'x')$$),
	($$SELECT ingest_document(NULL, 'a', 'x')$$),
	($$SELECT ingest_document('code', NULL, 'x')$$),
	($$SELECT ingest_document('code', '', 'x')$$),
	($$SELECT ingest_document('code', repeat('u', 4097), 'x')$$),
	($$SELECT ingest_document('code', 'a', NULL)$$),
	($$SELECT ingest_document('code', 'a', 'x', '[1]')$$),
	($$SELECT ingest_document('code', 'a', 'x', '{"language": 3}')$$),
	($$SELECT ingest_document('code', 'a', 'x', '{}', '{"name": "f"}')$$),
	($$SELECT ingest_document('code', 'a', 'x', '{}', '[{"name": "f", "line": "one"}]')$$),
	($$SELECT ingest_document('code', 'a', repeat('x', 64 * 1024 * 1024 + 1))$$),
	($$SELECT ingest_document('code', 'a', convert_from('\xc328'::bytea, 'UTF8'))$$),   -- invalid UTF-8
	($$SELECT delete_document('nope', 'a')$$),
	($$SELECT bm25_search('nope', 'x')$$),
	($$SELECT bm25_search('code', NULL)$$),
	($$SELECT bm25_search('code', 'x', -1)$$),
	($$SELECT bm25_search('code', repeat('word ', 20000))$$),
	($$SELECT bm25_search('code', 'x', 10, '{"colour": "red"}')$$),
	($$SELECT bm25_search('code', 'x', 10, '{"language": 1}')$$),
	($$SELECT bm25_search('code', 'x', 10, '[]')$$),
	($$SELECT hybrid_search('nope', 'x')$$),
	($$SELECT hybrid_search('code', NULL)$$),
	($$SELECT hybrid_search('code', 'x', '[1,2,3]')$$),
	($$SELECT hybrid_search('code', 'x', k => 0)$$),
	($$SELECT hybrid_search('code', 'x', k => 20, candidates => 10)$$),
	($$SELECT hybrid_search('code', 'x', rrf_k => 0)$$),
	($$SELECT hybrid_search_multi('code', ARRAY['x', NULL])$$),
	($$SELECT hybrid_search_multi('code', array_fill('x'::text, ARRAY[33]))$$),
	($$SELECT hybrid_search_multi('code', '{}', '{}')$$),
	($$SELECT embed('x', 'text-embedding-3-small')$$),
	($$SELECT chunk_text('x', 'text', 0, 0)$$),
	($$SELECT chunk_text('x', 'text', 100, 100)$$),
	($$SELECT set_chunk_embeddings(ARRAY[1], ARRAY['[1,2]'::embedding, '[1,2]'])$$),
	($$SELECT set_chunk_embeddings((SELECT array_agg(id) FROM agentgres.chunks WHERE collection_id = agentgres.collection_id('ext')), ARRAY['[1,2]'::embedding])$$),
	($$SELECT top_k_filtered('agentgres.chunks', 'id', 'embedding', embed('x'), 5, 'cosine', 'content', 1)$$),
	($$SELECT top_k_filtered('agentgres.chunks', 'id', 'embedding', embed('x'), 5, 'cosine', NULL, 1)$$),
	($$SELECT enqueue('knowledge.embed', '{"document_id": "one"}')$$),
	($$SELECT enqueue('knowledge.embed', '{}')$$),
	($$SELECT enqueue('knowledge.index', '{"paths": ["", "src"]}')$$),
	($$SELECT enqueue('knowledge.index', '{"collection": 1}')$$),
	($$SELECT enqueue('knowledge.index', '{"depth": 1}')$$)
) AS t(statement);

-- the kernels, directly
SELECT language_of(u) FROM unnest(ARRAY['a.py', 'b/c.hpp', 'README.md', 'Makefile', 'notes', 'x.SQL']) AS u;
SELECT ordinal, line_start, line_end, length(content) <= 120 AS bounded
FROM chunk_text(repeat(E'a line of text\n', 30), 'text', 120, 30);
SELECT count(*) AS chunks, max(length(content)) <= 100 AS bounded
FROM chunk_text(repeat('é', 1000), 'text', 100, 10);
SELECT dims(embed('anything')) = dims(embed('')) AS fixed_dims, norm(embed('some words')) BETWEEN 0.999 AND 1.001 AS unit,
       norm(embed('')) AS empty_norm, embed('same text')::text = embed('same text')::text AS deterministic;

-- roles: an application (agentgres_agent) ingests and the index follows
-- (the triggers write the postings for it); a reader searches but cannot ingest
CREATE ROLE regress_knowledge_app IN ROLE agentgres_agent;
CREATE ROLE regress_knowledge_reader IN ROLE agentgres_reader;
SET ROLE regress_knowledge_app;
SELECT ingest_document('code', 'app/notes.txt', 'written by the application role') > 0 AS ingested;
SELECT pg_temp.sqlstate_of($$INSERT INTO agentgres.bm25_postings VALUES (1, 'x', 1, 1, 1)$$) AS write_postings;
SET ROLE regress_knowledge_reader;
SELECT uri FROM bm25_search('code', 'application role', 1);
SELECT pg_temp.sqlstate_of($$SELECT agentgres.ingest_document('code', 'r.txt', 'x')$$) AS reader_ingests;
SELECT pg_temp.sqlstate_of($$SELECT agentgres.delete_document('code', 'app/notes.txt')$$) AS reader_deletes;
SELECT pg_temp.sqlstate_of($$SELECT agentgres.build_vector_index('code')$$) AS reader_builds_index;
RESET ROLE;
SELECT pg_temp.index_is_exact() AS exact;
DROP ROLE regress_knowledge_app, regress_knowledge_reader;
