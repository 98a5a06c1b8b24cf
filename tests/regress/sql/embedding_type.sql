-- The type contract of agentgres.embedding: text I/O, typmod, casts, binary I/O.
SET search_path = agentgres, public;

-- valid literals, whitespace, exact round trip of float4
SELECT '[1,2,3]'::embedding;
SELECT ' [ 1 , -2.5 ,+3e-2 ] '::embedding;
SELECT '[1.1754944e-38, 3.4028235e+38, -0, 0.1]'::embedding;
SELECT '[0.30000001192092896]'::embedding::text = '[0.3]';
SELECT x::embedding::text::embedding = x::embedding AS round_trip
FROM (VALUES ('[0.1,0.2,0.3]'), ('[1e-30,7,123456.79]'), ('[-3.1415927]')) AS v(x);

-- malformed text: 22P02 with a precise detail
\set VERBOSITY default
SELECT ''::embedding;
SELECT '1,2'::embedding;
SELECT '['::embedding;
SELECT '[1'::embedding;
SELECT '[1,]'::embedding;
SELECT '[1,,2]'::embedding;
SELECT '[,1]'::embedding;
SELECT '[1 2]'::embedding;
SELECT '[1,2] x'::embedding;
SELECT '[1,2]]'::embedding;
SELECT '[a]'::embedding;
SELECT '[1e]'::embedding;
SELECT '[0x10]'::embedding;
SELECT '[--1]'::embedding;
SELECT '[+-1]'::embedding;
SELECT '[1;2]'::embedding;
-- long garbage is quoted only in part
SELECT ('[' || repeat('9', 300) || 'x]')::embedding;

-- empty, non-finite, out of range
SELECT '[]'::embedding;
SELECT '[ ]'::embedding;
SELECT '[NaN]'::embedding;
SELECT '[1,nan]'::embedding;
SELECT '[inf]'::embedding;
SELECT '[-Infinity]'::embedding;
SELECT '[4e38]'::embedding;
SELECT '[-4e38]'::embedding;
SELECT '[1e-46]'::embedding;

-- dimension limits: 16000 is fine, 16001 is not
SELECT dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::embedding);
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::embedding;

-- typmod
SELECT '[1,2,3]'::embedding(3);
SELECT '[1,2]'::embedding(3);
SELECT '[1,2,3]'::embedding(0);
SELECT '[1,2,3]'::embedding(16001);
SELECT '[1,2,3]'::embedding(3, 2);
CREATE TABLE typed (e embedding(3));
INSERT INTO typed VALUES ('[1,2,3]');
INSERT INTO typed VALUES ('[1,2]');
INSERT INTO typed VALUES (ARRAY[4,5,6]);
INSERT INTO typed VALUES (ARRAY[4,5]);
SELECT * FROM typed ORDER BY e;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'typed'::regclass AND attname = 'e';

-- casts from and to arrays
SELECT ARRAY[1.5, 2, 3]::real[]::embedding;
SELECT ARRAY[1.5, 2, 3]::double precision[]::embedding;
SELECT ARRAY[1, 2, 3]::embedding;
SELECT ARRAY[1.25, 2.5]::numeric[]::embedding;
SELECT '[1,2.5,3]'::embedding::real[];
SELECT '[1,2.5,3]'::embedding::double precision[];
SELECT ARRAY[1, 2]::real[]::embedding(3);
SELECT ARRAY[]::real[]::embedding;
SELECT ARRAY[1, NULL]::real[]::embedding;
SELECT ARRAY[[1, 2], [3, 4]]::real[]::embedding;
SELECT ARRAY['NaN']::real[]::embedding;
SELECT ARRAY['Infinity']::double precision[]::embedding;
SELECT ARRAY[1e300]::double precision[]::embedding;
SELECT ARRAY[1e39]::numeric[]::embedding;

-- binary I/O: COPY BINARY round trip
CREATE TABLE bin_source (id int, e embedding);
INSERT INTO bin_source VALUES (1, '[1,2,3]'), (2, '[-0.5,1e-20,3.4028235e+38]'), (3, NULL);
COPY bin_source TO '/tmp/agentgres_regress_embedding.bin' (FORMAT binary);
CREATE TABLE bin_target (id int, e embedding);
COPY bin_target FROM '/tmp/agentgres_regress_embedding.bin' (FORMAT binary);
SELECT s.id, s.e = t.e AS same, t.e FROM bin_source s JOIN bin_target t USING (id) ORDER BY id;
SELECT embedding_send('[1,2]');

-- binary I/O: hand-made payloads (a bytea column's COPY BINARY field is its raw bytes)
CREATE TABLE raw_payload (b bytea);
CREATE TABLE raw_target (e embedding);
CREATE FUNCTION pg_temp.recv_payload(payload bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE raw_payload, raw_target;
	INSERT INTO raw_payload VALUES (payload);
	COPY raw_payload TO '/tmp/agentgres_regress_payload.bin' (FORMAT binary);
	COPY raw_target FROM '/tmp/agentgres_regress_payload.bin' (FORMAT binary);
	RETURN (SELECT e::text FROM raw_target);
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT pg_temp.recv_payload('\x000200003f80000040000000');         -- [1,2]
SELECT pg_temp.recv_payload('\x0000000000');                       -- zero dimensions
SELECT pg_temp.recv_payload('\xffff0000');                         -- negative dimensions
SELECT pg_temp.recv_payload('\x3e810000');                         -- 16001 dimensions
SELECT pg_temp.recv_payload('\x000200013f80000040000000');         -- reserved not zero
SELECT pg_temp.recv_payload('\x000300003f80000040000000');         -- too short
SELECT pg_temp.recv_payload('\x000100007fc00000');                 -- NaN
SELECT pg_temp.recv_payload('\x000100007f800000');                 -- infinity
SELECT pg_temp.recv_payload('\x000100003f80000000');               -- junk after the value

-- NULL in, NULL out
SELECT NULL::embedding, dims(NULL), embedding_in(NULL, 0, -1);

-- large values are stored out of line, not compressed
CREATE TABLE wide (e embedding);
INSERT INTO wide SELECT array_fill(0.5, ARRAY[2000])::real[]::embedding;
SELECT dims(e), pg_column_size(e) FROM wide;
SELECT typstorage FROM pg_type WHERE oid = 'embedding'::regtype;

DROP TABLE typed, bin_source, bin_target, raw_payload, raw_target, wide;
