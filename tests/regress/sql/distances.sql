-- Distance functions and operators, helpers, comparison and the btree class.
SET search_path = agentgres, public;
SET extra_float_digits = 0;

SELECT l2_distance('[0,0]', '[3,4]'), '[0,0]'::embedding <-> '[3,4]';
SELECT inner_product('[1,2,3]', '[4,5,6]'), '[1,2,3]'::embedding <#> '[4,5,6]';
SELECT cosine_distance('[1,0]', '[0,1]'), '[1,0]'::embedding <=> '[0,1]';
SELECT cosine_distance('[1,1]', '[2,2]'), cosine_similarity('[1,1]', '[2,2]');
SELECT cosine_distance('[1,1]', '[-1,-1]'), cosine_similarity('[1,1]', '[-1,-1]');
SELECT cosine_similarity('[3,4]', '[4,3]');
-- the angle to a zero vector is undefined: NaN, which sorts after every number
SELECT cosine_distance('[0,0]', '[1,1]'), cosine_similarity('[1,1]', '[0,0]');
-- NORMALIZE(...) is SQL syntax for pg_catalog.normalize(text): qualify it, or use l2_normalize
SELECT dims('[1,2,3]'), norm('[3,4]'), agentgres.normalize('[3,4]'), l2_normalize('[0,0]'), l2_normalize('[1,1]');
SELECT normalize('[3,4]'::embedding);
-- float4 extremes do not overflow the double results
SELECT l2_distance('[3.4028235e+38]', '[-3.4028235e+38]') > 0 AS finite_or_inf;

-- odd lengths exercise the masked tails of the SIMD kernels
SELECT n, round(l2_distance(a, b)::numeric, 4) AS l2, round(inner_product(a, b)::numeric, 4) AS ip,
       round(cosine_distance(a, b)::numeric, 6) AS cos
FROM generate_series(1, 40) AS n,
LATERAL (SELECT array_agg(i::real)::embedding AS a, array_agg((n - i)::real)::embedding AS b
         FROM generate_series(1, n) AS i) AS v
WHERE n IN (1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40);

-- agreement with a plain SQL reference on random data
CREATE TABLE pairs AS
SELECT g AS id,
       (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 385) WHERE g > 0)::embedding AS a,
       (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 385) WHERE g > 0)::embedding AS b
FROM generate_series(1, 50) AS g;
CREATE FUNCTION pg_temp.ref_dot(x real[], y real[]) RETURNS double precision LANGUAGE sql AS
$$ SELECT sum(a::double precision * b) FROM unnest(x, y) AS u(a, b) $$;
SELECT count(*) FILTER (WHERE abs(inner_product(a, b) - pg_temp.ref_dot(a::real[], b::real[])) > 1e-4) AS ip_off,
       count(*) FILTER (WHERE abs(l2_distance(a, b) - sqrt(pg_temp.ref_dot(a::real[], a::real[])
            - 2 * pg_temp.ref_dot(a::real[], b::real[]) + pg_temp.ref_dot(b::real[], b::real[]))) > 1e-4) AS l2_off,
       count(*) FILTER (WHERE abs(cosine_distance(a, b) - (1 - pg_temp.ref_dot(a::real[], b::real[])
            / sqrt(pg_temp.ref_dot(a::real[], a::real[]) * pg_temp.ref_dot(b::real[], b::real[])))) > 1e-5) AS cos_off
FROM pairs;

-- mismatched dimensions are an error in every function and operator
SELECT '[1,2]'::embedding <-> '[1,2,3]';
SELECT '[1,2]'::embedding <=> '[1,2,3]';
SELECT '[1,2]'::embedding <#> '[1,2,3]';
SELECT l2_distance('[1]', '[1,2]');
SELECT cosine_distance('[1]', '[1,2]');
SELECT cosine_similarity('[1]', '[1,2]');
SELECT inner_product('[1]', '[1,2]');

