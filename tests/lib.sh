# shellcheck shell=bash
# Shared test helpers. A test file is a bash script tests/t_*.sh that sources
# this file, runs its cases and records one line per assertion outcome in
# $RESULTS ("PASS name" / "FAIL name: why", and "SKIP name: why" for what
# could not be checked here). tests/run adds them up.
#
# Every test builds its own namespaces (names carry $$ so parallel runs and
# leftovers of a killed run never collide) and removes them again: right after
# making something, a test says `defer CMD...` to undo it (see below).

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${O:=build}"
: "${SHARDCTL:=$TOP/$O/shardctl}"
: "${MQTAP:=$TOP/$O/netns/mqtap}"
export O
: "${TESTBED:=$TOP/netns/testbed}"
: "${RESULTS:=/dev/stderr}"
T_NAME=$(basename "$0" .sh)

FAILS=0 SKIPS=0
pass() { echo "PASS $T_NAME: $1" >>"$RESULTS"; echo "  ok   $1"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $T_NAME: $1: ${2:-}" >>"$RESULTS"; echo "  FAIL $1: ${2:-}"; }
# skip NAME WHY: NAME was not checked on this host, and WHY says why (never
# empty: a skip without a reason is a failure). Counted and listed by tests/run.
skip() {
	if [ -z "${2:-}" ]; then fail "$1" "skipped without a reason"; return; fi
	SKIPS=$((SKIPS + 1)); echo "SKIP $T_NAME: $1: $2" >>"$RESULTS"; echo "  SKIP $1: $2"
}

# --- cleanup ----------------------------------------------------------------
# defer CMD [ARGS...]: push CMD (its arguments expanded now) onto a stack
# that one EXIT trap runs in reverse order: at the end, after a failure's
# exit, and when a signal kills the test. Push the undo right after the thing
# is made (a temp dir, then a namespace, then what lives in it), so the last
# made is the first removed. A command that must look at variables only at
# exit time is a function: `defer my_cleanup`. Cleanup is quiet: what the
# commands print is discarded (a redirection written after `defer CMD` would
# apply to defer itself, not to CMD). A test sets no EXIT trap of its own.
DEFERRED=()
defer() { DEFERRED+=("$(printf '%q ' "$@")"); }
run_deferred() {
	local i
	for ((i = ${#DEFERRED[@]} - 1; i >= 0; i--)); do eval "${DEFERRED[i]}" >/dev/null 2>&1; done
	DEFERRED=()
}
# bash runs the EXIT trap also when SIGINT, SIGTERM or SIGHUP kills it, at
# once (a trap of those signals would wait for the command in the foreground).
trap 'run_deferred' EXIT

# --- background commands ----------------------------------------------------
# bg_start [-o OUT] [-e ERR] NAME CMD...: run CMD in the background, stdout
# in OUT and stderr in ERR (default $TMP/NAME.out and $TMP/NAME.err; both in
# one file, as 2>&1 would, when OUT and ERR are the same; "-" keeps the
# test's own). CMD starts as a plain command, so the PID recorded (bg_pid
# NAME) is CMD itself (nsenter and env exec theirs, a shell function would
# be a subshell around it). Then bg_wait_line / bg_poll to wait for it to get
# somewhere, bg_stop or bg_join to end it, and `defer bg_stop_all SIGNAL` for
# whatever is left at exit. Only processes started here are ever signalled,
# by PID.
declare -A BG_PID=() BG_OUT=() BG_ERR=()
BG_OLD=()	# PIDs of earlier runs of a NAME started again before it was stopped
bg_start() {
	local out="" err="" name ofd efd
	while [ $# -gt 0 ]; do
		case $1 in
		-o) out=$2; shift 2 ;;
		-e) err=$2; shift 2 ;;
		*) break ;;
		esac
	done
	name=$1
	shift
	out=${out:-$TMP/$name.out} err=${err:-$TMP/$name.err}
	[ -n "${BG_PID[$name]:-}" ] && BG_OLD+=("${BG_PID[$name]}")
	if [ "$out" == - ]; then exec {ofd}>&1; else exec {ofd}>"$out"; fi
	if [ "$err" == - ]; then exec {efd}>&2; elif [ "$err" == "$out" ]; then exec {efd}>&"$ofd"; else exec {efd}>"$err"; fi
	"$@" >&"$ofd" 2>&"$efd" {ofd}>&- {efd}>&- &
	BG_PID[$name]=$! BG_OUT[$name]=$out BG_ERR[$name]=$err
	exec {ofd}>&- {efd}>&-
}
bg_pid() { echo "${BG_PID[$1]:-}"; }
bg_out() { echo "${BG_OUT[$1]}"; }
bg_err() { echo "${BG_ERR[$1]}"; }
# bg_state NAME: the process state letter (R, S, T, Z, ...), empty when gone
# (read without forking: callers poll it in tight loops).
bg_state() {
	local pid=${BG_PID[$1]:-} line=""
	[ -n "$pid" ] && read -r line 2>/dev/null <"/proc/$pid/stat"
	line=${line##*) }
	echo "${line%% *}"
}
# bg_running NAME: NAME was started and has not exited (a zombie counts as gone).
bg_running() {
	local pid=${BG_PID[$1]:-} line=""
	[ -n "$pid" ] && read -r line 2>/dev/null <"/proc/$pid/stat" || return 1
	line=${line##*) }
	[ "${line%% *}" != Z ]
}
# bg_poll NAME SECONDS CMD...: until CMD succeeds (0), or NAME has exited and
# CMD still fails (1), or SECONDS passed (1). Polls every 0.05 s.
bg_poll() {
	local name=$1 n i gone
	n=$(awk -v s="$2" 'BEGIN { printf "%d", s * 20 }')
	shift 2
	for ((i = 0; i <= n; i++)); do
		bg_running "$name"; gone=$?
		"$@" && return 0
		[ "$gone" -ne 0 ] && return 1
		sleep 0.05
	done
	return 1
}
# bg_wait_line NAME out|err REGEX [SECONDS]: until NAME's stdout (or stderr)
# has a line matching REGEX (grep's basic regex), default 10 s; 1 if it exits
# or the time runs out first.
bg_wait_line() {
	local name=$1 file
	if [ "$2" == err ]; then file=${BG_ERR[$name]}; else file=${BG_OUT[$name]}; fi
	bg_poll "$name" "${4:-10}" grep -q -- "$3" "$file"
}
# bg_stop NAME [SIGNAL]: send SIGNAL (default TERM; "" sends none, just waits)
# to NAME and wait for it; returns its exit status. NAME is forgotten.
bg_stop() {
	local pid=${BG_PID[$1]:-} sig=${2-TERM} rc
	[ -n "$pid" ] || return 0
	[ -n "$sig" ] && kill -"$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	unset "BG_PID[$1]"
	return $rc
}
# bg_join NAME: wait for NAME to exit by itself; returns its exit status.
bg_join() { bg_stop "$1" ""; }
# bg_stop_all [SIGNAL]: bg_stop every NAME still recorded, and any earlier
# run of a NAME started again (for `defer`).
bg_stop_all() {
	local n p
	for n in "${!BG_PID[@]}"; do bg_stop "$n" "${1:-TERM}"; done
	for p in "${BG_OLD[@]}"; do kill -"${1:-TERM}" "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	BG_OLD=()
}

# verified FEATURE: what this run proved works, on this kernel and device
# ($DEVICE, default the TAP testbed): recorded only when no assertion failed
# since verify_begin (or since the test started). tests/kernel-table turns
# these lines into the README's per-kernel table.
# `verified FEATURE refused` records a proven one-line refusal instead.
V_F0=0
verify_begin() { V_F0=$FAILS; }
verified() {
	if [ "$FAILS" -eq "$V_F0" ]; then
		echo "VERIFIED $1|$(uname -r)|${DEVICE:-TAP}${2:+|$2}" >>"$RESULTS"
	fi
}

# --- cases ------------------------------------------------------------------
# Suites that report "N tried, N held" run each case as a function:
#   case_run NAME FUNC [ARGS...]
# The case holds when none of the assertions FUNC made failed. FUNC may call
# case_skip WHY (and return): the case is then recorded as a SKIP with WHY and
# counts neither as tried nor as held. CASE is the running case's NAME.
TRIED=0 HELD=0 BAD="" CASE="" CASE_SKIP=""
case_run() {
	local name=$1 f0=$FAILS
	shift
	CASE=$name CASE_SKIP=""
	echo "-- $name"
	"$@"
	if [ -n "$CASE_SKIP" ]; then
		skip "$name" "$CASE_SKIP"
	else
		TRIED=$((TRIED + 1))
		if [ "$FAILS" -eq "$f0" ]; then HELD=$((HELD + 1)); else BAD="$BAD [$name]"; fi
	fi
	CASE=""
}
case_skip() { if [ -z "${1:-}" ]; then fail "$CASE" "skipped without a reason"; else CASE_SKIP=$1; fi; }
# case_summary WHAT: the "N tried, N held" line.
case_summary() { echo "$1: $TRIED tried, $HELD held${BAD:+; did not hold:$BAD}"; }

# loaded SECONDS OUT CMD...: run CMD (stdout to OUT, stderr to $TMP/err)
# while netns/contended.sh's two pinned senders load nic0 in $NS for
# SECONDS; SENDERS_MIN is then the lower of the senders' CPU shares (%),
# so a caller can tell a starved run from a real reading.
LOAD_PID=
loaded() {
	local seconds=$1 out=$2 rc
	shift 2
	O=$O "$TOP/netns/contended.sh" load "$NS" --duration "$seconds" -j >"$TMP/load.json" 2>/dev/null &
	LOAD_PID=$!
	sleep 1
	"$@" >"$out" 2>"$TMP/err"
	rc=$?
	wait "$LOAD_PID"
	LOAD_PID=
	SENDERS_MIN=$(jq '[.threads[].cpu_pct] | min | floor' "$TMP/load.json" 2>/dev/null)
	SENDERS_MIN=${SENDERS_MIN:-0}
	return $rc
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# expect_ge NAME GOT MIN (integers)
expect_ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then pass "$1"; else fail "$1" "got '$2', want >= '$3'"; fi
}
# expect_match NAME STRING REGEX
expect_match() {
	if [[ "$2" =~ $3 ]]; then pass "$1"; else fail "$1" "'$2' does not match /$3/"; fi
}
# expect_rc NAME WANT_RC CMD... : runs CMD, keeps its stdout/stderr in $OUT/$ERR
expect_rc() {
	local name=$1 want=$2 rc
	shift 2
	OUT=$("$@" 2>/tmp/.sc_err.$$); rc=$?
	ERR=$(cat /tmp/.sc_err.$$); rm -f /tmp/.sc_err.$$
	if [ "$rc" -eq "$want" ]; then pass "$name"; else fail "$name" "exit $rc, want $want; stderr: $ERR"; fi
}

# Run a command in test namespace $NS, network namespace only: unlike
# `ip netns exec`, which also mounts a fresh /sys in a new mount namespace
# (hiding the host's bpffs), it keeps the host's /sys/fs/bpf, so pins survive
# between commands.
in_ns() { nsenter --net="/var/run/netns/$NS" "$@"; }
sc() { in_ns "$SHARDCTL" "$@"; }

# Snapshot of everything shardctl may touch in $NS plus bpffs, for
# "teardown leaves the host as it was" assertions. Counters are excluded.
snapshot() {
	{
		in_ns ip -o link show | sed -E 's/^[0-9]+: //; s/ qlen [0-9]+//'
		in_ns ip -o addr show
		for d in $(in_ns ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
			echo "== $d"
			in_ns tc qdisc show dev "$d"
			in_ns tc filter show dev "$d" ingress 2>/dev/null
			in_ns tc filter show dev "$d" egress 2>/dev/null
		done
		# bpffs is shared by every namespace: only this namespace's shardctl
		# directory, plus pins outside shardctl's tree, belong to the snapshot.
		local cookie
		cookie=$(in_ns "$TOP/$O/netns/nscookie")
		find /sys/fs/bpf -mindepth 1 ! -name maps.debug ! -name progs.debug \
			! -path '/sys/fs/bpf/shardctl' ! -path '/sys/fs/bpf/shardctl/*' 2>/dev/null | sort
		find "/sys/fs/bpf/shardctl/$cookie" 2>/dev/null | sort
	} 2>&1
}

# expect_snapshot NAME BEFORE: the current snapshot equals BEFORE (prints a short diff)
expect_snapshot() {
	local now
	now=$(snapshot)
	if [ "$now" == "$2" ]; then pass "$1"; else
		fail "$1" "host differs: $(diff <(echo "$2") <(echo "$now") | grep '^[<>]' | head -6 | tr '\n' ' ')"
	fi
}

# vm_pass NAME SCRIPT [netns/vm/run OPTIONS]: boot Debian's stock kernel
# (netns/vm/run) to run tests/vm/SCRIPT with this run's build, and add the
# guest's PASS/FAIL/VERIFIED lines to $RESULTS. A guest that does not boot
# or finish is a failure that says why, never a skip.
vm_pass() {
	local name=$1 script=$2 xchg rc n start=$SECONDS
	shift 2
	xchg=$(mktemp -d /tmp/t_vm.XXXXXX)
	# The guest gets this run's sanitizer settings (exit 99 on a report, so
	# a sanitizer error never passes for an expected failure), and a limit
	# below tests/run's 900 s, so netns/vm/run reports a stuck guest itself.
	O=$O "$TOP/netns/vm/run" --xchg "$xchg" --timeout 700 "$@" "tests/vm/$script" "O=$O" \
		${ASAN_OPTIONS:+"ASAN_OPTIONS=$ASAN_OPTIONS"} ${UBSAN_OPTIONS:+"UBSAN_OPTIONS=$UBSAN_OPTIONS"} \
		>"$xchg/run.out" 2>&1
	rc=$?
	sed 's/^/  guest| /' "$xchg/guest.log" 2>/dev/null
	[ "$rc" -eq 125 ] && sed 's/^/  vm| /' "$xchg/run.out"
	grep -E '^(PASS|FAIL|VERIFIED) ' "$xchg/results" >>"$RESULTS" 2>/dev/null
	n=$(grep -cE '^(PASS|FAIL) ' "$xchg/results" 2>/dev/null)
	case $rc in
	0) pass "$name on $(cat "$xchg/release") finished (${n:-0} assertions, $((SECONDS - start)) s)" ;;
	125) fail "$name" "the guest did not boot or finish (see the vm| lines above)" ;;
	*) fail "$name" "tests/vm/$script exited $rc" ;;
	esac
	expect_eq "$name: no stray exchange files (every traffic request answered)" \
		"$(ls "$xchg" | grep -c '^\(req\|rc\|out\|err\)\.')" 0
	expect_ge "$name: the guest ran its assertions" "${n:-0}" 20
	# ASan's reports land in the guest's log, not in an exit status of ours.
	expect_eq "$name: no sanitizer report in the guest" \
		"$(grep -c 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$xchg/guest.log" 2>/dev/null)" 0
	rm -rf "$xchg"
}

need_root() {
	if [ "$(id -u)" != 0 ]; then echo "tests need root" >&2; exit 1; fi
}
