#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*.cpp, with ASan + UBSan) and runs each
# for SECONDS (default 20) from its corpus in the repository
# (fuzz/corpus/TARGET, plus fuzz/TARGET.dict when there is one), as many at
# once as there are cores. Fails when any target crashes, leaks, hangs on
# one input or breaks one of its invariants; the input that did it is saved
# in build-fuzz/crashes/ (reproduce: build-fuzz/fuzz_TARGET FILE).
#   scripts/fuzz.sh              20 s per target (what scripts/test.sh runs)
#   scripts/fuzz.sh 600          longer, on demand
#   scripts/fuzz.sh 0            only replay the corpora
#   scripts/fuzz.sh 60 model_json config_toml
# New inputs found go to build-fuzz/corpus/TARGET, not into the repository;
# add the ones worth keeping to fuzz/corpus/TARGET (libFuzzer's -merge=1
# keeps only those that add coverage).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_PER_TARGET="${1:-20}"
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh [seconds-per-target] [target...]"
shift || true
BUILD_FUZZ="$AGENTGRES_ROOT/build-fuzz"
JOBS="$(nproc)"
# fuzz/NAME.cpp is the target NAME (CMakeLists.txt builds it as fuzz_NAME).
ALL_TARGETS=()
for f in "$AGENTGRES_ROOT"/fuzz/*.cpp; do
	ALL_TARGETS+=("$(basename "$f" .cpp)")
done
TARGETS=("${@:-${ALL_TARGETS[@]}}")
for t in "${TARGETS[@]}"; do
	[[ -f "$AGENTGRES_ROOT/fuzz/$t.cpp" ]] || die "no fuzz target $t (targets: ${ALL_TARGETS[*]})"
done

command -v clang++-14 >/dev/null || die "clang++-14 is missing (apt-get install clang-14 libfuzzer-14-dev)"
stage "configuring the fuzz build (clang, ASan + UBSan + libFuzzer)" \
	cmake -S "$AGENTGRES_ROOT" -B "$BUILD_FUZZ" -DCMAKE_CXX_COMPILER=clang++-14 \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTGRES_FUZZ=ON -DAGENTGRES_WERROR=ON
stage "building the fuzz targets" cmake --build "$BUILD_FUZZ" -j"$JOBS" --target "${TARGETS[@]/#/fuzz_}"

mkdir -p "$BUILD_FUZZ/crashes" "$BUILD_FUZZ/logs"
# One target: new inputs into the scratch corpus (first directory), the
# repository's seeds read only. -timeout: one input running 10 s is a hang.
run_target() {
	local t="$1" work="$BUILD_FUZZ/corpus/$1" args=()
	mkdir -p "$work"
	[[ -f "$AGENTGRES_ROOT/fuzz/$t.dict" ]] && args+=("-dict=$AGENTGRES_ROOT/fuzz/$t.dict")
	if ((SECONDS_PER_TARGET == 0)); then
		args+=(-runs=0)
	else
		args+=("-max_total_time=$SECONDS_PER_TARGET")
	fi
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$BUILD_FUZZ/fuzz_$t" "${args[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$BUILD_FUZZ/crashes/$t-" "$work" "$AGENTGRES_ROOT/fuzz/corpus/$t" \
		>"$BUILD_FUZZ/logs/$t.log" 2>&1
}

log "fuzzing ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET} s each, $JOBS at a time"
declare -A pids
for t in "${TARGETS[@]}"; do
	while (($(jobs -rp | wc -l) >= JOBS)); do
		wait -n || true
	done
	run_target "$t" &
	pids[$t]=$!
done

failed=()
for t in "${TARGETS[@]}"; do
	status=0
	wait "${pids[$t]}" || status=$?
	logfile="$BUILD_FUZZ/logs/$t.log"
	# "#123 DONE cov: 184 ft: 275 corp: 9/76b ..." and the final stats.
	summary="$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$logfile" | tail -1 |
		sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\2/')"
	execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$logfile" | tail -1)"
	if ((status == 0)); then
		log "fuzz $t: ok, ${execs:-?} runs, ${summary:-no summary}"
	else
		failed+=("$t")
		tail -40 "$logfile" >&2
		log "fuzz $t: FAILED (exit $status); log $logfile; input: $(ls -t "$BUILD_FUZZ/crashes/$t-"* 2>/dev/null | head -1)"
	fi
done
((${#failed[@]} == 0)) || die "fuzz targets failed: ${failed[*]}"
log "every fuzz target passed"
