-- agentgres 0.4.0 -> 0.5.0: the knowledge base. Collections, documents,
-- chunks and symbols; the shared chunker, symbol extractor and built-in
-- embedder; BM25 kept exact by triggers on chunks; bm25_search and
-- hybrid_search with confidence; top_k_filtered; the knowledge.index and
-- knowledge.embed job kinds; the agentgres_ivf index access method.
\echo Use "ALTER EXTENSION agentgres UPDATE TO '0.5.0'" to load this file. \quit

CREATE FUNCTION agentgres.top_k_filtered(rel regclass, id_column name, vector_column name, query agentgres.embedding,
                                         k integer, metric text, filter_column name, filter_value bigint,
                                         allowed_ids bigint[] DEFAULT NULL)
	RETURNS TABLE (id bigint, distance double precision)
	AS 'MODULE_PATHNAME', 'agentgres_top_k_filtered' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION agentgres.top_k_filtered(regclass, name, name, agentgres.embedding, integer, text, name, bigint,
                                             bigint[]) IS
	'top_k over the rows whose filter_column (an integer column) equals filter_value and, unless allowed_ids is NULL, '
	'whose id is in allowed_ids';

CREATE OR REPLACE FUNCTION agentgres.enqueue(kind text, payload jsonb, priority integer DEFAULT 3, run_at timestamptz DEFAULT now(),
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
	                   ARRAY['model'] WHEN 'learning.refresh_insights' THEN '{}' WHEN 'metrics.rollup' THEN '{}'
	                   WHEN 'knowledge.index' THEN ARRAY['paths', 'collection'] WHEN 'knowledge.embed' THEN
	                   ARRAY['document_id'] WHEN 'knowledge.train' THEN ARRAY['collection'] END;
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
		IF kind = 'knowledge.index' AND ((payload ? 'paths' AND (jsonb_typeof(payload -> 'paths') <> 'array' OR EXISTS (
		        SELECT FROM jsonb_array_elements(payload -> 'paths') p WHERE jsonb_typeof(p) <> 'string' OR p = '""')))
		    OR (payload ? 'collection' AND (jsonb_typeof(payload -> 'collection') <> 'string'
		                                    OR payload ->> 'collection' = ''))) THEN
			RAISE EXCEPTION 'a knowledge.index job takes "paths" (non-empty strings) and "collection" (a non-empty string)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'knowledge.embed' AND (NOT payload ? 'document_id' OR jsonb_typeof(payload -> 'document_id') <> 'number'
		                                 OR (payload ->> 'document_id')::numeric <> trunc((payload ->> 'document_id')::numeric)
		                                 OR (payload ->> 'document_id')::numeric < 1) THEN
			RAISE EXCEPTION 'a knowledge.embed job takes "document_id", a positive integer' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'knowledge.train' AND (jsonb_typeof(payload -> 'collection') IS DISTINCT FROM 'string'
		                                 OR payload ->> 'collection' = '') THEN
			RAISE EXCEPTION 'a knowledge.train job takes "collection", a non-empty string'
				USING ERRCODE = 'invalid_parameter_value';
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

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE agentgres.collections (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 200),
	embedder text NOT NULL DEFAULT 'builtin' CHECK (embedder <> '' AND length(embedder) <= 200),
	dims integer NOT NULL CHECK (dims BETWEEN 1 AND 16000),
	chunk_size integer NOT NULL DEFAULT 1000 CHECK (chunk_size BETWEEN 50 AND 100000),
	-- At most half a chunk: each chunk then brings at least half new text
	-- (near chunk_size, the chunks of a document would multiply its size).
	chunk_overlap integer NOT NULL DEFAULT 200 CHECK (chunk_overlap >= 0 AND chunk_overlap * 2 <= chunk_size),
	-- A configuration's name, not a regconfig: pg_upgrade cannot carry
	-- regconfig columns (their OIDs change).
	text_config text NOT NULL DEFAULT 'english',
	-- NaN passes ">= 0" in PostgreSQL; the upper bounds refuse it.
	bm25_k1 double precision NOT NULL DEFAULT 1.2 CHECK (bm25_k1 >= 0 AND bm25_k1 <= 10),
	bm25_b double precision NOT NULL DEFAULT 0.75 CHECK (bm25_b >= 0 AND bm25_b <= 1),
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE agentgres.collections IS
	'document collections: embedder and dimensions, chunking, text search configuration and BM25 parameters';

CREATE TABLE agentgres.documents (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	collection_id bigint NOT NULL REFERENCES agentgres.collections (id) ON DELETE CASCADE,
	uri text NOT NULL CHECK (uri <> ''),
	content_hash text NOT NULL,
	language text NOT NULL,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (collection_id, uri)
);
COMMENT ON TABLE agentgres.documents IS
	'one row per ingested document; content_hash is the hex SHA-256 of its UTF-8 content';

-- Fixed-width columns first and the embedding as the first variable-width
-- one, so the vector scan finds it at a cached offset; STORAGE MAIN keeps
-- it in the row while the content and tsvector are compressed or moved out.
CREATE TABLE agentgres.chunks (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	collection_id bigint NOT NULL,
	document_id bigint NOT NULL REFERENCES agentgres.documents (id) ON DELETE CASCADE,
	ordinal integer NOT NULL,
	line_start integer NOT NULL,
	line_end integer NOT NULL,
	embedding agentgres.embedding,
	content text NOT NULL,
	tsv tsvector,
	metadata jsonb NOT NULL DEFAULT '{}',
	UNIQUE (document_id, ordinal)
);
ALTER TABLE agentgres.chunks ALTER COLUMN embedding SET STORAGE MAIN;
CREATE INDEX chunks_collection ON agentgres.chunks (collection_id);
CREATE INDEX chunks_tsv ON agentgres.chunks USING gin (tsv);
COMMENT ON TABLE agentgres.chunks IS
	'chunks of documents: content, lines, embedding, tsvector (the collection''s text search configuration), '
	'metadata with path, language and the symbols the chunk defines';

CREATE TABLE agentgres.symbols (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	collection_id bigint NOT NULL,
	document_id bigint NOT NULL REFERENCES agentgres.documents (id) ON DELETE CASCADE,
	chunk_id bigint NOT NULL REFERENCES agentgres.chunks (id) ON DELETE CASCADE,
	name text NOT NULL,
	kind text NOT NULL,
	path text NOT NULL,
	line integer NOT NULL
);
CREATE INDEX symbols_name ON agentgres.symbols (collection_id, name);
CREATE INDEX symbols_document ON agentgres.symbols (document_id);
CREATE INDEX symbols_chunk ON agentgres.symbols (chunk_id);
COMMENT ON TABLE agentgres.symbols IS 'definitions (functions, classes, headings, ...) and the chunk that holds each';

