# shellcheck shell=bash
# Shared test helpers. A test file is a bash script tests/t_*.sh that sources
# this file, runs its cases and records one line per assertion outcome in
# $RESULTS ("PASS name" / "FAIL name: why"). tests/run adds them up.
#
# Every test builds its own namespaces (names carry $$ so parallel runs and
# leftovers of a killed run never collide) and removes them in an EXIT trap.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${O:=build}"
: "${SHARDCTL:=$TOP/$O/shardctl}"
: "${MQTAP:=$TOP/$O/netns/mqtap}"
export O
: "${TESTBED:=$TOP/netns/testbed}"
: "${RESULTS:=/dev/stderr}"
T_NAME=$(basename "$0" .sh)

FAILS=0
pass() { echo "PASS $T_NAME: $1" >>"$RESULTS"; echo "  ok   $1"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL $T_NAME: $1: ${2:-}" >>"$RESULTS"; echo "  FAIL $1: ${2:-}"; }

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

# Suites that report "N tried, N held": a case holds when none of the
# assertions between case_begin and case_end failed.
TRIED=0 HELD=0 BAD=""
case_begin() { TRIED=$((TRIED + 1)); F0=$FAILS; echo "-- $1"; }
case_end() { if [ "$FAILS" -eq "$F0" ]; then HELD=$((HELD + 1)); else BAD="$BAD [$1]"; fi; }

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
# `ip netns exec` it keeps the host's /sys/fs/bpf, so pins survive between
# commands (../shared/notes/platform.md).
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
