#!/usr/bin/env bash
# scripts/up.sh answers --help, status and bad arguments at once, without
# building or starting anything, and prints no colour codes into a pipe.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
failures=0
check() { # check DESCRIPTION COMMAND... (the command must succeed)
	if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failures=$((failures + 1)); fi
}

# A scratch project folder, so status and the checks below never touch a real one.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scripts" && cp "$ROOT/scripts/up.sh" "$ROOT/scripts/lib.sh" "$work/scripts/"
[[ $(id -u) -ne 0 ]] || chmod 755 "$work"

out="$(timeout 10 bash "$work/scripts/up.sh" --help 2>&1)"; rc=$?
check "--help exits 0" test "$rc" -eq 0
check "--help prints the usage" grep -q '^usage: scripts/up.sh' <<<"$out"

out="$(timeout 10 bash "$work/scripts/up.sh" --frobnicate 2>&1)"; rc=$?
check "an unknown argument exits 2" test "$rc" -eq 2
check "an unknown argument is named" grep -q 'unknown argument: --frobnicate' <<<"$out"
check "an unknown argument prints the usage" grep -q '^usage:' <<<"$out"

out="$(timeout 10 bash "$work/scripts/up.sh" start extra 2>&1)"; rc=$?
check "an extra argument exits 2" test "$rc" -eq 2

AGENTGRES_PGPORT=5499 AGENTGRES_HTTP_LISTEN=127.0.0.1:7799 timeout 20 bash "$work/scripts/up.sh" status >"$work/status.out" 2>&1
rc=$?
check "status of a project that is not running exits 3" test "$rc" -eq 3
check "status says what is not running" grep -q '^postgresql: not running' "$work/status.out"
check "status built nothing" test ! -e "$work/build"
check "no colour codes in a pipe" bash -c "! grep -q $'\x1b' '$work/status.out'"

# The embedded default's daemon is not the superuser: up.sh makes the login
# role agentgresd (daemon_role_sql, which daemon.sh runs against a cluster)
# and writes it into the daemon's DSN.
check "the daemon connects as agentgresd, not as postgres" \
	grep -q '^dsn = "host=$BASE/run port=$PORT user=agentgresd dbname=$DB"$' "$ROOT/scripts/up.sh"
check "up.sh makes the agentgresd role" grep -q '^daemon_role_sql agentgresd ' "$ROOT/scripts/up.sh"
check "the role is a NOSUPERUSER member of agentgres_admin" bash -c \
	"source '$ROOT/scripts/lib.sh' && daemon_role_sql agentgresd | grep -q 'ALTER ROLE \"agentgresd\" NOSUPERUSER;' \
	 && daemon_role_sql agentgresd | grep -q 'GRANT agentgres_admin, pg_read_all_stats TO \"agentgresd\";'"

echo "up.sh: $failures failure(s)"
((failures == 0))