-- Derived from chunks by the triggers below; not dumped (a restore rebuilds
-- them as it loads the chunks).
CREATE TABLE agentgres.bm25_postings (
	collection_id bigint NOT NULL,
	term text COLLATE "C" NOT NULL,
	chunk_id bigint NOT NULL,
	tf integer NOT NULL,
	doc_len integer NOT NULL,
	PRIMARY KEY (collection_id, term, chunk_id) INCLUDE (tf, doc_len)
);
CREATE INDEX bm25_postings_chunk ON agentgres.bm25_postings (chunk_id);
COMMENT ON TABLE agentgres.bm25_postings IS
	'BM25 postings: term frequency and chunk length per (collection, term, chunk); kept by triggers on chunks';

CREATE TABLE agentgres.bm25_stats (
	collection_id bigint PRIMARY KEY,
	chunks bigint NOT NULL,
	tokens bigint NOT NULL
);
COMMENT ON TABLE agentgres.bm25_stats IS
	'BM25 collection statistics: chunks with at least one term, and their total length in terms';

-- The collection-trained embedder's models ('lsa' collections), one per
-- collection, replaced by each training.
CREATE TABLE agentgres.embedder_models (
	collection_id bigint PRIMARY KEY REFERENCES agentgres.collections (id) ON DELETE CASCADE,
	model bytea NOT NULL,
	version integer NOT NULL DEFAULT 1,
	dimensions integer NOT NULL,
	trained_chunks bigint NOT NULL,
	trained_at timestamptz NOT NULL DEFAULT now()
);
-- Floats do not compress: stored out of line as they are.
ALTER TABLE agentgres.embedder_models ALTER COLUMN model SET STORAGE EXTERNAL;
COMMENT ON TABLE agentgres.embedder_models IS
	'trained embedder models (LSA) of the collections that use embedder ''lsa''';

-- The daemon's cache of vectors from external embedders, by model and the
-- hex SHA-256 of the text. A cache: unlogged, not dumped.
CREATE UNLOGGED TABLE agentgres.embedding_cache (
	model text NOT NULL,
	content_hash text NOT NULL,
	embedding agentgres.embedding NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (model, content_hash)
);
COMMENT ON TABLE agentgres.embedding_cache IS 'external embedders'' vectors by model and content hash (a cache)';

SELECT pg_catalog.pg_extension_config_dump('agentgres.collections', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.collections_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.documents', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.documents_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.chunks', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.chunks_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.symbols', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.symbols_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.embedder_models', '');

------------------------------------------------------------------------------
-- Kernels: chunking, symbols, tokens, the built-in embedder
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.language_of(uri text) RETURNS text
	AS 'MODULE_PATHNAME', 'agentgres_language_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.language_of(text) IS
	'the language the chunker assumes for a file name or uri (cpp, python, markdown, text, ...)';

CREATE FUNCTION agentgres.chunk_text(content text, language text DEFAULT 'text', chunk_size integer DEFAULT 1000,
                                     chunk_overlap integer DEFAULT 200)
	RETURNS TABLE (ordinal integer, content text, line_start integer, line_end integer)
	AS 'MODULE_PATHNAME', 'agentgres_chunk_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.chunk_text(text, text, integer, integer) IS
	'the chunks ingest_document makes of content: at most chunk_size characters, about chunk_overlap shared';

CREATE FUNCTION agentgres.extract_symbols(content text, language text)
	RETURNS TABLE (name text, kind text, line integer)
	AS 'MODULE_PATHNAME', 'agentgres_extract_symbols' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.extract_symbols(text, text) IS
	'definitions found by the built-in extractor (functions, classes, headings, ...) with their lines';

CREATE FUNCTION agentgres.bm25_terms(content text, config regconfig DEFAULT 'english')
	RETURNS TABLE (term text, tf integer)
	AS 'MODULE_PATHNAME', 'agentgres_bm25_terms' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.bm25_terms(text, regconfig) IS
	'the terms BM25 indexes for text and their frequencies: the configuration''s lexemes, identifiers also split';

CREATE FUNCTION agentgres.embed(content text, embedder text DEFAULT 'builtin') RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_embed' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.embed(text, text) IS
	'the built-in embedder''s unit vector for content (deterministic, offline); other embedders run in agentgresd';

CREATE FUNCTION agentgres.lsa_train(collection_id bigint, dims integer) RETURNS bytea
	AS 'MODULE_PATHNAME', 'agentgres_lsa_train' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION agentgres.lsa_train(bigint, integer) IS
	'an LSA model trained on a collection''s chunks (serialised); train_embedder stores and applies it';

CREATE FUNCTION agentgres.lsa_embed(collection_id bigint, content text) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_lsa_embed' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION agentgres.lsa_embed(bigint, text) IS
	'content projected with the collection''s LSA model (unit vector); NULL while the collection has no model';

CREATE FUNCTION agentgres.rocchio(query agentgres.embedding, feedback agentgres.embedding[],
                                  beta double precision DEFAULT 1.0) RETURNS agentgres.embedding
	AS 'MODULE_PATHNAME', 'agentgres_rocchio' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION agentgres.rocchio(agentgres.embedding, agentgres.embedding[], double precision) IS
	'relevance feedback: the unit vector of query + beta * mean(feedback)';

CREATE FUNCTION agentgres.bm25_rank(collection_id bigint, query text, k integer, allowed_ids bigint[] DEFAULT NULL)
	RETURNS TABLE (chunk_id bigint, score double precision)
	AS 'MODULE_PATHNAME', 'agentgres_bm25_rank' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 50;
COMMENT ON FUNCTION agentgres.bm25_rank(bigint, text, integer, bigint[]) IS
	'the k best chunks of a collection by BM25 (Lucene''s formula), best first; allowed_ids restricts them';

------------------------------------------------------------------------------
-- Index maintenance (triggers on chunks)
------------------------------------------------------------------------------

-- SECURITY DEFINER: whoever may write chunks keeps the index exact without
-- write access to the derived tables. Owner-only, pinned search_path.
CREATE FUNCTION agentgres.chunks_index_added() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	WITH terms AS MATERIALIZED (
		SELECT a.collection_id, a.id AS chunk_id, t.term, t.tf
		FROM added a
		JOIN agentgres.collections c ON c.id = a.collection_id
		CROSS JOIN LATERAL agentgres.bm25_terms(a.content, c.text_config::pg_catalog.regconfig) t
	), lengths AS (
		SELECT t.collection_id, t.chunk_id, sum(t.tf)::integer AS doc_len FROM terms t GROUP BY 1, 2
	), postings AS (
		INSERT INTO agentgres.bm25_postings (collection_id, term, chunk_id, tf, doc_len)
		SELECT t.collection_id, t.term, t.chunk_id, t.tf, l.doc_len FROM terms t JOIN lengths l USING (chunk_id)
	)
	INSERT INTO agentgres.bm25_stats AS s (collection_id, chunks, tokens)
	SELECT l.collection_id, count(*), sum(l.doc_len) FROM lengths l GROUP BY 1 ORDER BY 1
	ON CONFLICT (collection_id) DO UPDATE SET chunks = s.chunks + excluded.chunks, tokens = s.tokens + excluded.tokens;
	RETURN NULL;
