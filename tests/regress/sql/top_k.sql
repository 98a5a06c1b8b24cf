-- agentgres.top_k: exact k nearest neighbours.
SET search_path = agentgres, public;
SET extra_float_digits = 0;

CREATE TABLE items (id bigint, e embedding(3), note text);
INSERT INTO items VALUES
	(1, '[1,0,0]', 'x'), (2, '[0,1,0]', 'y'), (3, '[0,0,1]', 'z'), (4, '[1,1,0]', 'xy'),
	(5, '[1,0,0]', 'x again'), (6, NULL, 'no vector'), (NULL, '[1,0,0]', 'no id'), (7, '[0,0,0]', 'zero'),
	(8, '[-1,0,0]', 'minus x');

-- each metric returns what its operator returns, nearest first, ties by id
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 3);
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 3, 'cosine');
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 4, 'l2');
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 4, 'inner_product');
-- k larger than the table: every ranked row (NULL vectors and NULL ids are
-- skipped; the zero vector has no cosine distance and is not ranked)
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 100);
SELECT count(*) FROM top_k('items', 'id', 'e', '[1,0,0]', 100, 'l2');
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 0);

-- the same answer as ORDER BY ... LIMIT on random data, for every metric
CREATE TABLE rnd (id integer PRIMARY KEY, e embedding);
SELECT setseed(0.42);
INSERT INTO rnd SELECT i, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 77) WHERE i > 0)
FROM generate_series(1, 3000) AS i;
CREATE TABLE q AS SELECT e AS query FROM rnd WHERE id = 17;
SELECT m, (SELECT array_agg(id) FROM top_k('rnd', 'id', 'e', (SELECT query FROM q), 10, m))
        = (SELECT array_agg(id::bigint) FROM (SELECT id FROM rnd ORDER BY
              CASE m WHEN 'cosine' THEN e <=> (SELECT query FROM q)
                     WHEN 'l2' THEN e <-> (SELECT query FROM q)
                     ELSE e <#> (SELECT query FROM q) END, id LIMIT 10) s) AS same_ids
FROM unnest(ARRAY['cosine', 'l2', 'inner_product']) AS m;
-- the distances are exactly what the operators return
SELECT bool_and(t.distance = (r.e <=> (SELECT query FROM q))) AS same_distances, count(*)
FROM top_k('rnd', 'id', 'e', (SELECT query FROM q), 25) t JOIN rnd r ON r.id = t.id;
SELECT bool_and(t.distance = (r.e <-> (SELECT query FROM q))) AS same_distances, count(*)
FROM top_k('rnd', 'id', 'e', (SELECT query FROM q), 25, 'l2') t JOIN rnd r ON r.id = t.id;
SELECT bool_and(t.distance = (r.e <#> (SELECT query FROM q))) AS same_distances, count(*)
FROM top_k('rnd', 'id', 'e', (SELECT query FROM q), 25, 'inner_product') t JOIN rnd r ON r.id = t.id;

-- MVCC: the statement's snapshot decides what is visible
BEGIN;
DELETE FROM items WHERE id = 1;
INSERT INTO items VALUES (100, '[0.9,0,0]', 'new');
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 2, 'l2');
ROLLBACK;
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 2, 'l2');
UPDATE items SET e = '[0,0,5]' WHERE id = 5;
SELECT * FROM top_k('items', 'id', 'e', '[0,0,1]', 2, 'l2');

-- large vectors stored out of line (TOAST), and integer / smallint ids
CREATE TABLE wide (id smallint, e embedding(3000));
INSERT INTO wide SELECT i, array_fill(i::real, ARRAY[3000])::embedding FROM generate_series(1, 40) AS i;
SELECT * FROM top_k('wide', 'id', 'e', array_fill(7.2::real, ARRAY[3000])::embedding, 3, 'l2');

-- short (1-byte header) values of few dimensions
CREATE TABLE tiny (id int, e embedding);
INSERT INTO tiny VALUES (1, '[1]'), (2, '[2]'), (3, '[3]');
SELECT * FROM top_k('tiny', 'id', 'e', '[2.2]', 2, 'l2');

-- identifiers are names, never SQL text
CREATE TABLE "Odd ""Table""" ("My Id" bigint, "vec; DROP TABLE items" embedding);
INSERT INTO "Odd ""Table""" VALUES (1, '[1,2]'), (2, '[2,1]');
SELECT * FROM top_k('"Odd ""Table"""', 'My Id', 'vec; DROP TABLE items', '[1,2]', 1, 'l2');
SELECT * FROM top_k('"Odd ""Table"""', 'my id', 'vec; DROP TABLE items', '[1,2]', 1, 'l2');

-- views, partitioned tables and materialized views go through the executor
CREATE VIEW items_view AS SELECT id * 10 AS id, e FROM items WHERE id < 5;
SELECT * FROM top_k('items_view', 'id', 'e', '[1,0,0]', 2, 'l2');
CREATE TABLE parted (id bigint, e embedding(2)) PARTITION BY RANGE (id);
CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (100) TO (1000);
INSERT INTO parted VALUES (1, '[1,1]'), (150, '[1,1.1]'), (2, '[5,5]');
SELECT * FROM top_k('parted', 'id', 'e', '[1,1]', 2, 'l2');
CREATE MATERIALIZED VIEW mv AS SELECT id, e FROM tiny;
SELECT * FROM top_k('mv', 'id', 'e', '[3]', 1, 'l2');
CREATE MATERIALIZED VIEW mv_empty AS SELECT id, e FROM tiny WITH NO DATA;
SELECT * FROM top_k('mv_empty', 'id', 'e', '[3]', 1, 'l2');

-- privileges: as a plain SELECT would have them
CREATE ROLE regress_agentgres_reader;
GRANT USAGE ON SCHEMA agentgres TO regress_agentgres_reader;
SET ROLE regress_agentgres_reader;
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 1);
RESET ROLE;
GRANT SELECT (id, e) ON items TO regress_agentgres_reader;
SET ROLE regress_agentgres_reader;
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 1, 'l2');
RESET ROLE;
REVOKE SELECT (e) ON items FROM regress_agentgres_reader;
SET ROLE regress_agentgres_reader;
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 1, 'l2');
RESET ROLE;

