-- agentgres_ivf, the approximate nearest-neighbour index: the planner uses
-- it for ORDER BY <distance> LIMIT, its answers match the exact ones at
-- fixed settings (a floor, not a timing), rows come in distance order, MVCC
-- holds (deleted and rolled-back rows never appear, the transaction's own
-- rows do), inserts after the build are found, filters get full pages, and
-- bad input gets clear errors.
SET search_path = agentgres, public;
SET extra_float_digits = 0;

-- 3,000 rows of 16 dimensions around 30 centres, and 20 queries near them.
SELECT setseed(0.11);
CREATE TABLE ivf_centres AS
SELECT c, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 16) WHERE c > 0) AS v
FROM generate_series(1, 30) AS c;
CREATE TABLE ivf_items (id bigint PRIMARY KEY, tenant integer, e embedding);
INSERT INTO ivf_items
SELECT i, CASE WHEN i % 100 = 0 THEN 1 ELSE 0 END,
       (SELECT array_agg(x + (random()::real - 0.5) * 0.2) FROM unnest(v) AS x)::embedding
FROM generate_series(1, 3000) AS i JOIN ivf_centres ON c = 1 + i % 30;
CREATE TABLE ivf_queries AS
SELECT q AS qid, (SELECT array_agg(x + (random()::real - 0.5) * 0.2) FROM unnest(v) AS x)::embedding AS q
FROM generate_series(1, 20) AS q JOIN ivf_centres ON c = 1 + (q * 7) % 30;

CREATE INDEX ivf_items_cos ON ivf_items USING agentgres_ivf (e embedding_cosine_ops) WITH (lists = 30);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_items ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 1) LIMIT 10;

-- recall@10 against top_k over all queries: with every list visited, and with
-- a few (the floor is what the method gives on this data, with margin)
CREATE FUNCTION ivf_recall(metric text, op text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
	hits integer := 0;
	r record;
BEGIN
	FOR r IN SELECT qid, q FROM ivf_queries LOOP
		EXECUTE format('SELECT count(*) FROM (SELECT id FROM ivf_items ORDER BY e %s $1 LIMIT 10) i
		                WHERE id IN (SELECT t.id FROM agentgres.top_k(''ivf_items'', ''id'', ''e'', $1, 10, %L) t)',
		               op, metric)
			INTO STRICT r USING r.q;
		hits := hits + r.count;
	END LOOP;
	RETURN hits / 200.0;
END $$;
SET agentgres.ivf_probes = 30;
SELECT ivf_recall('cosine', '<=>') >= 0.99 AS all_lists_recall;
SET agentgres.ivf_probes = 3;
SELECT ivf_recall('cosine', '<=>') >= 0.9 AS few_lists_recall;

-- the rows come in exact distance order (with the operator's own values),
-- for every query, over the first 100 rows
CREATE FUNCTION ivf_out_of_order(op text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint := 0;
	r record;
	n bigint;
BEGIN
	FOR r IN SELECT q FROM ivf_queries LOOP
		EXECUTE format('SELECT count(*) FILTER (WHERE d < prev) FROM (
		                  SELECT d, lag(d) OVER (ORDER BY rn) AS prev
		                  FROM (SELECT row_number() OVER () AS rn, e %1$s $1 AS d
		                        FROM (SELECT e FROM ivf_items ORDER BY e %1$s $1 LIMIT 100) s) t) u', op)
			INTO STRICT n USING r.q;
		bad := bad + n;
	END LOOP;
	RETURN bad;
END $$;
SELECT ivf_out_of_order('<=>') AS out_of_order;

-- l2 and inner product
CREATE INDEX ivf_items_l2 ON ivf_items USING agentgres_ivf (e embedding_l2_ops) WITH (lists = 30);
CREATE INDEX ivf_items_ip ON ivf_items USING agentgres_ivf (e embedding_ip_ops) WITH (lists = 30);
SET agentgres.ivf_probes = 30;
SELECT ivf_recall('l2', '<->') >= 0.99 AS l2_recall, ivf_recall('inner_product', '<#>') >= 0.99 AS ip_recall;
SET agentgres.ivf_probes = 3;
SELECT ivf_out_of_order('<->') AS l2_out_of_order, ivf_out_of_order('<#>') AS ip_out_of_order;
SET agentgres.ivf_probes = 30;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_items ORDER BY e <-> (SELECT q FROM ivf_queries WHERE qid = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_items ORDER BY e <#> (SELECT q FROM ivf_queries WHERE qid = 1) LIMIT 10;

-- MVCC: a deleted row never appears, the transaction's own new row does, and
-- a rolled-back one does not
SET agentgres.ivf_probes = 3;
CREATE TABLE ivf_nearest AS
SELECT id FROM ivf_items ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 3) LIMIT 3;
DELETE FROM ivf_items WHERE id IN (SELECT id FROM ivf_nearest);
SELECT count(*) AS deleted_seen FROM (SELECT id FROM ivf_items ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 3) LIMIT 10) s
WHERE id IN (SELECT id FROM ivf_nearest);
BEGIN;
INSERT INTO ivf_items VALUES (-1, 0, (SELECT q FROM ivf_queries WHERE qid = 3));
SELECT id, e <=> (SELECT q FROM ivf_queries WHERE qid = 3) AS distance
FROM ivf_items ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 3) LIMIT 1;
ROLLBACK;
SELECT count(*) AS rolled_back_seen FROM (SELECT id FROM ivf_items ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 3) LIMIT 10) s
WHERE id = -1;
-- VACUUM removes the dead entries; answers stay right
VACUUM ivf_items;
SELECT ivf_recall('cosine', '<=>') >= 0.9 AS recall_after_vacuum;

