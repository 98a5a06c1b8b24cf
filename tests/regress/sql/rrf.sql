-- agentgres.rrf and agentgres.rrf_weighted: reciprocal rank fusion.
SET search_path = agentgres, public;
SET extra_float_digits = 0;

-- hand-computed: 1 -> 1/61 + 1/62, 3 -> 1/63 + 1/61, 2 -> 1/62
SELECT id, round(score::numeric, 6) AS score, rank, list_ranks
FROM rrf(ARRAY[1, 2, 3]::bigint[], ARRAY[3, 1]::bigint[]);
SELECT abs(score - (1.0 / 61 + 1.0 / 62)) < 1e-15 AS exact FROM rrf(ARRAY[1, 2, 3]::bigint[], ARRAY[3, 1]::bigint[])
WHERE id = 1;

-- equal scores: ties broken by the best single-list rank, then by ascending id
SELECT * FROM rrf(ARRAY[1, 2]::bigint[], ARRAY[2, 1]::bigint[]);
SELECT id, score, rank, list_ranks
FROM rrf_weighted(1, ARRAY[1, 1], ARRAY[100, 101, 5]::bigint[], ARRAY[102, 103, 5]::bigint[]);
-- symmetric placements across three lists tie exactly (summation order does not leak)
SELECT id, rank FROM rrf(ARRAY[1, 2, 3]::bigint[], ARRAY[3, 2, 1]::bigint[], ARRAY[2, 3, 1]::bigint[]);

-- NULL elements keep their position, repeats count at their first position,
-- a NULL list is skipped but keeps its place in list_ranks
SELECT * FROM rrf(ARRAY[NULL, 7, 8, 7]::bigint[], NULL::bigint[], ARRAY[8]::bigint[]);
SELECT * FROM rrf('{}'::bigint[], '{}'::bigint[]);
SELECT * FROM rrf(NULL::bigint[]);
-- one list: the fused order is the list's order
SELECT array_agg(id ORDER BY rank) FROM rrf(ARRAY[5, 3, 9, 1]::bigint[]);
-- negative and extreme ids are just ids
SELECT id, rank FROM rrf(ARRAY[-9223372036854775808, 9223372036854775807, 0]::bigint[]);

-- weights
SELECT id, round(score::numeric, 6) AS score, rank, list_ranks
FROM rrf_weighted(60, ARRAY[2, 0.5], ARRAY[1, 2]::bigint[], ARRAY[2, 1]::bigint[]);
SELECT id, rank FROM rrf_weighted(10, ARRAY[0, 1], ARRAY[1, 2]::bigint[], ARRAY[2, 1]::bigint[]);
SELECT id, rank, list_ranks FROM rrf_weighted(60, ARRAY[1, 1, 1], ARRAY[1]::bigint[], NULL::bigint[],
	ARRAY[2]::bigint[]);

-- the VARIADIC array form: the rows of a two-dimensional bigint[] are the lists
SELECT id, rank, list_ranks FROM rrf(VARIADIC ARRAY[[1, 2, 3], [3, 2, 1]]::bigint[]);
SELECT id, rank, list_ranks FROM rrf(VARIADIC ARRAY[4, 5]::bigint[]);
-- with NULL elements in the rows (the lists are read in place from the array)
SELECT id, rank, list_ranks FROM rrf(VARIADIC ARRAY[[NULL, 1, 2], [2, NULL, 9], [NULL, NULL, 1]]::bigint[]);
-- 600 lists: list_ranks has 600 elements, NULL except in the lists that rank the id
SELECT id, rank, array_length(list_ranks, 1) AS lists, list_ranks[1] AS first, list_ranks[300] AS middle,
       list_ranks[600] AS last, cardinality(array_remove(list_ranks, NULL)) AS ranked
FROM rrf(VARIADIC (SELECT array_agg(ARRAY[l, 1000 + l % 2]) FROM generate_series(1::bigint, 600) AS l))
WHERE id IN (1, 300, 1000, 1001) ORDER BY rank;
SELECT id, rank FROM rrf_weighted(60, ARRAY[1, 3], VARIADIC ARRAY[[1, 2], [2, 1]]::bigint[]);

-- large lists
SELECT count(*), min(rank), max(rank), (array_agg(id ORDER BY rank))[1:3] AS top
FROM rrf((SELECT array_agg(i) FROM generate_series(1, 100000) AS i)::bigint[],
         (SELECT array_agg(i) FROM generate_series(100000, 50001, -1) AS i)::bigint[]);

-- bad input: precise errors
SELECT * FROM rrf(ARRAY[1, 2, 3]);
SELECT * FROM rrf(ARRAY[1, 2]::bigint[], 'x'::text);
SELECT * FROM rrf(ARRAY[[1, 2], [3, 4]]::bigint[]);
SELECT * FROM rrf(VARIADIC ARRAY[1, 2]);
SELECT * FROM rrf_weighted(0, ARRAY[1], ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(-5, ARRAY[1], ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(NULL, ARRAY[1], ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(60, NULL, ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(60, ARRAY[1, 1], ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(60, ARRAY[1], ARRAY[1]::bigint[], ARRAY[2]::bigint[]);
SELECT * FROM rrf_weighted(60, ARRAY[1, NULL], ARRAY[1]::bigint[], ARRAY[2]::bigint[]);
SELECT * FROM rrf_weighted(60, ARRAY[-1], ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(60, ARRAY['NaN']::float8[], ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(60, ARRAY['Infinity']::float8[], ARRAY[1]::bigint[]);
SELECT * FROM rrf_weighted(60, ARRAY[[1], [1]], ARRAY[1]::bigint[], ARRAY[2]::bigint[]);
