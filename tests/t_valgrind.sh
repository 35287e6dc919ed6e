#!/usr/bin/env bash
# The normal build's shardctl ($TOP/build/shardctl, no sanitizers) under
# valgrind memcheck for setup, status, remap, re-runs, teardown, and the
# error paths (a refusal, a rolled-back setup): any memory error or
# definite leak makes valgrind exit 9 instead of shardctl's own status.
# (The rest of the suite runs the ASan/UBSan build.)
source "$(dirname "$0")/lib.sh"
need_root

NS=scv$$
TMP=$(mktemp -d /tmp/sc-vg.XXXXXX)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS"
defer sc teardown
PLAIN=$TOP/build/shardctl
command -v valgrind >/dev/null || { fail "valgrind" "not installed (make deps)"; exit 1; }
[ -x "$PLAIN" ] || { fail "the normal build" "$PLAIN missing (make all)"; exit 1; }
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }

# libbpf clears only the part of union bpf_attr it passes (attr_sz) and the
# kernel reads only that much; valgrind's bpf() wrapper checks fields past it.
cat >"$TMP/libbpf.supp" <<'EOF'
{
   libbpf-bpf-attr-beyond-attr_sz-1
   Memcheck:Param
   bpf(attr->expected_attach_type)
   fun:syscall
   obj:*/libbpf.so*
}
{
   libbpf-bpf-attr-beyond-attr_sz-2
   Memcheck:Param
   bpf(attr->prog_ifindex)
   fun:syscall
   obj:*/libbpf.so*
}
EOF
TRIED=0 HELD=0 N=0
# vg NAME WANT_RC ARGS...: shardctl ARGS under valgrind in $NS.
vg() {
	local name=$1 want=$2 rc
	shift 2
	N=$((N + 1)) TRIED=$((TRIED + 1))
	OUT=$(in_ns valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions="$TMP/libbpf.supp" --log-file="$TMP/vg.$N" "$PLAIN" "$@" 2>"$TMP/err.$N")
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		pass "$name: exit $want under valgrind"
		HELD=$((HELD + 1))
	else
		fail "$name: exit $want under valgrind" "exit $rc; $(grep -m3 -E 'Invalid|uninit|definitely|by 0x' "$TMP/vg.$N" | tr '\n' ' ')"
	fi
}

before=$(snapshot)
vg "setup" 0 setup nic0 -j
expect_eq "the setup made under valgrind is complete" "$(jq -r .complete <<<"$OUT")" true
"$MQTAP" traffic --ns "$NS" --count 50 >/dev/null
expect_eq "and carries frames" "$?" 0
vg "status -j" 0 status -j
expect_eq "status under valgrind reads 50 frames on shard 1" "$(jq -r '.[0].shards[1].packets' <<<"$OUT")" 50
vg "human status" 0 status
vg "remap" 0 remap nic0 0 3 -j
vg "setup re-run" 0 setup nic0
vg "teardown --dry-run" 0 teardown --dry-run -j
vg "teardown" 0 teardown nic0
expect_snapshot "teardown under valgrind restores the host" "$before"

vg "setup --lookup global --attach tc --shard-qdisc htb" 0 \
	setup nic0 --lookup global --attach tc --shard-qdisc "htb rate 100mbit"
vg "remap (global: through the mmaped .bss)" 0 remap nic0 1 0
vg "teardown (tc)" 0 teardown
expect_snapshot "the tc teardown restores the host" "$before"

vg "refusal: unknown device" 1 setup nosuch0
vg "refusal: bad spec" 2 setup nic0 --shard-qdisc "htb rate"
OUT=$(in_ns env SHARDCTL_FAIL_AT=setup:returns valgrind -q --error-exitcode=9 --leak-check=full \
	--errors-for-leak-kinds=definite --suppressions="$TMP/libbpf.supp" --log-file="$TMP/vg.rb" \
	"$PLAIN" setup nic0 --lookup const 2>&1); rc=$?
TRIED=$((TRIED + 1))
if [ "$rc" -eq 1 ]; then pass "rolled-back setup: exit 1 under valgrind"; HELD=$((HELD + 1)); else
	fail "rolled-back setup: exit 1 under valgrind" "exit $rc; $(head -c 300 "$TMP/vg.rb")"; fi
expect_snapshot "the rolled-back setup left nothing" "$before"

echo
echo "valgrind: $TRIED runs tried, $HELD held"
expect_eq "every run clean under valgrind" "$HELD" "$TRIED"