END $$;

CREATE FUNCTION agentgres.chunks_index_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	WITH gone AS (
		DELETE FROM agentgres.bm25_postings p USING removed r WHERE p.chunk_id = r.id
		RETURNING p.collection_id, p.chunk_id, p.doc_len
	), per_chunk AS (
		SELECT DISTINCT g.collection_id, g.chunk_id, g.doc_len FROM gone g
	), per_collection AS (
		SELECT c.collection_id, count(*) AS chunks, sum(c.doc_len) AS tokens FROM per_chunk c GROUP BY 1
	)
	UPDATE agentgres.bm25_stats s SET chunks = s.chunks - d.chunks, tokens = s.tokens - d.tokens
	FROM per_collection d WHERE s.collection_id = d.collection_id;
	RETURN NULL;
END $$;

CREATE FUNCTION agentgres.chunks_index_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	TRUNCATE agentgres.bm25_postings, agentgres.bm25_stats;
	RETURN NULL;
END $$;

-- A chunk's text, collection and document are fixed: ingest_document
-- replaces chunks; other columns (the embedding, metadata) may change.
CREATE FUNCTION agentgres.chunks_refuse_rewrite() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'the content, collection and document of a chunk cannot be changed'
		USING ERRCODE = 'feature_not_supported',
		      HINT = 'Ingest the document again (agentgres.ingest_document) to replace its chunks.';
END $$;

CREATE TRIGGER chunks_index_added AFTER INSERT ON agentgres.chunks
	REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION agentgres.chunks_index_added();
CREATE TRIGGER chunks_index_removed AFTER DELETE ON agentgres.chunks
	REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION agentgres.chunks_index_removed();
CREATE TRIGGER chunks_index_truncated AFTER TRUNCATE ON agentgres.chunks
	FOR EACH STATEMENT EXECUTE FUNCTION agentgres.chunks_index_truncated();
CREATE TRIGGER chunks_refuse_rewrite BEFORE UPDATE OF content, collection_id, document_id ON agentgres.chunks
	FOR EACH ROW WHEN (old.content IS DISTINCT FROM new.content OR old.collection_id IS DISTINCT FROM new.collection_id
	                   OR old.document_id IS DISTINCT FROM new.document_id)
	EXECUTE FUNCTION agentgres.chunks_refuse_rewrite();

------------------------------------------------------------------------------
-- Collections and documents
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.collection_id(collection text) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	found_id bigint;
BEGIN
	IF collection IS NULL THEN
		RAISE EXCEPTION 'collection must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT c.id INTO found_id FROM agentgres.collections c WHERE c.name = collection;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'collection "%" does not exist', collection USING ERRCODE = 'undefined_object',
			HINT = 'Create it with agentgres.create_collection().';
	END IF;
	RETURN found_id;
END $$;
COMMENT ON FUNCTION agentgres.collection_id(text) IS 'the id of a collection by name; an error when there is none';

CREATE FUNCTION agentgres.create_collection(name text, embedder text DEFAULT 'builtin', dims integer DEFAULT NULL,
                                            chunk_size integer DEFAULT 1000, chunk_overlap integer DEFAULT 200,
                                            text_config regconfig DEFAULT 'english',
                                            bm25_k1 double precision DEFAULT 1.2, bm25_b double precision DEFAULT 0.75)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
	builtin_dims integer := agentgres.dims(agentgres.embed(''));
	existing agentgres.collections;
	new_id bigint;
BEGIN
	IF name IS NULL OR name = '' OR length(name) > 200 THEN
		RAISE EXCEPTION 'a collection name must have 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF embedder IS NULL OR embedder = '' OR length(embedder) > 200 THEN
		RAISE EXCEPTION 'embedder must be ''builtin'' or an external model''s name of at most 200 characters'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF embedder = 'lsa' THEN
		dims := coalesce(dims, 384);
		IF dims NOT BETWEEN 2 AND 2000 THEN
			RAISE EXCEPTION 'the lsa embedder takes 2 to 2000 dimensions, not %', dims
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	ELSIF embedder = 'builtin' THEN
		IF dims IS NOT NULL AND dims <> builtin_dims THEN
			RAISE EXCEPTION 'the builtin embedder has % dimensions, not %', builtin_dims, dims
				USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave dims NULL for the builtin embedder.';
		END IF;
		dims := builtin_dims;
	ELSIF dims IS NULL OR dims NOT BETWEEN 1 AND 16000 THEN
		RAISE EXCEPTION 'an external embedder needs dims between 1 and 16000' USING ERRCODE = 'invalid_parameter_value',
			HINT = format('Pass the dimensions of model %s, for example create_collection(%L, %L, 768).', embedder,
			              name, embedder);
	END IF;
	IF chunk_size IS NULL OR chunk_size NOT BETWEEN 50 AND 100000 THEN
		RAISE EXCEPTION 'chunk_size must be between 50 and 100000 characters, not %', chunk_size
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF chunk_overlap IS NULL OR chunk_overlap < 0 OR chunk_overlap * 2 > chunk_size THEN
		RAISE EXCEPTION 'chunk_overlap must be between 0 and half of chunk_size (%), not %', chunk_size, chunk_overlap
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF text_config IS NULL THEN
		RAISE EXCEPTION 'text_config must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF bm25_k1 IS NULL OR NOT (bm25_k1 >= 0 AND bm25_k1 <= 10) OR bm25_b IS NULL OR NOT (bm25_b >= 0 AND bm25_b <= 1) THEN
		RAISE EXCEPTION 'bm25_k1 must be between 0 and 10 and bm25_b between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO agentgres.collections AS c (name, embedder, dims, chunk_size, chunk_overlap, text_config, bm25_k1, bm25_b)
	VALUES (name, embedder, dims, chunk_size, chunk_overlap, text_config::text, bm25_k1, bm25_b)
	ON CONFLICT ON CONSTRAINT collections_name_key DO NOTHING
	RETURNING c.id INTO new_id;
	IF new_id IS NOT NULL THEN
		RETURN new_id;
	END IF;
	-- It exists: the same settings make the call idempotent, others an error.
	SELECT * INTO existing FROM agentgres.collections c WHERE c.name = create_collection.name;
	IF (existing.embedder, existing.dims, existing.chunk_size, existing.chunk_overlap,
	    existing.text_config::pg_catalog.regconfig, existing.bm25_k1, existing.bm25_b)
	   IS DISTINCT FROM (embedder, dims, chunk_size, chunk_overlap, text_config, bm25_k1, bm25_b) THEN
		RAISE EXCEPTION 'collection "%" exists with other settings', name USING ERRCODE = 'duplicate_object',
			DETAIL = format('It has embedder %s, %s dimensions, chunks of %s characters with %s overlap, text search '
			                'configuration %s, bm25 k1 %s and b %s.', existing.embedder, existing.dims,
			                existing.chunk_size, existing.chunk_overlap, existing.text_config, existing.bm25_k1,
			                existing.bm25_b),
			HINT = 'Use another name, or drop the collection first (DELETE FROM agentgres.collections).';
	END IF;
	RETURN existing.id;
