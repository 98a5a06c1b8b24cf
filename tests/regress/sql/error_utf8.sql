-- Error messages, details and hints are cut to fit the boundary's buffers and
-- long input is quoted in part: every cut falls between characters, so what
-- reaches the client is valid UTF-8 (issue 8, item 16).
SET search_path = agentgres, public;
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.test_throw(text) RETURNS integer
	AS '$libdir/agentgres_test', 'agentgres_test_throw' LANGUAGE C STRICT;
-- Runs a statement that must fail and reports, for each of its message,
-- detail and hint, the length in bytes and whether it is valid UTF-8
-- (convert_from validates; it raises on a cut character).
CREATE FUNCTION pg_temp.error_text(statement text) RETURNS TABLE (field text, bytes integer, valid_utf8 boolean)
LANGUAGE plpgsql AS $$
DECLARE
	state text; message text; detail text; hint text;
BEGIN
	EXECUTE statement;
	RAISE EXCEPTION 'no error from %', statement;
EXCEPTION WHEN data_exception OR invalid_parameter_value OR invalid_text_representation THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
		hint = PG_EXCEPTION_HINT;
	FOR field, bytes IN VALUES ('message', octet_length(message)), ('detail', octet_length(detail)),
		('hint', octet_length(hint))
	LOOP
		BEGIN
			PERFORM convert_from(convert_to(CASE field WHEN 'message' THEN message WHEN 'detail' THEN detail
				ELSE hint END, 'UTF8'), 'UTF8');
			valid_utf8 := true;
		EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
			valid_utf8 := false;
		END;
		RETURN NEXT;
	END LOOP;
END $$;

-- A 2-byte character straddling the message's cut, a 3-byte one the
-- detail's, a 4-byte one the hint's: each is left out whole.
SELECT * FROM pg_temp.error_text('SELECT pg_temp.test_throw(''multibyte'')');

-- Reachable from SQL: a metric name of 600 two-byte characters, quoted in a
-- message cut at 1023 bytes (30 ASCII bytes before it: the cut is mid-character).
SELECT * FROM pg_temp.error_text(
	$$SELECT * FROM agentgres.top_k('pg_class', 'oid', 'relname', '[1]', 1, repeat('é', 600))$$);
-- An embedding literal quoted in part (120 bytes): 119 ASCII bytes, then é.
SELECT * FROM pg_temp.error_text(format('SELECT %L::agentgres.embedding', '[' || repeat('x', 118) || repeat('é', 50)));
SELECT 1 AS still_connected;