-- row-level security: policies apply, exactly as in a SELECT
CREATE TABLE secrets (id bigint, owner text, e embedding(2));
INSERT INTO secrets VALUES (1, 'regress_agentgres_reader', '[1,0]'), (2, 'someone_else', '[1,0.01]'),
	(3, 'regress_agentgres_reader', '[0,1]');
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON secrets FOR SELECT USING (owner = current_user);
GRANT SELECT ON secrets TO regress_agentgres_reader;
SELECT * FROM top_k('secrets', 'id', 'e', '[1,0]', 3, 'l2');  -- owner: policies do not apply
SET ROLE regress_agentgres_reader;
SELECT * FROM top_k('secrets', 'id', 'e', '[1,0]', 3, 'l2');  -- only its own rows
RESET ROLE;

-- schema USAGE: an OID must not reach a table whose schema the caller may
-- not use, even with SELECT on the table itself (issue 8, item 14)
CREATE SCHEMA hidden;
CREATE TABLE hidden.h (id bigint, e embedding(2));
INSERT INTO hidden.h VALUES (1, '[1,0]');
GRANT SELECT ON hidden.h TO regress_agentgres_reader;
SELECT 'hidden.h'::regclass::oid AS hidden_oid \gset
SET ROLE regress_agentgres_reader;
SELECT * FROM hidden.h;
SELECT * FROM top_k(:hidden_oid, 'id', 'e', '[1,0]', 1, 'l2');
-- k = 0 still checks privileges and columns, then returns no rows
SELECT * FROM top_k(:hidden_oid, 'id', 'e', '[1,0]', 0, 'l2');
SELECT * FROM top_k('secrets', 'id', 'nope', '[1,0]', 0, 'l2');
RESET ROLE;
SELECT * FROM top_k('items', 'id', 'nope', '[1,0,0]', 0);
SELECT * FROM top_k('items', 'note', 'e', '[1,0,0]', 0);
REVOKE SELECT (id) ON items FROM regress_agentgres_reader;
SET ROLE regress_agentgres_reader;
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 0);
RESET ROLE;
GRANT USAGE ON SCHEMA hidden TO regress_agentgres_reader;
SET ROLE regress_agentgres_reader;
SELECT * FROM top_k(:hidden_oid, 'id', 'e', '[1,0]', 1, 'l2');
SELECT * FROM top_k(:hidden_oid, 'id', 'e', '[1,0]', 0, 'l2');
RESET ROLE;
DROP SCHEMA hidden CASCADE;
-- an OID that names no relation: undefined_table, not an internal error
\set VERBOSITY sqlstate
SELECT * FROM top_k(0, 'id', 'e', '[1,0]', 1);
SELECT * FROM top_k(0, 'id', 'e', '[1,0]', 0);
SELECT * FROM top_k(4294967295, 'id', 'e', '[1,0]', 1);
\set VERBOSITY default
SELECT * FROM top_k(0, 'id', 'e', '[1,0]', 1);