END $$;
COMMENT ON FUNCTION agentgres.create_collection(text, text, integer, integer, integer, regconfig, double precision,
                                                double precision) IS
	'creates a collection (idempotent for identical settings) and returns its id';

CREATE FUNCTION agentgres.set_bm25_parameters(collection text, k1 double precision, b double precision)
RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF k1 IS NULL OR NOT (k1 >= 0 AND k1 <= 10) OR b IS NULL OR NOT (b >= 0 AND b <= 1) THEN
		RAISE EXCEPTION 'k1 must be between 0 and 10 and b between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE agentgres.collections c SET bm25_k1 = k1, bm25_b = b WHERE c.id = agentgres.collection_id(collection);
END $$;
COMMENT ON FUNCTION agentgres.set_bm25_parameters(text, double precision, double precision) IS
	'sets a collection''s BM25 k1 and b (they apply at query time: nothing is re-indexed)';

-- A collection's embedding of text: the builtin embedder, or the LSA model
-- of an 'lsa' collection (NULL until it is trained). External embedders run
-- in agentgresd, never here.
CREATE FUNCTION agentgres.embed_for(collection text, content text) RETURNS agentgres.embedding
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	coll agentgres.collections;
BEGIN
	SELECT * INTO coll FROM agentgres.collections c WHERE c.id = agentgres.collection_id(embed_for.collection);
	IF content IS NULL THEN
		RETURN NULL;
	END IF;
	CASE coll.embedder
	WHEN 'builtin' THEN
		RETURN agentgres.embed(content);
	WHEN 'lsa' THEN
		RETURN agentgres.lsa_embed(coll.id, content);
	ELSE
		RAISE EXCEPTION 'collection "%" embeds with the external model %', coll.name, coll.embedder
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'agentgresd computes external embeddings; pass them as query embeddings.';
	END CASE;
END $$;
COMMENT ON FUNCTION agentgres.embed_for(text, text) IS
	'text embedded the way a collection embeds its chunks (builtin or its trained lsa model)';

