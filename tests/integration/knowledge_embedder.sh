#!/usr/bin/env bash
# External embedders: the real agentgresd fills an external-embedder
# collection's chunks through a small OpenAI-compatible server
# (lib/fake_embeddings.py), in a database of its own:
#   the knowledge.embed job that ingest_document queues fills every chunk's
#   embedding; a second document with the same chunk texts is served from
#   agentgres.embedding_cache (no new request); 429 with Retry-After and 500
#   are retried within the job (done after one attempt); answers slower than
#   the timeout fail the attempt (requeued, the error kept) and a later one
#   succeeds; wrong dimensions and 401 make the job dead at once with the
#   error kept and no API key in it or in the log; a collection whose
#   embedder is not the configured model is dead with a message saying so.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAEMON="${AGENTGRESD:-$ROOT/build/agentgresd}"
PORT_HTTP="${AGENTGRES_TEST_HTTP_PORT:-7788}"
PORT_FAKE="${AGENTGRES_TEST_EMBEDDER_PORT:-7790}"
DB=agentgres_knowledge_embedder
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon.bash"

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
sql "CREATE EXTENSION agentgres" >/dev/null

KEY=sk-integration-SECRET-4242
FAKE="$SCRATCH/fake"
mkdir -p "$FAKE"
python3 "$(dirname "${BASH_SOURCE[0]}")/lib/fake_embeddings.py" "$PORT_FAKE" "$FAKE" "$KEY" 2>"$FAKE/stderr" &
OTHER=$! # killed by cleanup
: >"$FAKE/requests.log"
requests() { wc -l <"$FAKE/requests.log"; }
script() { printf '%s\n' "$@" >"$FAKE/script"; }
check "the fake embeddings server answers" wait_for 10 bash -c \
	"curl -sf -H 'Authorization: Bearer $KEY' -d '{\"model\": \"m\", \"input\": [\"x\"]}' http://127.0.0.1:$PORT_FAKE/v1/embeddings | grep -q embedding"
: >"$FAKE/requests.log"

# The daemon connects as scripts/up.sh's role does (agentgres_admin, no
# superuser): its grants must cover the chunks and the embedding cache.
DAEMON_ROLE=agentgres_daemon_test
daemon_role_sql "$DAEMON_ROLE" | "${PSQL[@]}" -d "$DB"
export AGENTGRES_DSN="host=$PGHOST port=$PGPORT user=$DAEMON_ROLE dbname=$DB"
export AGENTGRES_HTTP_LISTEN="127.0.0.1:$PORT_HTTP"
export AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S=0.5 AGENTGRES_AGENTS_PERFMON_ENABLED=false
export AGENTGRES_AGENTS_WORKER_POLL_S=0.5 AGENTGRES_LOG_FORMAT=json
export AGENTGRES_EMBEDDER_PROVIDER=openai AGENTGRES_EMBEDDER_URL="http://127.0.0.1:$PORT_FAKE/v1"
export AGENTGRES_EMBEDDER_MODEL=fake-model AGENTGRES_EMBEDDER_API_KEY="$KEY" AGENTGRES_EMBEDDER_DIMS=8
export AGENTGRES_EMBEDDER_BATCH_SIZE=4 AGENTGRES_EMBEDDER_TIMEOUT_S=1 AGENTGRES_EMBEDDER_MAX_RETRIES=2
URL="http://127.0.0.1:$PORT_HTTP"

start_daemon
check "/health answers 200" wait_for 15 http_is 200 "$URL/health"
sql "SELECT agentgres.create_collection('ext', 'fake-model', 8)" >/dev/null

# A document of several chunks: paragraphs of distinct text.
ingest() { # ingest URI SEED: the document's id
	sql "SELECT agentgres.ingest_document('ext', '$1', string_agg(format('Paragraph %s of $2: %s.', g,
	         repeat('words about topic ' || g || ' and $2 ', 12)), E'\n\n' ORDER BY g))
	     FROM generate_series(1, 12) g"
}
job_of() { sql "SELECT id FROM agentgres.jobs WHERE kind = 'knowledge.embed' AND payload ->> 'document_id' = '$1' ORDER BY id DESC LIMIT 1"; }
state_of() { sql "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $1"; }
batches() { sql "SELECT (count(DISTINCT content) + 3) / 4 FROM agentgres.chunks WHERE document_id = $1"; } # batch_size 4
filled() { sql_is "t" "SELECT count(*) > 1 AND bool_and(embedding IS NOT NULL AND agentgres.dims(embedding) = 8) FROM agentgres.chunks WHERE document_id = $1"; }

