-- The C++/PostgreSQL boundary in both directions. The test entry points live
-- in agentgres_test.so (tests/module), which the test harness installs; the
-- production agentgres.so does not have them.
SET search_path = agentgres, public;
CREATE FUNCTION pg_temp.test_throw(text) RETURNS integer
	AS '$libdir/agentgres_test', 'agentgres_test_throw' LANGUAGE C STRICT;
CREATE FUNCTION pg_temp.test_pg_error_in_cpp(text) RETURNS bigint
	AS '$libdir/agentgres_test', 'agentgres_test_pg_error_in_cpp' LANGUAGE C STRICT;
CREATE FUNCTION pg_temp.live_selectors() RETURNS bigint
	AS '$libdir/agentgres_test', 'agentgres_test_live_selectors' LANGUAGE C STRICT;
-- Runs a statement and reports how it failed: SQLSTATE, message, detail, hint.
CREATE FUNCTION pg_temp.outcome(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text; message text; detail text; hint text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN others OR query_canceled THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
		hint = PG_EXCEPTION_HINT;
	RETURN concat_ws(' | ', state, message, nullif(detail, ''), nullif(hint, ''));
END $$;

-- C++ -> PostgreSQL: each exception becomes an ERROR with its own SQLSTATE,
-- detail and hint, and the session goes on.
SELECT kind, pg_temp.outcome(format('SELECT pg_temp.test_throw(%L)', kind))
FROM unnest(ARRAY['none', 'data', 'limit', 'bad_alloc', 'std', 'unknown']) AS kind;
SELECT pg_temp.test_throw('data');
SELECT 1 AS still_connected;

-- PostgreSQL -> C++: an error raised under live C++ objects unwinds them and
-- reaches the client unchanged (division_by_zero 22012, query_canceled 57014).
SELECT pg_temp.outcome('SELECT pg_temp.test_pg_error_in_cpp(''none'')');
SELECT pg_temp.outcome('SELECT pg_temp.test_pg_error_in_cpp(''division_by_zero'')');
SET statement_timeout = '50ms';
SELECT pg_temp.outcome('SELECT pg_temp.test_pg_error_in_cpp(''cancel'')');
RESET statement_timeout;
SELECT pg_temp.test_pg_error_in_cpp('division_by_zero');
SELECT pg_temp.live_selectors();
-- copying the error fails too (as if out of memory): PgCall still unwinds
-- the C++ objects, reports 53200, and leaves no error state behind
SELECT pg_temp.outcome('SELECT pg_temp.test_pg_error_in_cpp(''copy_fails'')');
SELECT pg_temp.test_pg_error_in_cpp('copy_fails');
SELECT pg_temp.live_selectors();
SELECT pg_temp.outcome('SELECT pg_temp.test_pg_error_in_cpp(''division_by_zero'')');
-- the production module has none of the test entry points
SELECT split_part(pg_temp.outcome($$CREATE FUNCTION pg_temp.leaked() RETURNS integer
	AS '$libdir/agentgres', 'agentgres_test_throw' LANGUAGE C STRICT$$), ' | ', 1) AS undefined_function;

-- the same inside a transaction: the transaction is aborted, not corrupted
BEGIN;
SELECT pg_temp.test_throw('data');
SELECT 1;
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT pg_temp.test_pg_error_in_cpp('division_by_zero');
ROLLBACK TO SAVEPOINT s;
SELECT pg_temp.live_selectors();
COMMIT;

-- a PostgreSQL error in the middle of a top_k scan (through the executor:
-- a view whose column fails on one row) leaves no selector behind
CREATE TABLE boom_base (id bigint, e embedding(2));
INSERT INTO boom_base SELECT i, ARRAY[i, 1]::embedding FROM generate_series(1, 5000) AS i;
CREATE VIEW boom AS SELECT CASE WHEN id = 4321 THEN id / (id - 4321) ELSE id END AS id, e FROM boom_base;
SELECT pg_temp.outcome($$SELECT * FROM top_k('boom', 'id', 'e', '[1,1]', 3, 'l2')$$);
SELECT pg_temp.live_selectors();
-- and a cancel in the middle of a scan (each row of the view sleeps 1 ms)
CREATE VIEW slow AS SELECT id, e FROM boom_base WHERE pg_sleep(0.001) IS NOT NULL;
SET statement_timeout = '200ms';
SELECT * FROM top_k('slow', 'id', 'e', '[1,1]', 3, 'l2');
RESET statement_timeout;
SELECT pg_temp.live_selectors();
-- live_selectors counts agentgres.so's selectors too (one counter for both
-- modules): evaluated per row inside a top_k scan, it sees top_k's selector
CREATE VIEW probe AS SELECT id, e FROM boom_base WHERE id <= 3 AND pg_temp.live_selectors() = 1;
SELECT count(*) AS rows_seen_with_one_live_selector FROM top_k('probe', 'id', 'e', '[1,1]', 3, 'l2');
DROP VIEW probe;
DROP VIEW slow;
DROP VIEW boom;
DROP TABLE boom_base;