-- inheritance: the children's rows count, as in SELECT * FROM parent (issue 8,
-- item 7); privileges are the parent's, as in a SELECT
CREATE TABLE inh_parent (id bigint, e embedding(2));
CREATE TABLE inh_child (extra text) INHERITS (inh_parent);
CREATE TABLE inh_grandchild () INHERITS (inh_child);
INSERT INTO inh_parent VALUES (1, '[1,0]');
INSERT INTO inh_child VALUES (2, '[1,0.1]', 'c');
INSERT INTO inh_grandchild VALUES (3, '[1,0.2]', 'g');
SELECT * FROM top_k('inh_parent', 'id', 'e', '[1,0]', 5, 'l2');
SELECT array_agg(id ORDER BY e <-> '[1,0]', id) FROM inh_parent;
SELECT * FROM top_k('inh_child', 'id', 'e', '[1,0]', 5, 'l2');
GRANT SELECT ON inh_parent TO regress_agentgres_reader;
SET ROLE regress_agentgres_reader;
SELECT * FROM top_k('inh_parent', 'id', 'e', '[1,0]', 5, 'l2');
SELECT * FROM top_k('inh_child', 'id', 'e', '[1,0]', 5, 'l2');
RESET ROLE;
-- a child with its columns in another order
CREATE TABLE inh_other (e embedding(2), id bigint);
ALTER TABLE inh_other INHERIT inh_parent;
INSERT INTO inh_other VALUES ('[1,0.05]', 4);
SELECT * FROM top_k('inh_parent', 'id', 'e', '[1,0]', 5, 'l2');
DROP TABLE inh_parent CASCADE;

-- bad input: precise errors
SELECT * FROM top_k('items', 'id', 'e', '[1,0]', 3);
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', -1);
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 1000001);
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 3, 'manhattan');
SELECT * FROM top_k('items', 'id', 'e', '[1,0,0]', 3, '');
SELECT * FROM top_k('items', 'nope', 'e', '[1,0,0]', 3);
SELECT * FROM top_k('items', 'id', 'nope', '[1,0,0]', 3);
SELECT * FROM top_k('items', 'note', 'e', '[1,0,0]', 3);
SELECT * FROM top_k('items', 'id', 'note', '[1,0,0]', 3);
SELECT * FROM top_k('items', 'ctid', 'e', '[1,0,0]', 3);
SELECT * FROM top_k('no_such_table', 'id', 'e', '[1,0,0]', 3);
SELECT * FROM top_k('items_pkey_does_not_exist', 'id', 'e', '[1,0,0]', 3);
CREATE INDEX items_id ON items (id);
SELECT * FROM top_k('items_id', 'id', 'e', '[1,0,0]', 3);
CREATE SEQUENCE s;
SELECT * FROM top_k('s', 'id', 'e', '[1,0,0]', 3);
CREATE TABLE mixed (id bigint, e embedding);
INSERT INTO mixed VALUES (1, '[1,2]'), (2, '[1,2,3]');
SELECT * FROM top_k('mixed', 'id', 'e', '[1,2]', 3);
-- NULL arguments: no rows (the function is strict)
SELECT count(*) FROM top_k('items', 'id', 'e', NULL, 3);
SELECT count(*) FROM top_k('items', 'id', 'e', '[1,0,0]', NULL);
SELECT count(*) FROM top_k('items', 'id', 'e', '[1,0,0]', 3, NULL);

-- the scan holds AccessShareLock until the transaction ends, like SELECT
BEGIN;
SELECT count(*) FROM top_k('items', 'id', 'e', '[1,0,0]', 1);
SELECT mode FROM pg_locks WHERE relation = 'items'::regclass AND pid = pg_backend_pid();
COMMIT;

-- it is counted as a sequential scan of the table
SELECT pg_stat_force_next_flush();
SELECT seq_scan > 0 AS scanned FROM pg_stat_user_tables WHERE relname = 'rnd';

DROP MATERIALIZED VIEW mv, mv_empty;
DROP TABLE items, rnd, q, wide, tiny, "Odd ""Table""", parted, secrets, mixed CASCADE;
DROP SEQUENCE s;
REVOKE ALL ON SCHEMA agentgres FROM regress_agentgres_reader;
DROP ROLE regress_agentgres_reader;
