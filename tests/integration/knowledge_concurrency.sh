#!/usr/bin/env bash
# BM25 stays exact under concurrent ingests (issue 9): 4 pgbench clients
# ingest, change and delete documents of one collection at once, all of them
# sharing terms, several of them the same uri. Afterwards the postings equal
# bm25_terms over every chunk, the collection's statistics equal their counts
# and sums, no uri has two documents, and no chunk lost its document. While
# they run, a reader checks from its own snapshots that the statistics it
# sees agree with the chunks it sees.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib/checks.bash
source "$ROOT/tests/integration/lib/checks.bash"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
DB=agentgres_knowledge_concurrency

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export PGDATABASE=$DB
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE EXTENSION agentgres;
SELECT agentgres.create_collection('shared', chunk_size => 200, chunk_overlap => 50);
-- Statistics a snapshot sees against the chunks it sees (all have terms).
CREATE FUNCTION consistent() RETURNS boolean LANGUAGE sql AS $$
	SELECT coalesce((SELECT chunks FROM agentgres.bm25_stats WHERE collection_id = agentgres.collection_id('shared')), 0)
	     = (SELECT count(*) FROM agentgres.chunks WHERE collection_id = agentgres.collection_id('shared'))
$$;
SQL

SCRIPT="$(mktemp)"
READER="$(mktemp)"
trap 'rm -f "$SCRIPT" "$READER"' EXIT
cat >"$SCRIPT" <<'PGB'
\set doc random(1, 40)
\set words random(5, 120)
\set roll random(1, 100)
\if :roll <= 15
SELECT agentgres.delete_document('shared', 'doc-' || :doc);
\else
SELECT agentgres.ingest_document('shared', 'doc-' || :doc,
       (SELECT string_agg((ARRAY['pool', 'socket', 'request', 'retry', 'backoff', 'parse_http_request', 'fooBar',
                                 'connection', 'heap', 'neighbour', 'vector', 'chunk'])[1 + (i * :client_id + :words) % 12],
                          CASE WHEN i % 9 = 0 THEN E'\n\n' ELSE ' ' END)
        FROM generate_series(1, :words) AS i));
\endif
PGB
cat >"$READER" <<'PGB'
SELECT 1 / consistent()::integer;   -- fails on the first inconsistent snapshot
PGB

"$PG_BIN/pgbench" -n -c 4 -j 2 -t 150 -f "$SCRIPT" >/tmp/agentgres_knowledge_pgbench.log 2>&1 &
writers=$!
reader_ok=true
"$PG_BIN/pgbench" -n -c 1 -T 3 -f "$READER" >/tmp/agentgres_knowledge_reader.log 2>&1 || reader_ok=false
if wait $writers; then
	check "4 clients ingested, changed and deleted 600 times without an error" true
else
	check "4 clients ingested, changed and deleted 600 times without an error" false
	tail -5 /tmp/agentgres_knowledge_pgbench.log
fi
check "a reader always saw statistics that match the chunks of its snapshot" $reader_ok

"${PSQL[@]}" -f "$ROOT/tests/integration/lib/bm25_exact.sql" >/dev/null
check "postings and statistics equal bm25_terms over every chunk" \
	test "$("${PSQL[@]}" -c "SELECT public.bm25_index_is_exact()")" == t
check "there are chunks to compare" test "$("${PSQL[@]}" -c "SELECT count(*) FROM agentgres.chunks")" -gt 0
check "no uri has two documents" test "$("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT uri FROM agentgres.documents
                                                         GROUP BY collection_id, uri HAVING count(*) > 1) d")" == 0
check "every chunk has its document" test "$("${PSQL[@]}" -c "SELECT count(*) FROM agentgres.chunks c
                                                   WHERE NOT EXISTS (SELECT FROM agentgres.documents d
                                                                     WHERE d.id = c.document_id)")" == 0

"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB WITH (FORCE)"
if ((failures > 0)); then
	echo "knowledge_concurrency: $failures check(s) failed"
	exit 1
fi
echo "knowledge_concurrency: all checks passed"