-- NULL operands: NULL result (the functions are strict)
SELECT '[1,2]'::embedding <-> NULL, cosine_distance(NULL, '[1]'), norm(NULL);

-- declared properties: every function is immutable, strict and parallel safe
SELECT p.oid::regprocedure, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'agentgres')
  AND (p.provolatile <> 'i' OR NOT p.proisstrict OR p.proparallel <> 's')
ORDER BY p.oid::regprocedure::text;

-- the operators commute and read naturally in ORDER BY ... LIMIT
SELECT oprname, oprcom::regoperator FROM pg_operator
WHERE oprname IN ('<->', '<=>', '<#>') AND oprleft = 'embedding'::regtype ORDER BY 1;
CREATE TABLE docs (id bigint PRIMARY KEY, e embedding(3));
INSERT INTO docs VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0,0,1]'), (4, '[1,1,0]'), (5, '[0,0,0]'), (6, NULL);
SELECT id, round((e <=> '[1,0.1,0]')::numeric, 4) AS d FROM docs ORDER BY e <=> '[1,0.1,0]' LIMIT 4;
SELECT id FROM docs ORDER BY '[1,0.1,0]' <-> e, id LIMIT 3;
SELECT id FROM docs ORDER BY e <#> '[1,2,3]', id LIMIT 3;
SELECT id FROM docs WHERE e <-> '[1,0,0]' < 1.01 ORDER BY id;
EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY e <=> '[1,0,0]' LIMIT 2;

-- comparison, DISTINCT, GROUP BY, UNIQUE through the btree operator class
SELECT '[1,2]'::embedding < '[1,3]', '[1,2]'::embedding = '[1,2]', '[1,2]'::embedding < '[1,2,0]',
       '[2]'::embedding > '[1,9]', '[1,2]'::embedding <> '[1,2]', embedding_cmp('[1]', '[1]');
SELECT DISTINCT e FROM (VALUES ('[1,2]'::embedding), ('[1,2]'), ('[0,5]')) AS v(e) ORDER BY e;
CREATE UNIQUE INDEX docs_e ON docs (e);
INSERT INTO docs VALUES (7, '[1,0,0]');

-- aggregation by the planner in parallel needs these to be parallel safe
SELECT count(*) FROM pairs WHERE a <-> b > 0;

SELECT kernel_isa() IN ('avx512', 'avx2', 'portable') AS known_isa;

-- float products that overflow or underflow (issue 8, item 15): recomputed in
-- double, so the operators, the function and top_k give the true angle
SELECT round(('[3e38,3e38,0]'::embedding <=> '[1,0,0]')::numeric, 4) AS overflow,
       '[1e-30,1e-30]'::embedding <=> '[1e-30,1e-30]' AS underflow,
       round(('[1e-30,0]'::embedding <=> '[0,1e-30]')::numeric, 4) AS tiny_orthogonal,
       round(('[1e-40,1e-40]'::embedding <=> '[2e-40,2e-40]')::numeric, 4) AS denormal,
       round(('[-3e38,3e38]'::embedding <=> '[1,-1]')::numeric, 4) AS opposite,
       ('[0,0]'::embedding <=> '[1e-30,0]') = 'NaN' AS zero_is_undefined;
CREATE TABLE extreme (id bigint, e embedding);
INSERT INTO extreme VALUES (1, '[3e38,3e38,0]'), (2, '[1e-30,0,1e-30]'), (3, '[0,1,0]'), (4, '[1e-30,1e-31,0]');
SELECT id, round(distance::numeric, 4) AS distance FROM top_k('extreme', 'id', 'e', '[1,0,0]', 10);
SELECT id, round(distance::numeric, 4) AS distance FROM top_k('extreme', 'id', 'e', '[3e38,0,0]', 10);
SELECT id, round((e <=> '[1,0,0]')::numeric, 4) AS d FROM extreme ORDER BY e <=> '[1,0,0]', id;
DROP TABLE extreme;

DROP TABLE pairs, docs;
