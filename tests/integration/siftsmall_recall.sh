#!/usr/bin/env bash
# Exactness on real data: loads SIFT10K (../shared/data/siftsmall: 10,000 base
# vectors, 100 queries, 128 dimensions) and checks that top_k(..., 'l2')
# returns the published exact top-100 neighbours of every query, tie-aware
# (22 queries have equal distances at the boundary: any id whose squared
# distance equals the 100th ground-truth one, which the file stores squared,
# is accepted).
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="${AGENTGRES_SIFTSMALL:-$ROOT/../shared/data/siftsmall}"
if [[ ! -f "$DATA/siftsmall_base.fvecs" ]]; then
	# The evaluation data lives beside the project (../shared, as in CI);
	# a clone without it skips this test (exit 77) rather than fail.
	echo "siftsmall data not found at $DATA; set AGENTGRES_SIFTSMALL to run this test" >&2
	exit 77
fi
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# .fvecs: per vector an int32 dimension then float32 values; .ivecs the same
# with int32 values. Convert to text COPY input.
python3 - "$DATA" "$WORK" <<'PY'
import struct, sys
data, work = sys.argv[1], sys.argv[2]
def vectors(path, fmt):
    with open(path, 'rb') as f:
        raw = f.read()
    out, pos = [], 0
    while pos < len(raw):
        (d,) = struct.unpack_from('<i', raw, pos)
        out.append(struct.unpack_from('<%d%s' % (d, fmt), raw, pos + 4))
        pos += 4 + 4 * d
    return out
def fmt(v):
    return '[' + ','.join(repr(float(x)) for x in v) + ']'
with open(work + '/base.tsv', 'w') as f:
    for i, v in enumerate(vectors(data + '/siftsmall_base.fvecs', 'f')):
        f.write('%d\t%s\n' % (i, fmt(v)))
with open(work + '/query.tsv', 'w') as f:
    for i, v in enumerate(vectors(data + '/siftsmall_query.fvecs', 'f')):
        f.write('%d\t%s\n' % (i, fmt(v)))
gt = vectors(data + '/siftsmall_groundtruth.ivecs', 'i')
gd = vectors(data + '/siftsmall_groundtruth_dist.fvecs', 'f')
with open(work + '/truth.tsv', 'w') as f:
    for q, (ids, dists) in enumerate(zip(gt, gd)):
        for rank, (i, d) in enumerate(zip(ids, dists)):
            f.write('%d\t%d\t%d\t%r\n' % (q, rank + 1, i, float(d)))
PY

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS agentgres_sift" -c "CREATE DATABASE agentgres_sift"
"${PSQL[@]}" -d agentgres_sift <<SQL
CREATE EXTENSION agentgres;
CREATE TABLE base (id bigint PRIMARY KEY, e agentgres.embedding(128));
CREATE TABLE query (id int PRIMARY KEY, e agentgres.embedding(128));
CREATE TABLE truth (query int, rank int, id bigint, distance double precision);
\copy base FROM '$WORK/base.tsv'
\copy query FROM '$WORK/query.tsv'
\copy truth FROM '$WORK/truth.tsv'
SQL

# For each query: every returned id must be a true neighbour or tie with the
# 100th; the count must be 100; distances must be non-decreasing.
result="$("${PSQL[@]}" -d agentgres_sift <<'SQL'
WITH answers AS (
	SELECT q.id AS query, t.id, t.distance,
	       row_number() OVER (PARTITION BY q.id ORDER BY t.distance, t.id) AS rank
	FROM query q, LATERAL agentgres.top_k('base', 'id', 'e', q.e, 100, 'l2') t
), boundary AS (
	SELECT query, max(distance) AS kth FROM truth GROUP BY query
), judged AS (
	SELECT a.query, a.id,
	       EXISTS (SELECT FROM truth g WHERE g.query = a.query AND g.id = a.id)
	       OR abs(a.distance ^ 2 - b.kth) <= 1e-4 * greatest(b.kth, 1) AS correct
	FROM answers a JOIN boundary b USING (query)
)
SELECT format('%s queries, %s answers, %s correct, recall %s',
              count(DISTINCT query), count(*), count(*) FILTER (WHERE correct),
              round(count(*) FILTER (WHERE correct)::numeric / nullif(count(*), 0), 4))
FROM judged;
SQL
)"
echo "siftsmall: $result"
"${PSQL[@]}" -d postgres -c "DROP DATABASE agentgres_sift"
[[ "$result" == "100 queries, 10000 answers, 10000 correct, recall 1.0000" ]]