-- ivf_check walks every page: after the VACUUM each live row is in the
-- index once, and nothing else is
WITH c AS MATERIALIZED (SELECT heap_tid FROM agentgres.ivf_check('ivf_items_cos'))
SELECT (SELECT count(*) FROM c) AS entries, (SELECT count(DISTINCT heap_tid) FROM c) AS distinct_entries,
       (SELECT count(*) FROM ivf_items WHERE e IS NOT NULL) AS live_rows,
       (SELECT count(*) FROM ivf_items i WHERE NOT EXISTS (SELECT FROM c WHERE c.heap_tid = i.ctid)) AS missing;

-- REINDEX CONCURRENTLY builds a new index beside the old one while writes go
-- on, then swaps them: the new one is whole and answers
REINDEX INDEX CONCURRENTLY ivf_items_cos;
SELECT count(*) = (SELECT count(*) FROM ivf_items WHERE e IS NOT NULL) AS whole_after_reindex
FROM agentgres.ivf_check('ivf_items_cos');
SELECT ivf_recall('cosine', '<=>') >= 0.9 AS recall_after_reindex;

-- inserts after the build are found (a new list page when one fills)
INSERT INTO ivf_items SELECT 10000 + i, 0, (SELECT q FROM ivf_queries WHERE qid = 4) FROM generate_series(1, 300) i;
SELECT count(*) AS new_rows_first
FROM (SELECT id FROM ivf_items ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 4) LIMIT 300) s WHERE id > 10000;

-- a selective filter still gets its 10 rows: the scan visits further lists
-- (30 rows have tenant 1, spread over every list)
SET agentgres.ivf_probes = 1;
SELECT count(*) AS filtered_rows
FROM (SELECT id FROM ivf_items WHERE tenant = 1 ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 5) LIMIT 10) s;
SELECT count(*) AS all_tenant_rows
FROM (SELECT id FROM ivf_items WHERE tenant = 1 ORDER BY e <=> (SELECT q FROM ivf_queries WHERE qid = 5) LIMIT 100) s;

-- no distance to rank by: a NULL query gives every row (as a sequential
-- scan sorts them: all NULL), and so does a zero query under cosine (NaN)
SELECT count(*) AS null_query_rows FROM (SELECT id FROM ivf_items ORDER BY e <=> NULL LIMIT 5000) s;
SELECT count(*) AS zero_query_rows
FROM (SELECT id FROM ivf_items ORDER BY e <=> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5000) s;

-- an index built on an empty table: the first insert sets it up
CREATE TABLE ivf_empty (id integer, e embedding);
CREATE INDEX ivf_empty_idx ON ivf_empty USING agentgres_ivf (e embedding_l2_ops);
SELECT count(*) FROM (SELECT id FROM ivf_empty ORDER BY e <-> '[1,2,3]' LIMIT 5) s;
INSERT INTO ivf_empty VALUES (1, '[1,2,3]'), (2, '[3,2,1]'), (3, '[1,2,4]'), (4, NULL);
SELECT id, e <-> '[1,2,3]' AS distance FROM ivf_empty ORDER BY e <-> '[1,2,3]' LIMIT 5;

-- hostile input: other dimensions, bad options, too many dimensions
\set VERBOSITY terse
\set ON_ERROR_STOP 0
SELECT id FROM ivf_items ORDER BY e <=> '[1,2,3]' LIMIT 1;
INSERT INTO ivf_empty VALUES (5, '[1,2]');
CREATE INDEX ON ivf_items USING agentgres_ivf (e embedding_cosine_ops) WITH (lists = -1);
CREATE INDEX ON ivf_items USING agentgres_ivf (e embedding_cosine_ops) WITH (lists = 100000);
CREATE INDEX ON ivf_items USING agentgres_ivf (e embedding_cosine_ops) WITH (probes = 3);
CREATE INDEX ON ivf_items USING agentgres_ivf (e, tenant);
CREATE TABLE ivf_wide (e embedding);
INSERT INTO ivf_wide SELECT array_fill(1::real, ARRAY[2001])::embedding;
CREATE INDEX ON ivf_wide USING agentgres_ivf (e embedding_l2_ops);
SET agentgres.ivf_probes = 0;
SET maintenance_work_mem = '1MB'; -- room for 128 lists' pages in the build
CREATE INDEX ivf_items_small ON ivf_items USING agentgres_ivf (e embedding_cosine_ops) WITH (lists = 500);
SELECT count(DISTINCT list) AS lists_built FROM agentgres.ivf_check('ivf_items_small');
DROP INDEX ivf_items_small;
RESET maintenance_work_mem;
SELECT * FROM agentgres.ivf_check('ivf_items_pkey');
SELECT * FROM agentgres.ivf_check('ivf_items');
SELECT * FROM agentgres.ivf_check(0);
CREATE ROLE regress_ivf_nobody;
GRANT USAGE ON SCHEMA agentgres TO regress_ivf_nobody;
SET ROLE regress_ivf_nobody;
SELECT * FROM agentgres.ivf_check('ivf_items_cos');
RESET ROLE;
REVOKE USAGE ON SCHEMA agentgres FROM regress_ivf_nobody;
DROP ROLE regress_ivf_nobody;
\set VERBOSITY default
-- the index after many inserts and a crash-free life is whole
SELECT count(*) = (SELECT count(*) FROM ivf_items WHERE e IS NOT NULL) AS whole
FROM agentgres.ivf_check('ivf_items_l2');

RESET agentgres.ivf_probes;
RESET enable_seqscan;
DROP TABLE ivf_items, ivf_centres, ivf_queries, ivf_nearest, ivf_empty, ivf_wide;
DROP FUNCTION ivf_recall(text, text), ivf_out_of_order(text);