# 1. a document's chunks are embedded by the job ingest_document queued
doc1=$(ingest a.md alpha)
chunks1=$(sql "SELECT count(*) FROM agentgres.chunks WHERE document_id = $doc1")
check "ingest_document queued a knowledge.embed job (document $doc1, $chunks1 chunks)" test -n "$(job_of "$doc1")"
job=$(job_of "$doc1")
check "  which ends done after one attempt" wait_for 15 sql_is "done/1" "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  every chunk has its 8-dimensional embedding" filled "$doc1"
check "  in batches of 4: $(requests) request(s) for $chunks1 chunks" test "$(requests)" = "$(batches "$doc1")"
check "  the vectors are the server's (first element of chunk 0)" sql_is t \
	"SELECT abs((agentgres.embedding_to_real_array(embedding))[1] - (('x' || substr(encode(sha256(convert_to(content, 'UTF8')), 'hex'), 1, 2))::bit(8)::int / 255.0 - 0.5)) < 1e-5
	 FROM agentgres.chunks WHERE document_id = $doc1 ORDER BY ordinal LIMIT 1"
check "  the cache holds one row per distinct chunk text" sql_is t \
	"SELECT count(*) = (SELECT count(DISTINCT content) FROM agentgres.chunks WHERE document_id = $doc1)
	 FROM agentgres.embedding_cache WHERE model = 'fake-model'"
check "  the job's result counts them" sql_is "$chunks1/0" \
	"SELECT (result ->> 'embedded') || '/' || (result ->> 'cache_hits') FROM agentgres.jobs WHERE id = $job"

# 2. the same texts under another uri: every embedding from the cache
before=$(requests)
doc2=$(ingest b.md alpha)
job=$(job_of "$doc2")
check "a document with the same chunk texts: its job is done" wait_for 15 sql_is "done/1" "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  every chunk filled" filled "$doc2"
check "  with no new request (all cache hits)" test "$(requests)" = "$before"
check "  the same vectors as the first document's" sql_is 0 \
	"SELECT count(*) FROM agentgres.chunks a JOIN agentgres.chunks b ON a.ordinal = b.ordinal
	 WHERE a.document_id = $doc1 AND b.document_id = $doc2 AND a.embedding::text <> b.embedding::text"
check "  /metrics counts the cache hits" bash -c \
	"curl -s '$URL/metrics' | grep -Eq '^agentgres_embedding_cache_lookups_total\{result=\"hit\"\} [1-9]'"

# 3. 429 (Retry-After: 1), then 500: the batch is sent again within the job
script "429 1" "500"
before=$(requests)
started=$SECONDS
doc3=$(ingest c.md beta)
job=$(job_of "$doc3")
check "429 then 500 then ok: the job is done after one attempt" wait_for 20 sql_is "done/1" "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  every chunk filled" filled "$doc3"
check "  the refused batch was sent again whole (2 more requests than batches)" test \
	"$(($(requests) - before))" = $(($(batches "$doc3") + 2))
check "  after waiting the Retry-After second" test $((SECONDS - started)) -ge 1
check "  the retries are in /metrics" bash -c \
	"curl -s '$URL/metrics' | grep -q '^agentgres_embedder_retries_total{reason=\"429\"} 1' &&
	 curl -s '$URL/metrics' | grep -q '^agentgres_embedder_retries_total{reason=\"5xx\"} 1' &&
	 curl -s '$URL/metrics' | grep -q '^agentgres_embedder_request_duration_seconds_count'"

# 4. slower than the timeout, three times (max_retries 2): the attempt fails,
# the job is queued again with the error kept; the next attempt succeeds
script "always slow 2"
doc4=$(ingest d.md gamma)
job=$(job_of "$doc4")
check "answers past the timeout: the attempt fails and the job is queued again" wait_for 20 sql_is "queued/1" \
	"SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  the error is kept and says timeout" sql_is t \
	"SELECT last_error LIKE '%timeout%' AND last_error LIKE '%3 attempts%' FROM agentgres.jobs WHERE id = $job"