-- Trains an 'lsa' collection's model on its chunks and re-embeds every chunk
-- with it, in one transaction. Ingests into the collection wait meanwhile
-- (a transaction-level advisory lock they share), so no chunk keeps a vector
-- of another model.
CREATE FUNCTION agentgres.train_embedder(collection text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	coll agentgres.collections;
	started timestamptz := clock_timestamp();
	model bytea;
	new_version integer;
	embedded bigint;
	n bigint;
BEGIN
	SELECT * INTO coll FROM agentgres.collections c WHERE c.id = agentgres.collection_id(train_embedder.collection);
	PERFORM pg_advisory_xact_lock(hashtextextended('agentgres.train_embedder', coll.id));
	IF coll.embedder <> 'lsa' THEN
		RAISE EXCEPTION 'collection "%" uses embedder %, which is not trained', coll.name, coll.embedder
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Only collections created with embedder => ''lsa'' have a model to train.';
	END IF;
	SELECT coalesce((SELECT s.chunks FROM agentgres.bm25_stats s WHERE s.collection_id = coll.id), 0) INTO n;
	model := agentgres.lsa_train(coll.id, coll.dims);
	INSERT INTO agentgres.embedder_models AS m (collection_id, model, dimensions, trained_chunks)
	VALUES (coll.id, model, coll.dims, n)
	ON CONFLICT (collection_id) DO UPDATE
		SET model = excluded.model, version = m.version + 1, dimensions = excluded.dimensions,
		    trained_chunks = excluded.trained_chunks, trained_at = now()
	RETURNING m.version INTO new_version;
	UPDATE agentgres.chunks c SET embedding = agentgres.lsa_embed(coll.id, c.content) WHERE c.collection_id = coll.id;
	GET DIAGNOSTICS embedded = ROW_COUNT;
	RETURN jsonb_build_object('collection', coll.name, 'version', new_version, 'dimensions', coll.dims,
	                          'chunks', embedded, 'model_bytes', octet_length(model),
	                          'seconds', round(extract(epoch FROM clock_timestamp() - started)::numeric, 3));
END $$;
COMMENT ON FUNCTION agentgres.train_embedder(text) IS
	'trains an lsa collection''s embedder on its chunks and re-embeds them; returns what it did';

CREATE FUNCTION agentgres.ingest_document(collection text, uri text, content text, metadata jsonb DEFAULT '{}',
                                          symbols jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	coll agentgres.collections;
	doc_id bigint;
	meta jsonb := coalesce(ingest_document.metadata, '{}');
	content_hash text;
	lang text;
	path text;
	written integer;
BEGIN
	SELECT * INTO coll FROM agentgres.collections c WHERE c.id = agentgres.collection_id(ingest_document.collection);
	IF coll.embedder = 'lsa' THEN
		-- Waits for a training in progress (train_embedder): the new chunks
		-- get the vectors of the model that the re-embedded ones have.
		PERFORM pg_advisory_xact_lock_shared(hashtextextended('agentgres.train_embedder', coll.id));
	END IF;
	IF ingest_document.uri IS NULL OR ingest_document.uri = '' OR length(ingest_document.uri) > 4096 THEN
		RAISE EXCEPTION 'uri must have 1 to 4096 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ingest_document.content IS NULL THEN
		RAISE EXCEPTION 'content must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Remove a document with agentgres.delete_document().';
	END IF;
	IF octet_length(ingest_document.content) > 64 * 1024 * 1024 THEN
		RAISE EXCEPTION 'a document must not exceed 64 MB' USING ERRCODE = 'program_limit_exceeded',
			DETAIL = format('The content has %s bytes.', octet_length(ingest_document.content));
	END IF;
	IF jsonb_typeof(meta) <> 'object' THEN
		RAISE EXCEPTION 'metadata must be a JSON object, not %', jsonb_typeof(meta) USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ingest_document.symbols IS NOT NULL AND jsonb_typeof(ingest_document.symbols) <> 'array' THEN
		RAISE EXCEPTION 'symbols must be a JSON array of {"name", "kind", "line"} objects, not %',
			jsonb_typeof(ingest_document.symbols) USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF meta ? 'language' AND jsonb_typeof(meta -> 'language') <> 'string' THEN
		RAISE EXCEPTION 'metadata key "language" must be a string' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	content_hash := encode(sha256(convert_to(ingest_document.content, 'UTF8')), 'hex');
	lang := coalesce(nullif(meta ->> 'language', ''), agentgres.language_of(ingest_document.uri));
	path := coalesce(meta ->> 'path', ingest_document.uri);

	-- Insert, or take the existing row (locking it: a concurrent ingest of
	-- the same uri waits here) and replace it only when something changed.
	INSERT INTO agentgres.documents AS d (collection_id, uri, content_hash, language, metadata)
	VALUES (coll.id, ingest_document.uri, content_hash, lang, meta)
	ON CONFLICT (collection_id, uri) DO UPDATE
		SET content_hash = excluded.content_hash, language = excluded.language, metadata = excluded.metadata,
		    updated_at = now()
		WHERE (d.content_hash, d.language, d.metadata) IS DISTINCT FROM
		      (excluded.content_hash, excluded.language, excluded.metadata)
	RETURNING d.id INTO doc_id;
	IF doc_id IS NULL THEN
		SELECT d.id INTO doc_id FROM agentgres.documents d
		WHERE d.collection_id = coll.id AND d.uri = ingest_document.uri;
		RETURN doc_id;
	END IF;

	-- The triggers take the old chunks' postings away and index the new ones.
	DELETE FROM agentgres.chunks c WHERE c.document_id = doc_id;
	WITH pieces AS MATERIALIZED (
		SELECT p.* FROM agentgres.chunk_text(ingest_document.content, lang, coll.chunk_size, coll.chunk_overlap) p
	), found AS MATERIALIZED (
		SELECT s.name, s.kind, s.line FROM agentgres.extract_symbols(ingest_document.content, lang) s
		WHERE ingest_document.symbols IS NULL
		UNION ALL
		SELECT s.name, coalesce(s.kind, 'symbol'), s.line
		FROM jsonb_to_recordset(CASE WHEN ingest_document.symbols IS NOT NULL THEN ingest_document.symbols END)
		     AS s(name text, kind text, line integer)
	), owned AS MATERIALIZED (
		-- Each symbol belongs to the chunk whose lines hold its definition,
		-- the one that starts last among them (it holds most of the body).
		SELECT f.name, f.kind, f.line,
		       (SELECT p.ordinal FROM pieces p
		        ORDER BY f.line BETWEEN p.line_start AND p.line_end DESC,
		                 CASE WHEN p.line_start <= f.line THEN p.line_start END DESC NULLS LAST, p.ordinal
		        LIMIT 1) AS ordinal
		FROM found f
		WHERE f.name IS NOT NULL AND f.name <> '' AND length(f.name) <= 1000 AND f.line >= 1
	), inserted AS (
		INSERT INTO agentgres.chunks (collection_id, document_id, ordinal, line_start, line_end, embedding, content, tsv,
		                              metadata)
		SELECT coll.id, doc_id, p.ordinal, p.line_start, p.line_end,
		       CASE coll.embedder WHEN 'builtin' THEN agentgres.embed(p.content)
		                          WHEN 'lsa' THEN agentgres.lsa_embed(coll.id, p.content) END,
		       p.content, to_tsvector(coll.text_config::pg_catalog.regconfig, p.content),
		       meta || jsonb_build_object('path', path, 'language', lang, 'symbols',
		                                  coalesce((SELECT jsonb_agg(o.name ORDER BY o.line, o.name) FROM owned o
		                                            WHERE o.ordinal = p.ordinal), '[]'::jsonb))
		FROM pieces p
		RETURNING id, ordinal
	), named AS (
		INSERT INTO agentgres.symbols (collection_id, document_id, chunk_id, name, kind, path, line)
		SELECT coll.id, doc_id, i.id, o.name, o.kind, path, o.line FROM owned o JOIN inserted i USING (ordinal)
	)
	SELECT count(*) INTO written FROM inserted;

	IF written > 0 AND coll.embedder NOT IN ('builtin', 'lsa') THEN
		PERFORM agentgres.enqueue('knowledge.embed', jsonb_build_object('document_id', doc_id));
	END IF;
	-- An lsa collection asks for a training (agentgresd's worker runs it)
	-- once it has 100 chunks and no model, or half again as many chunks as
	-- its model was trained on (chunks with terms, as bm25_stats counts
	-- them: no scan of the collection per ingest).
	IF written > 0 AND coll.embedder = 'lsa' AND NOT EXISTS (
		SELECT FROM agentgres.jobs j WHERE j.kind = 'knowledge.train' AND j.state IN ('queued', 'running')
		                               AND j.payload ->> 'collection' = coll.name) THEN
		PERFORM agentgres.enqueue('knowledge.train', jsonb_build_object('collection', coll.name))
		FROM agentgres.bm25_stats s
		LEFT JOIN agentgres.embedder_models m ON m.collection_id = s.collection_id
		WHERE s.collection_id = coll.id
		  AND ((m.collection_id IS NULL AND s.chunks >= 100) OR s.chunks >= 1.5 * m.trained_chunks);
	END IF;
	RETURN doc_id;
END $$;
COMMENT ON FUNCTION agentgres.ingest_document(text, text, text, jsonb, jsonb) IS
	'chunks, embeds and indexes a document; unchanged content is a no-op, changed content replaces its chunks';

CREATE FUNCTION agentgres.delete_document(collection text, uri text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	coll_id bigint := agentgres.collection_id(delete_document.collection);
BEGIN
	DELETE FROM agentgres.documents d WHERE d.collection_id = coll_id AND d.uri = delete_document.uri;
	RETURN FOUND;
END $$;
COMMENT ON FUNCTION agentgres.delete_document(text, text) IS
	'removes a document with its chunks and symbols; false when there was none';

CREATE FUNCTION agentgres.set_chunk_embeddings(chunk_ids bigint[], embeddings agentgres.embedding[])
RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	bad record;
	written integer;
BEGIN
	IF chunk_ids IS NULL OR embeddings IS NULL THEN
		RAISE EXCEPTION 'chunk_ids and embeddings must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF cardinality(chunk_ids) <> cardinality(embeddings) THEN
		RAISE EXCEPTION 'chunk_ids has % elements and embeddings %', cardinality(chunk_ids), cardinality(embeddings)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT u.id, u.e, c.dims INTO bad
	FROM unnest(chunk_ids, embeddings) AS u(id, e)
	JOIN agentgres.chunks ch ON ch.id = u.id JOIN agentgres.collections c ON c.id = ch.collection_id
	WHERE u.e IS NULL OR agentgres.dims(u.e) <> c.dims
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'the embedding for chunk % has % dimensions; its collection has %', bad.id,
			agentgres.dims(bad.e), bad.dims USING ERRCODE = 'data_exception';
	END IF;
	UPDATE agentgres.chunks ch SET embedding = u.e FROM unnest(chunk_ids, embeddings) AS u(id, e) WHERE ch.id = u.id;
	GET DIAGNOSTICS written = ROW_COUNT;
	RETURN written;
END $$;
COMMENT ON FUNCTION agentgres.set_chunk_embeddings(bigint[], agentgres.embedding[]) IS
	'stores vectors computed outside the database (external embedders); dimensions checked per collection';

------------------------------------------------------------------------------
-- Search
------------------------------------------------------------------------------

-- The chunks of a collection a filter lets through, or NULL for no filter.
-- Keys: "path_prefix" (a string: the uri starts with it) and "language" (a
-- string or an array of strings).
CREATE FUNCTION agentgres.filtered_chunks(collection_id bigint, filter jsonb) RETURNS bigint[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
	unknown text;
	prefix text;
	languages text[];
BEGIN
	IF filter IS NULL OR filter = '{}'::jsonb THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(filter) <> 'object' THEN
		RAISE EXCEPTION 'a search filter must be a JSON object, not %', jsonb_typeof(filter)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT k INTO unknown FROM jsonb_object_keys(filter) k WHERE k NOT IN ('path_prefix', 'language') ORDER BY k LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'unknown search filter key "%"', unknown USING ERRCODE = 'invalid_parameter_value',
			HINT = 'A filter takes "path_prefix" (a string) and "language" (a string or an array of strings).';
	END IF;
	IF filter ? 'path_prefix' THEN
		IF jsonb_typeof(filter -> 'path_prefix') <> 'string' THEN
			RAISE EXCEPTION 'filter key "path_prefix" must be a string' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		prefix := filter ->> 'path_prefix';
	END IF;
	IF filter ? 'language' THEN
		CASE jsonb_typeof(filter -> 'language')
		WHEN 'string' THEN
			languages := ARRAY[filter ->> 'language'];
		WHEN 'array' THEN
			IF EXISTS (SELECT FROM jsonb_array_elements(filter -> 'language') e WHERE jsonb_typeof(e) <> 'string') THEN
				RAISE EXCEPTION 'filter key "language" must be a string or an array of strings'
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			languages := ARRAY(SELECT jsonb_array_elements_text(filter -> 'language'));
		ELSE
			RAISE EXCEPTION 'filter key "language" must be a string or an array of strings'
				USING ERRCODE = 'invalid_parameter_value';
		END CASE;
	END IF;
	RETURN ARRAY(
		SELECT c.id FROM agentgres.documents d JOIN agentgres.chunks c ON c.document_id = d.id
		WHERE d.collection_id = filtered_chunks.collection_id
		  AND (prefix IS NULL OR starts_with(d.uri, prefix))
		  AND (languages IS NULL OR d.language = ANY (languages)));
END $$;
COMMENT ON FUNCTION agentgres.filtered_chunks(bigint, jsonb) IS
	'the chunk ids of a collection that pass a search filter ({"path_prefix", "language"}); NULL for no filter';

CREATE FUNCTION agentgres.bm25_search(collection text, query text, k integer DEFAULT 10, filter jsonb DEFAULT '{}')
RETURNS TABLE (chunk_id bigint, document_id bigint, uri text, score double precision)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp ROWS 10 AS $$
#variable_conflict use_column
DECLARE
	coll_id bigint := agentgres.collection_id(bm25_search.collection);
BEGIN
	IF bm25_search.query IS NULL OR bm25_search.k IS NULL THEN
		RAISE EXCEPTION 'query and k must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN QUERY
	SELECT r.chunk_id, c.document_id, d.uri, r.score
	FROM agentgres.bm25_rank(coll_id, bm25_search.query, bm25_search.k,
	                         agentgres.filtered_chunks(coll_id, bm25_search.filter)) WITH ORDINALITY AS r
	JOIN agentgres.chunks c ON c.id = r.chunk_id
	JOIN agentgres.documents d ON d.id = c.document_id
	ORDER BY r.ordinality;
END $$;
COMMENT ON FUNCTION agentgres.bm25_search(text, text, integer, jsonb) IS
	'the k best chunks of a collection for query by BM25, best first, with their documents';

-- An approximate vector index for one collection's chunks: agentgres_ivf
-- (sql/ann.sql) with cosine distance, over the rows of that collection only
-- (a partial index, so collections of other dimensions do not mix), named
-- agentgres.chunks_vectors_<collection id>. hybrid_search then takes its
-- vector candidates from it (agentgres.ivf_probes lists) instead of an exact
-- scan of the collection. Built anew on every call (call it again when the
-- collection has grown a lot: the lists are trained on the rows there are);
-- writes to chunks wait while it builds. SECURITY DEFINER: creating an index
-- takes the table's owner; only agentgres_admin may call it.
CREATE FUNCTION agentgres.build_vector_index(collection text, lists integer DEFAULT NULL) RETURNS regclass
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	coll_id bigint := agentgres.collection_id(build_vector_index.collection);
	index_name text := format('chunks_vectors_%s', coll_id);
	new_name text := format('chunks_vectors_%s_new', coll_id);
BEGIN
	IF build_vector_index.lists IS NOT NULL AND build_vector_index.lists NOT BETWEEN 1 AND 65536 THEN
		RAISE EXCEPTION 'lists must be between 1 and 65536, not %', build_vector_index.lists
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass NULL to size the lists from the collection.';
	END IF;
	IF to_regclass(format('agentgres.%I', new_name)) IS NOT NULL THEN -- left by a build that failed
		EXECUTE format('DROP INDEX agentgres.%I', new_name);
	END IF;
	EXECUTE format('CREATE INDEX %I ON agentgres.chunks USING agentgres_ivf (embedding agentgres.embedding_cosine_ops)%s
	                WHERE collection_id = %s', new_name,
	               CASE WHEN build_vector_index.lists IS NULL THEN ''
	                    ELSE format(' WITH (lists = %s)', build_vector_index.lists) END, coll_id);
	IF to_regclass(format('agentgres.%I', index_name)) IS NOT NULL THEN
		EXECUTE format('DROP INDEX agentgres.%I', index_name);
	END IF;
	EXECUTE format('ALTER INDEX agentgres.%I RENAME TO %I', new_name, index_name);
	RETURN format('agentgres.%I', index_name)::regclass;
END $$;
COMMENT ON FUNCTION agentgres.build_vector_index(text, integer) IS
	'builds (anew) the approximate vector index of a collection that hybrid_search then uses';

-- How likely a hybrid result is relevant: a logistic model (Platt scaling)
-- of what every query has, its rank in the lexical and in the vector list
-- (NULL when absent from one) and the cosine similarity of its embedding to
-- the query vector, fitted on the NFCorpus dev split by
-- `bench/rag_eval --fit-confidence` (bench/README.md shows the reliability
-- tables). Cosines mean different things for different embedders, so each
-- built-in embedder has its own coefficients; for an external embedder, whose
-- cosine scale is unknown, the model uses the ranks alone.
CREATE FUNCTION agentgres.hybrid_confidence(text_rank integer, vector_rank integer, similarity double precision,
                                            embedder text DEFAULT 'builtin')
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT 1.0 / (1.0 + exp(-(CASE
		WHEN embedder = 'builtin' AND similarity IS NOT NULL THEN
			-3.5592 - 0.0870 * t - 0.9624 * v + 0.5199 * both_ + 5.8877 * s
		WHEN embedder = 'lsa' AND similarity IS NOT NULL THEN
			-4.1055 + 0.0602 * t - 1.0045 * v - 0.0006 * both_ + 6.3086 * s
		ELSE
			-1.3862 + 0.3801 * t + 0.7045 * v + 0.4091 * both_
		END)))
	FROM (SELECT coalesce(1.0 / text_rank, 0.0) AS t, coalesce(1.0 / vector_rank, 0.0) AS v,
	             CASE WHEN text_rank IS NOT NULL AND vector_rank IS NOT NULL THEN 1.0 ELSE 0.0 END AS both_,
	             greatest(coalesce(similarity, 0.0), 0.0) AS s) features
$$;
COMMENT ON FUNCTION agentgres.hybrid_confidence(integer, integer, double precision, text) IS
	'the probability that a hybrid_search result is relevant, from its ranks and similarity (calibrated on NFCorpus dev)';

-- The coverage of an answer built from search results: full when one result
-- is very likely relevant (confidence >= 0.8), partial when some evidence is
-- (>= 0.4), none otherwise.
CREATE FUNCTION agentgres.search_coverage(confidences double precision[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN m >= 0.8 THEN 'full' WHEN m >= 0.4 THEN 'partial' ELSE 'none' END
	FROM (SELECT max(c) AS m FROM unnest(confidences) c) best
$$;
COMMENT ON FUNCTION agentgres.search_coverage(double precision[]) IS
	'full, partial or none: how well search results with these confidences cover a question';

-- Several queries at once (the help agent's reformulations): one BM25 list
-- per text and one vector list per embedding (computed from the text by the
-- builtin embedder when embeddings are NULL), all fused by RRF. A name of its
-- own: as an overload of hybrid_search, hybrid_search('c', 'q', NULL) would
-- be ambiguous.
CREATE FUNCTION agentgres.hybrid_search_multi(collection text, query_texts text[],
                                        query_embeddings agentgres.embedding[] DEFAULT NULL, k integer DEFAULT 10,
                                        candidates integer DEFAULT 50, rrf_k integer DEFAULT 60,
                                        filter jsonb DEFAULT '{}')
RETURNS TABLE (chunk_id bigint, document_id bigint, uri text, content text, score double precision,
               vector_rank integer, text_rank integer, similarity double precision, confidence double precision)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp ROWS 10 AS $$
#variable_conflict use_column
DECLARE
	coll agentgres.collections;
	allowed bigint[];
	texts text[] := coalesce(hybrid_search_multi.query_texts, '{}');
	vectors agentgres.embedding[] := coalesce(hybrid_search_multi.query_embeddings, '{}');
	lists bigint[] := '{}';
	ids bigint[];
	q text;
	e agentgres.embedding;
	text_lists integer := 0;
	vector_lists integer;
	computed agentgres.embedding[] := '{}';
	-- Relevance feedback for the builtin embedder (bench/README.md: tuned on
	-- the NFCorpus dev split).
	feedback_chunks constant integer := 5;
	feedback_weight constant double precision := 2.0;
	-- The builtin embedder's list counts half in the fusion: without IDF,
	-- its hashed features are a weaker ranking than BM25 (NFCorpus dev: +0.004
	-- nDCG@10; the lsa list gains nothing from a lower weight).
	vector_weight double precision;
	vector_index regclass;
BEGIN
	SELECT * INTO coll FROM agentgres.collections c WHERE c.id = agentgres.collection_id(hybrid_search_multi.collection);
	vector_weight := CASE WHEN coll.embedder = 'builtin' THEN 0.5 ELSE 1.0 END;
	IF hybrid_search_multi.k IS NULL OR hybrid_search_multi.k NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'k must be between 1 and 1000, not %', hybrid_search_multi.k USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF hybrid_search_multi.candidates IS NULL OR hybrid_search_multi.candidates NOT BETWEEN hybrid_search_multi.k AND 10000 THEN
		RAISE EXCEPTION 'candidates must be between k (%) and 10000, not %', hybrid_search_multi.k, hybrid_search_multi.candidates
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF hybrid_search_multi.rrf_k IS NULL OR hybrid_search_multi.rrf_k NOT BETWEEN 1 AND 100000 THEN
		RAISE EXCEPTION 'rrf_k must be between 1 and 100000, not %', hybrid_search_multi.rrf_k
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_ndims(texts) > 1 OR array_ndims(vectors) > 1 OR cardinality(texts) > 32 OR cardinality(vectors) > 32 THEN
		RAISE EXCEPTION 'a search takes at most 32 query texts and 32 query embeddings, in one-dimensional arrays'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(texts, NULL) IS NOT NULL OR array_position(vectors, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'query texts and embeddings must not contain nulls' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF cardinality(texts) = 0 AND cardinality(vectors) = 0 THEN
		RAISE EXCEPTION 'a search needs a query text or a query embedding' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(array_to_string(texts, '')) > 64 * 1024 THEN
		RAISE EXCEPTION 'the query texts must not exceed 64 kB together' USING ERRCODE = 'program_limit_exceeded';
	END IF;
	FOREACH e IN ARRAY vectors LOOP
		IF agentgres.dims(e) <> coll.dims THEN
			RAISE EXCEPTION 'the query embedding has % dimensions; collection "%" has %', agentgres.dims(e), coll.name,
				coll.dims USING ERRCODE = 'data_exception',
				HINT = CASE WHEN coll.embedder = 'builtin' THEN 'Pass NULL to use the builtin embedder.'
				            ELSE format('Embed the query with %s.', coll.embedder) END;
		END IF;
	END LOOP;
	allowed := agentgres.filtered_chunks(coll.id, hybrid_search_multi.filter);

	-- Lists of candidates ids, padded with NULLs to one length: the rows of
	-- the array rrf fuses. Lexical lists first, then vector lists.
	FOREACH q IN ARRAY texts LOOP
		ids := ARRAY(SELECT r.chunk_id FROM agentgres.bm25_rank(coll.id, q, hybrid_search_multi.candidates, allowed)
		             WITH ORDINALITY r ORDER BY r.ordinality);
		lists := lists || ARRAY[ids || array_fill(NULL::bigint, ARRAY[hybrid_search_multi.candidates - cardinality(ids)])];
		text_lists := text_lists + 1;
		-- No query embedding given and a builtin collection: the text's own
		-- vector, moved toward its best lexical hits (relevance feedback).
		IF hybrid_search_multi.query_embeddings IS NULL AND coll.embedder IN ('builtin', 'lsa') THEN
			e := CASE coll.embedder WHEN 'builtin' THEN agentgres.embed(q) ELSE agentgres.lsa_embed(coll.id, q) END;
			IF e IS NOT NULL THEN
				computed := computed || agentgres.rocchio(e,
					ARRAY(SELECT c.embedding FROM unnest(ids[1:feedback_chunks]) AS f(id)
					      JOIN agentgres.chunks c ON c.id = f.id), feedback_weight);
			END IF;
		END IF;
	END LOOP;
	IF hybrid_search_multi.query_embeddings IS NULL AND coll.embedder IN ('builtin', 'lsa') THEN
		vectors := computed;
	END IF;
	vector_index := pg_catalog.to_regclass(pg_catalog.format('agentgres.chunks_vectors_%s', coll.id));
	FOREACH e IN ARRAY vectors LOOP
		IF vector_index IS NOT NULL AND NOT pg_catalog.float8eq(e OPERATOR(agentgres.<=>) e, 'NaN') THEN
			-- The collection's approximate index (build_vector_index). The
			-- collection id is a literal so that the planner matches the
			-- index's predicate; a zero query vector (no cosine distance) keeps
			-- the exact scan, which ranks nothing for it.
			EXECUTE pg_catalog.format(
				'SELECT ARRAY(SELECT c.id FROM agentgres.chunks c WHERE c.collection_id = %s%s
				              ORDER BY c.embedding OPERATOR(agentgres.<=>) $1 LIMIT %s)',
				coll.id, CASE WHEN allowed IS NULL THEN '' ELSE ' AND c.id OPERATOR(pg_catalog.=) ANY ($2)' END,
				hybrid_search_multi.candidates)
				INTO ids USING e, allowed;
		ELSE
			ids := ARRAY(SELECT t.id FROM agentgres.top_k_filtered('agentgres.chunks', 'id', 'embedding', e,
			                                                       hybrid_search_multi.candidates, 'cosine', 'collection_id',
			                                                       coll.id, allowed) WITH ORDINALITY t
			             ORDER BY t.ordinality);
		END IF;
		lists := lists || ARRAY[ids || array_fill(NULL::bigint, ARRAY[hybrid_search_multi.candidates - cardinality(ids)])];
	END LOOP;
	vector_lists := cardinality(vectors);

	RETURN QUERY
	WITH fused AS (
		SELECT f.id, f.score, f.rank,
		       (SELECT min(r) FROM unnest(f.list_ranks[1:text_lists]) r) AS text_rank,
		       (SELECT min(r) FROM unnest(f.list_ranks[text_lists + 1:text_lists + vector_lists]) r) AS vector_rank
		FROM agentgres.rrf_weighted(hybrid_search_multi.rrf_k,
		                            array_fill(1.0::double precision, ARRAY[text_lists])
		                            || array_fill(vector_weight, ARRAY[vector_lists]),
		                            VARIADIC lists) f
		WHERE f.rank <= hybrid_search_multi.k
	), scored AS (
		SELECT f.*, c.document_id, c.content,
		       (SELECT max(agentgres.cosine_similarity(c.embedding, v)) FROM unnest(vectors) v
		        WHERE c.embedding IS NOT NULL) AS similarity
		FROM fused f JOIN agentgres.chunks c ON c.id = f.id
	)
	SELECT s.id, s.document_id, d.uri, s.content, s.score, s.vector_rank, s.text_rank, s.similarity,
	       agentgres.hybrid_confidence(s.text_rank, s.vector_rank, s.similarity, coll.embedder)
	FROM scored s JOIN agentgres.documents d ON d.id = s.document_id
	ORDER BY s.rank;
END $$;
COMMENT ON FUNCTION agentgres.hybrid_search_multi(text, text[], agentgres.embedding[], integer, integer, integer, jsonb) IS
	'hybrid search with several queries: every BM25 and vector list fused by RRF';

CREATE FUNCTION agentgres.hybrid_search(collection text, query_text text,
                                        query_embedding agentgres.embedding DEFAULT NULL, k integer DEFAULT 10,
                                        candidates integer DEFAULT 50, rrf_k integer DEFAULT 60,
                                        filter jsonb DEFAULT '{}')
RETURNS TABLE (chunk_id bigint, document_id bigint, uri text, content text, score double precision,
               vector_rank integer, text_rank integer, similarity double precision, confidence double precision)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp ROWS 10 AS $$
	SELECT * FROM agentgres.hybrid_search_multi(collection,
		CASE WHEN query_text IS NULL THEN '{}'::text[] ELSE ARRAY[query_text] END,
		CASE WHEN query_embedding IS NULL THEN NULL ELSE ARRAY[query_embedding] END,
		k, candidates, rrf_k, filter)
$$;
COMMENT ON FUNCTION agentgres.hybrid_search(text, text, agentgres.embedding, integer, integer, integer, jsonb) IS
	'hybrid search: BM25 and vector candidates of a collection fused by RRF, with ranks, similarity and confidence';

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

-- Roles (as sql/roles.sql grants them)
GRANT SELECT ON ALL TABLES IN SCHEMA agentgres TO agentgres_reader;
-- Knowledge: the application (or agentgresd) ingests; the BM25 postings and
-- statistics are written by SECURITY DEFINER triggers on chunks only.
GRANT INSERT ON agentgres.collections TO agentgres_agent;
GRANT INSERT, UPDATE, DELETE ON agentgres.documents, agentgres.chunks, agentgres.symbols, agentgres.embedding_cache
	TO agentgres_agent;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agentgres TO agentgres_admin;

DO $$
DECLARE
	fn record;
BEGIN
	FOR fn IN
		SELECT f.grantee, f.signature::regprocedure AS signature
		FROM (VALUES
			(NULL,                'agentgres.chunks_index_added()'),
			(NULL,                'agentgres.chunks_index_removed()'),
			(NULL,                'agentgres.chunks_index_truncated()'),
			(NULL,                'agentgres.chunks_refuse_rewrite()'),
			('agentgres_reader',  'agentgres.collection_id(text)'),
			('agentgres_reader',  'agentgres.filtered_chunks(bigint, jsonb)'),
			('agentgres_reader',  'agentgres.bm25_rank(bigint, text, integer, bigint[])'),
			('agentgres_reader',  'agentgres.bm25_search(text, text, integer, jsonb)'),
			('agentgres_reader',  'agentgres.hybrid_search_multi(text, text[], agentgres.embedding[], integer, integer, integer, jsonb)'),
			('agentgres_reader',  'agentgres.hybrid_search(text, text, agentgres.embedding, integer, integer, integer, jsonb)'),
			('agentgres_agent',   'agentgres.create_collection(text, text, integer, integer, integer, regconfig, double precision, double precision)'),
			('agentgres_agent',   'agentgres.ingest_document(text, text, text, jsonb, jsonb)'),
			('agentgres_agent',   'agentgres.delete_document(text, text)'),
			('agentgres_agent',   'agentgres.set_chunk_embeddings(bigint[], agentgres.embedding[])'),
			('agentgres_reader',  'agentgres.embed_for(text, text)'),
			('agentgres_reader',  'agentgres.lsa_embed(bigint, text)'),
			('agentgres_admin',   'agentgres.lsa_train(bigint, integer)'),
			('agentgres_admin',   'agentgres.train_embedder(text)'),
			('agentgres_admin',   'agentgres.build_vector_index(text, integer)'),
			('agentgres_admin',   'agentgres.set_bm25_parameters(text, double precision, double precision)')
		) AS f(grantee, signature)
	LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn.signature);
		IF fn.grantee IS NOT NULL THEN
			EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', fn.signature, fn.grantee);
		END IF;
	END LOOP;
END $$;
