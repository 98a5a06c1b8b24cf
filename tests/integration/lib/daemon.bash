# Shared by the integration tests that run the real agentgresd: SQL and HTTP
# predicates for check/wait_for, and starting and stopping the daemon. Set DB
# (the test's own database) before sourcing; the daemon's output goes to $LOG.
source "$(dirname "${BASH_SOURCE[0]}")/checks.bash"
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/lib.sh" # as_pg, daemon_role_sql

PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
LOG="$(mktemp)"
PID=""

sql() { "${PSQL[@]}" -d "$DB" -c "$1"; }
sql_is() { [[ "$(sql "$2")" == "$1" ]]; } # sql_is EXPECTED SQL
http_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
http_is() { [[ "$(http_code "${@:2}")" == "$1" ]]; } # http_is CODE CURL-ARGS...

start_daemon() { # in the background; its pid in PID
	"$DAEMON" run >>"$LOG" 2>&1 &
	PID=$!
}
stop_daemon() {
	[[ -n "$PID" ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	PID=""
}

# Scratch files, a second daemon's pid (OTHER), and on exit: the daemons
# stopped, the daemon's log shown when a check failed, the files removed.
SCRATCH="$(mktemp -d)"
OTHER=""
# An empty configuration file of the test's own: without one the daemon would
# find a developer's .agentgres/agentgresd.toml (scripts/up.sh's) and take its
# settings. The tests set theirs in AGENTGRES_* variables.
: >"$SCRATCH/agentgresd.toml"
export AGENTGRES_CONFIG="$SCRATCH/agentgresd.toml"
cleanup() {
	stop_daemon
	[[ -n "$OTHER" ]] && kill -KILL "$OTHER" 2>/dev/null || true
	if ((failures)); then
		echo "--- daemon log (last 40 lines)"
		tail -40 "$LOG"
	fi
	rm -f "$LOG"
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