script "ok"
sql "UPDATE agentgres.jobs SET run_at = now() WHERE id = $job" >/dev/null
check "  the next attempt succeeds" wait_for 20 sql_is "done/2" "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  every chunk filled" filled "$doc4"

# 5. wrong dimensions: dead at once, the error kept
script "always dims 16"
doc5=$(ingest e.md delta)
job=$(job_of "$doc5")
check "a 16-dimensional answer: the job is dead after one attempt" wait_for 15 sql_is "dead/1" \
	"SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  its error names both dimensions" sql_is t \
	"SELECT last_error LIKE '%16-dimensional%expected 8%' FROM agentgres.jobs WHERE id = $job"
check "  no chunk of it was written" sql_is 0 \
	"SELECT count(*) FROM agentgres.chunks WHERE document_id = $doc5 AND embedding IS NOT NULL"

# 6. 401 (the server echoes the key it got): dead, and the key is nowhere
script "401"
doc6=$(ingest f.md epsilon)
job=$(job_of "$doc6")
check "401: the job is dead after one attempt" wait_for 15 sql_is "dead/1" \
	"SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  its error says 401 without the key" sql_is t \
	"SELECT last_error LIKE '%HTTP 401%' AND strpos(last_error, 'SECRET') = 0 FROM agentgres.jobs WHERE id = $job"
script "ok"

# 7. a collection whose embedder is not the configured model
sql "SELECT agentgres.create_collection('other', 'other-model', 8)" >/dev/null
doc7=$(sql "SELECT agentgres.ingest_document('other', 'g.md', 'Some text about other things.')")
job=$(job_of "$doc7")
check "a collection of another model: the job is dead" wait_for 15 sql_is "dead/1" \
	"SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  saying which model is configured" sql_is t \
	"SELECT last_error LIKE '%\"other-model\"%embedder.model is \"fake-model\"%' FROM agentgres.jobs WHERE id = $job"

# 8. a built-in collection's missing embeddings: the daemon computes what embed() gives
sql "SELECT agentgres.create_collection('local')" >/dev/null
doc8=$(sql "SELECT agentgres.ingest_document('local', 'h.md', 'Vectors and full-text search, ranked inside PostgreSQL.')")
sql "UPDATE agentgres.chunks SET embedding = NULL WHERE document_id = $doc8" >/dev/null
before=$(requests)
job=$(sql "SELECT agentgres.enqueue('knowledge.embed', jsonb_build_object('document_id', $doc8))")
check "a built-in collection's job is done" wait_for 15 sql_is "done/1" "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  with the vectors SQL's embed() gives" sql_is t \
	"SELECT count(*) > 0 AND bool_and(agentgres.cosine_distance(embedding, agentgres.embed(content)) < 1e-6)
	 FROM agentgres.chunks WHERE document_id = $doc8"
check "  and no request to the API" test "$(requests)" = "$before"

curl -s "$URL/metrics" >"$SCRATCH/metrics"
if command -v promtool >/dev/null; then
	check "/metrics with the embedder's series passes promtool check metrics" promtool check metrics <"$SCRATCH/metrics"
fi
check "  requests ok and failed, embeddings written are counted" bash -c \
	"grep -Eq '^agentgres_embedder_requests_total\{outcome=\"ok\"\} [1-9]' '$SCRATCH/metrics' &&
	 grep -Eq '^agentgres_embedder_requests_total\{outcome=\"failed\"\} [1-9]' '$SCRATCH/metrics' &&
	 grep -Eq '^agentgres_embeddings_written_total [1-9]' '$SCRATCH/metrics'"

check "the API key is never in the daemon's log" bash -c "! grep -q SECRET '$LOG'"
check "no key in any job's error" sql_is 0 "SELECT count(*) FROM agentgres.jobs WHERE strpos(coalesce(last_error, ''), 'SECRET') > 0"
stop_daemon

"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB" >/dev/null
echo "knowledge_embedder: $failures failure(s)"
((failures == 0))
