# Shared helpers for the agentgres scripts. Source it; do not run it.
#
# PostgreSQL refuses to run as root, so when these scripts run as root the
# server and its tools run as the unprivileged "postgres" account (created by
# Debian's postgresql package); otherwise they run as the invoking user.

set -euo pipefail

AGENTGRES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

# Progress goes to stderr, one line per stage with the time since the script
# started; colour only when stderr is a terminal (and NO_COLOR is unset).
AGENTGRES_STARTED_AT="${AGENTGRES_STARTED_AT:-$SECONDS}"
if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
	_bold=$'\033[1m' _red=$'\033[1;31m' _plain=$'\033[0m'
else
	_bold='' _red='' _plain=''
fi
elapsed() {
	local s=$((SECONDS - AGENTGRES_STARTED_AT))
	printf '%d:%02d' $((s / 60)) $((s % 60))
}
log() { printf '%s[agentgres %s]%s %s\n' "$_bold" "$(elapsed)" "$_plain" "$*" >&2; }
die() { printf '%s[agentgres %s] error:%s %s\n' "$_red" "$(elapsed)" "$_plain" "$*" >&2; exit 1; }

# Runs one stage of a build quietly, with a line before and after it:
#   stage "building agentgresd" cmake --build ...
# On failure the stage's output is shown.
stage() {
	local what="$1" started=$SECONDS output
	shift
	log "$what ..."
	output="$(mktemp)"
	if "$@" >"$output" 2>&1; then
		log "$what: done in $((SECONDS - started)) s"
		rm -f "$output"
	else
		tail -60 "$output" >&2
		rm -f "$output"
		die "$what failed"
	fi
}

# Runs a command as root (directly, or through sudo).
as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# The account that owns and runs PostgreSQL clusters.
pg_account() {
	if [[ $(id -u) -eq 0 ]]; then echo postgres; else id -un; fi
}

# Runs a command as the cluster account.
as_pg() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Installs those of the named Debian packages that are missing:
#   install_missing_packages "what they are for" PACKAGE...
install_missing_packages() {
	local purpose="$1" missing=()
	shift
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "installing Debian packages $purpose: ${missing[*]}"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# What the build and the embedded default need. Debian's postgresql package
# starts a system cluster on 5432; ours use their own ports and sockets, so it
# does not matter whether it runs.
install_dependencies() {
	install_missing_packages "for the build" \
		build-essential cmake pkg-config \
		postgresql-15 postgresql-server-dev-15 postgresql-client-15 libpq-dev \
		libeigen3-dev nlohmann-json3-dev \
		libgtest-dev libgmock-dev libbenchmark-dev \
		libcli11-dev libtomlplusplus-dev libcpp-httplib-dev libssl-dev \
		python3 sudo curl
}

# What only the tests need: promtool (from prometheus) checks /metrics,
# IPC::Run runs PostgreSQL's TAP framework, clang-format checks the style,
# clang and libFuzzer build the fuzz targets (scripts/fuzz.sh).
install_test_dependencies() {
	install_missing_packages "for the tests" prometheus libipc-run-perl clang-format clang-14 libfuzzer-14-dev
}

# Builds the module the PGXS way and installs it into the server's directories.
build_and_install_extension() {
	# shellcheck disable=SC2086 # AGENTGRES_PGXS_FLAGS holds several words
	stage "building the extension (PGXS)" \
		make -C "$AGENTGRES_ROOT" -f Makefile.pgxs -j"$(nproc)" PG_CONFIG="$PG_BIN/pg_config" ${AGENTGRES_PGXS_FLAGS:-}
	stage "installing the extension into $("$PG_BIN/pg_config" --pkglibdir)" \
		as_root make -C "$AGENTGRES_ROOT" -f Makefile.pgxs PG_CONFIG="$PG_BIN/pg_config" install
}

# SQL that makes ROLE the login role agentgresd connects as: a member of the
# extension's agentgres_admin group, never a superuser, and in
# pg_read_all_stats so perfmon sees every session's transaction age. Run it
# as a superuser (roles belong to the cluster) after CREATE EXTENSION.
daemon_role_sql() { # daemon_role_sql ROLE
	cat <<SQL
SET client_min_messages = warning;
DO \$\$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '$1') THEN
		CREATE ROLE "$1" LOGIN;
	END IF;
END \$\$;
ALTER ROLE "$1" NOSUPERUSER;
GRANT agentgres_admin, pg_read_all_stats TO "$1";
SQL
}

# A directory the cluster account can own: under the project when it can reach
# it, otherwise under /var/tmp (e.g. a checkout in root's 0700 home).
cluster_base_dir() {
	local wanted
	wanted="$(realpath -m "$1")"
	mkdir -p "$wanted"
	if [[ $(id -u) -eq 0 ]]; then
		chown "$(pg_account)" "$wanted"
		if ! runuser -u postgres -- test -w "$wanted"; then
			local fallback
			fallback="/var/tmp/agentgres-$(printf '%s' "$wanted" | md5sum | cut -c1-12)"
			mkdir -p "$fallback"
			chown postgres "$fallback"
			log "the postgres account cannot reach $wanted; using $fallback"
			wanted="$fallback"
		fi
	fi
	echo "$wanted"
}

# Creates (if needed) and starts a cluster: cluster_start DIR PORT
# The server listens only on a Unix socket in DIR/run; local connections are
# trusted, so reach it as: psql -h DIR/run -p PORT -U postgres
cluster_start() {
	local base="$1" port="$2"
	local data="$base/data" run="$base/run"
	if [[ ! -s "$data/PG_VERSION" ]]; then
		log "creating a PostgreSQL cluster in $data"
		as_pg mkdir -p "$data" "$run"
		as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
			--encoding=UTF8 --locale=C.UTF-8 >/dev/null
		as_pg tee -a "$data/postgresql.conf" >/dev/null <<-CONF
		# agentgres private cluster
		listen_addresses = ''
		port = $port
		unix_socket_directories = '$run'
		shared_buffers = '256MB'
		max_connections = 50
		logging_collector = off
		CONF
	fi
	as_pg mkdir -p "$run"
	if as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		log "PostgreSQL is already running in $data"
	else
		as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$base/postgresql.log" -w -t 60 start >/dev/null \
			|| { tail -20 "$base/postgresql.log" >&2; die "PostgreSQL did not start (log: $base/postgresql.log)"; }
	fi
}

cluster_stop() {
	local base="$1"
	[[ -d "$base/data" ]] || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null 2>&1 || true
}
