#!/usr/bin/env bash
# The first README command: installs the dependencies, builds and installs the
# extension and agentgresd, and brings up the embedded default: a private
# PostgreSQL cluster under .agentgres/ in the project folder with the
# extension created, and agentgresd running on it (HTTP on 127.0.0.1).
usage() {
	cat <<'USAGE'
usage: scripts/up.sh [start|stop|status|-h|--help]

  start    (default) install what is missing, build, and start (or restart)
           the private PostgreSQL cluster and agentgresd
  stop     stop agentgresd and the cluster
  status   show whether the cluster and agentgresd run, without building
  --help   this text

Environment: AGENTGRES_PGPORT (5440), AGENTGRES_DB (agentgres),
AGENTGRES_HTTP_LISTEN (127.0.0.1:7780), NO_COLOR.
USAGE
}
case "${1:-start}" in
start | stop | status) COMMAND="${1:-start}" ;;
-h | --help | help) usage; exit 0 ;;
*) usage >&2; printf '\nunknown argument: %s\n' "$1" >&2; exit 2 ;;
esac
if (($# > 1)); then usage >&2; exit 2; fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${AGENTGRES_PGPORT:-5440}"
DB="${AGENTGRES_DB:-agentgres}"
BASE="$(cluster_base_dir "$AGENTGRES_ROOT/.agentgres")"

HTTP="${AGENTGRES_HTTP_LISTEN:-127.0.0.1:7780}"
DAEMON="$AGENTGRES_ROOT/build/agentgresd"
DAEMON_CONFIG="$BASE/agentgresd.toml"
DAEMON_PID="$BASE/agentgresd.pid"
DAEMON_LOG="$BASE/agentgresd.log"

stop_daemon() {
	[[ -s "$DAEMON_PID" ]] || return 0
	local pid
	pid="$(cat "$DAEMON_PID")"
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$DAEMON_PID"
}

if [[ "$COMMAND" == "stop" ]]; then
	stop_daemon
	cluster_stop "$BASE"
	log "stopped"
	exit 0
fi

if [[ "$COMMAND" == "status" ]]; then
	status=0
	if [[ -s "$BASE/data/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$BASE/data" status >/dev/null 2>&1; then
		echo "postgresql: running in $BASE/data (socket $BASE/run, port $PORT)"
	else
		echo "postgresql: not running"; status=3
	fi
	if [[ -s "$DAEMON_PID" ]] && kill -0 "$(cat "$DAEMON_PID")" 2>/dev/null; then
		echo "agentgresd: running (pid $(cat "$DAEMON_PID"), log $DAEMON_LOG)"
		echo "health:     $(curl -s --max-time 3 "http://$HTTP/health" || echo 'no answer')"
	else
		echo "agentgresd: not running"; status=3
	fi
	exit $status
fi

install_dependencies
build_and_install_extension
stage "configuring agentgresd (CMake)" \
	cmake -S "$AGENTGRES_ROOT" -B "$AGENTGRES_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
stage "building agentgresd" cmake --build "$AGENTGRES_ROOT/build" -j"$(nproc)" --target agentgresd
cluster_start "$BASE" "$PORT"
log "creating database $DB and the extension"

PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE/run" -p "$PORT" -U postgres)
if ! "${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
fi
"${PSQL[@]}" -d "$DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS agentgres;
ALTER EXTENSION agentgres UPDATE;
SQL
VERSION="$("${PSQL[@]}" -d "$DB" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'agentgres'")"
# The daemon connects as agentgresd, a member of agentgres_admin, not as the
# superuser: what it runs cannot do more than the daemon's part.
daemon_role_sql agentgresd | "${PSQL[@]}" -d "$DB"

# agentgresd on the embedded cluster (restarted so a rebuilt binary is used).
stop_daemon
cat >"$DAEMON_CONFIG" <<TOML
# written by scripts/up.sh
[database]
dsn = "host=$BASE/run port=$PORT user=agentgresd dbname=$DB"
[http]
listen = "$HTTP"
[agents.perfmon]
disk_path = "$BASE"
[knowledge]
# The project's own sources and docs, indexed into the collection "project"
# (agentgresd ingest now, then the indexer loop every 5 minutes). Embedded by
# LSA trained on them: the worker runs the training the ingest asks for.
sources = ["$AGENTGRES_ROOT"]
embedder = "lsa"
include = ["extension/", "sidecar/", "sql/", "scripts/", "tests/", "bench/", "packaging/", "fuzz/*.cpp", "fuzz/*.hpp",
           "fuzz/*.sh", "*.md", "CMakeLists.txt", "Makefile.pgxs", "agentgres.control", ".clang-format", ".ci/"]
exclude = ["build/", "build-*/", ".agentgres/", "node_modules/", "tests/data/", "tests/regress/output/", "*.o", "*.so",
           "*.a", "*.bc"]
TOML
# The first index, in the foreground so its progress shows; failed files
# are named and do not stop the set-up.
log "indexing the project's sources and docs (agentgresd ingest)"
AGENTGRES_CONFIG="$DAEMON_CONFIG" "$DAEMON" ingest || log "some files were not indexed (see above)"
log "starting agentgresd on $HTTP"
AGENTGRES_CONFIG="$DAEMON_CONFIG" nohup "$DAEMON" run >>"$DAEMON_LOG" 2>&1 &
echo $! >"$DAEMON_PID"
for _ in $(seq 1 50); do
	curl -fs "http://$HTTP/health" >/dev/null 2>&1 && break
	kill -0 "$(cat "$DAEMON_PID")" 2>/dev/null || { tail -20 "$DAEMON_LOG" >&2; die "agentgresd did not start (log: $DAEMON_LOG)"; }
	sleep 0.2
done
curl -fs "http://$HTTP/health" >/dev/null 2>&1 || log "agentgresd is up but /health does not answer yet (log: $DAEMON_LOG)"
ISA="$("${PSQL[@]}" -d "$DB" -tAc "SELECT agentgres.kernel_isa()")"
log "ready"

cat <<EOF2

agentgres $VERSION is installed in database "$DB" (distance kernels: $ISA).

  connect:   psql -h $BASE/run -p $PORT -U postgres $DB
  conninfo:  host=$BASE/run port=$PORT user=postgres dbname=$DB

agentgresd is running (pid $(cat "$DAEMON_PID")), connected as agentgresd (in agentgres_admin):
  health:    curl http://$HTTP/health
  metrics:   curl http://$HTTP/metrics
  status:    $DAEMON --config $DAEMON_CONFIG status
  log:       $DAEMON_LOG

  status:    scripts/up.sh status
  stop all:  scripts/up.sh stop
  database log: $BASE/postgresql.log
EOF2
