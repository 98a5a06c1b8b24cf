# Shared by the integration tests that count their checks. Source it; it is
# not a test of its own (scripts/test.sh runs tests/integration/*.sh only).
failures=0

check() { # check DESCRIPTION COMMAND...
	local what="$1"
	shift
	if "$@"; then
		echo "ok   - $what"
	else
		echo "FAIL - $what"
		failures=$((failures + 1))
	fi
}

wait_for() { # wait_for SECONDS COMMAND...: true once COMMAND succeeds
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}
