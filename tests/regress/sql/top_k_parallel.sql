-- top_k's parallel heap scan: the same answer as the serial scan and as
-- ORDER BY ... LIMIT, ties, filters, the transaction's own changes and
-- errors included. agentgres.top_k_parallel_min_size = 0 makes every table
-- large enough; the 2,000 rows below fill 62 blocks, so the scan plans
-- max_parallel_workers_per_gather workers.
SET search_path = agentgres, public;
SET extra_float_digits = 0;

CREATE TABLE par (id bigint, tenant integer, e embedding(16), pad text);
SELECT setseed(0.7);
-- every tenth row repeats the vector of row 1: ties that only the id breaks
INSERT INTO par
SELECT i, i % 3,
       CASE WHEN i % 10 = 0 THEN (SELECT array_agg(j::real / 16) FROM generate_series(1, 16) j)::embedding
            ELSE (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 16) WHERE i > 0)::embedding END,
       repeat('x', 150)
FROM generate_series(1, 2000) AS i;
INSERT INTO par VALUES (2001, 0, NULL, 'no vector'), (NULL, 0, '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]', 'no id');
CREATE TABLE pq AS SELECT (SELECT array_agg(j::real / 16) FROM generate_series(1, 16) j)::embedding AS query;
SELECT pg_relation_size('par') / current_setting('block_size')::integer AS blocks;

SET agentgres.top_k_parallel_min_size = 0;
SET max_parallel_workers_per_gather = 2;
SHOW agentgres.top_k_parallel_min_size;

-- the plan: two workers, both started (client_min_messages shows the line)
SET client_min_messages = debug1;
SELECT count(*) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 10);
RESET client_min_messages;

-- parallel = serial = ORDER BY ... LIMIT, for every metric and for a k
-- that takes all the tied rows and more
CREATE FUNCTION serial_top_k(k integer, m text) RETURNS TABLE (id bigint, distance double precision)
LANGUAGE sql SET max_parallel_workers_per_gather = 0
AS $$ SELECT * FROM agentgres.top_k('par', 'id', 'e', (SELECT query FROM pq), k, m) $$;
SELECT m, k,
       (SELECT array_agg(id ORDER BY distance, id) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), k, m))
       = (SELECT array_agg(id ORDER BY distance, id) FROM serial_top_k(k, m)) AS same_as_serial,
       (SELECT array_agg(id ORDER BY distance, id) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), k, m))
       = (SELECT array_agg(id) FROM (SELECT id FROM par WHERE id IS NOT NULL AND e IS NOT NULL ORDER BY
              CASE m WHEN 'cosine' THEN e <=> (SELECT query FROM pq)
                     WHEN 'l2' THEN e <-> (SELECT query FROM pq)
                     ELSE e <#> (SELECT query FROM pq) END, id LIMIT k) s) AS same_as_order_by
FROM unnest(ARRAY['cosine', 'l2', 'inner_product']) AS m, unnest(ARRAY[1, 10, 250]) AS k
ORDER BY m, k;
-- the tied rows come in id order
SELECT array_agg(id ORDER BY distance, id) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 5);

-- a filter column and an allow-list
SELECT (SELECT array_agg(id ORDER BY distance, id)
        FROM top_k_filtered('par', 'id', 'e', (SELECT query FROM pq), 20, 'cosine', 'tenant', 1,
                            ARRAY(SELECT g::bigint FROM generate_series(1, 2000, 2) g)))
       = (SELECT array_agg(id) FROM (SELECT id FROM par WHERE tenant = 1 AND id % 2 = 1 AND e IS NOT NULL
              ORDER BY e <=> (SELECT query FROM pq), id LIMIT 20) s) AS filtered_same;
SELECT count(*) FROM top_k_filtered('par', 'id', 'e', (SELECT query FROM pq), 20, 'cosine', 'tenant', 1, '{}');

-- the workers see the transaction's own changes, and not another's (with
-- parallel_leader_participation off, the workers scan every block)
SET parallel_leader_participation = off;
BEGIN;
INSERT INTO par SELECT -i, 0, (SELECT query FROM pq), 'new' FROM generate_series(1, 3) i;
DELETE FROM par WHERE id = 20;
SELECT array_agg(id ORDER BY distance, id) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 5);
ROLLBACK;
SELECT array_agg(id ORDER BY distance, id) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 5);

-- an error in a worker (a row of other dimensions) reaches the caller with
-- its SQLSTATE and the worker's context, and the session goes on
CREATE TABLE par_bad AS SELECT id, e::embedding AS e FROM par;
ALTER TABLE par_bad ALTER COLUMN e TYPE embedding;
INSERT INTO par_bad VALUES (9999, '[1,2,3]');
\set ON_ERROR_STOP 0
\set VERBOSITY sqlstate
SELECT count(*) FROM top_k('par_bad', 'id', 'e', (SELECT query FROM pq), 10);
\set VERBOSITY default
SELECT count(*) FROM top_k('par_bad', 'id', 'e', (SELECT query FROM pq), 10);
SELECT count(*) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 10);
RESET parallel_leader_participation;

-- serial where a parallel scan cannot or should not run: a temporary table,
-- a huge k, a table's parallel_workers = 0, max_parallel_workers_per_gather
-- = 0, and a table below the size setting
CREATE TEMP TABLE par_temp AS SELECT * FROM par;
SET client_min_messages = debug1;
SELECT count(*) FROM top_k('par_temp', 'id', 'e', (SELECT query FROM pq), 10);
SELECT count(*) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 10001);
ALTER TABLE par SET (parallel_workers = 0);
SELECT count(*) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 10);
ALTER TABLE par SET (parallel_workers = 1);
SELECT count(*) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 10);
ALTER TABLE par RESET (parallel_workers);
SET max_parallel_workers_per_gather = 0;
SELECT count(*) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 10);
SET max_parallel_workers_per_gather = 2;
SET agentgres.top_k_parallel_min_size = '1MB';
SELECT count(*) FROM top_k('par', 'id', 'e', (SELECT query FROM pq), 10);
RESET client_min_messages;

-- the setting refuses what is not a size
SET agentgres.top_k_parallel_min_size = -1;
SET agentgres.top_k_parallel_min_size = 'lots';
RESET agentgres.top_k_parallel_min_size;
SHOW agentgres.top_k_parallel_min_size;

DROP TABLE par, par_bad, pq;
DROP FUNCTION serial_top_k(integer, text);
