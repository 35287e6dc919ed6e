#!/usr/bin/env bash
# The suite on the kernel users boot: netns/vm/run starts Debian bookworm's
# stock kernel (6.1) under QEMU with a 4-queue virtio-net NIC and runs
# tests/vm/guest.sh inside it. The guest's assertions and VERIFIED lines are
# added to this run's results; a guest that does not boot or finish is a
# failure that says why, never a skip.
source "$(dirname "$0")/lib.sh"
need_root

XCHG=$(mktemp -d /tmp/t_vm.XXXXXX)
trap 'rm -rf "$XCHG"' EXIT
start=$SECONDS
O=$O "$TOP/netns/vm/run" --xchg "$XCHG" --timeout 1200 tests/vm/guest.sh "O=$O" \
	>"$XCHG/run.out" 2>&1
rc=$?
sed 's/^/  guest| /' "$XCHG/guest.log" 2>/dev/null
[ "$rc" -eq 125 ] && sed 's/^/  vm| /' "$XCHG/run.out"
grep -E '^(PASS|FAIL|VERIFIED) ' "$XCHG/results" >>"$RESULTS" 2>/dev/null
n=$(grep -cE '^(PASS|FAIL) ' "$XCHG/results" 2>/dev/null || echo 0)
case $rc in
0) pass "guest pass on $(cat "$XCHG/release") finished ($n assertions, $((SECONDS - start)) s)" ;;
125) fail "guest pass" "the guest did not boot or finish (see the vm| lines above)" ;;
*) fail "guest pass" "tests/vm/guest.sh exited $rc" ;;
esac
expect_ge "the guest ran its assertions" "$n" 50
# ASan's reports land in the guest's log, not in an exit status of ours.
expect_eq "no sanitizer report in the guest" "$(grep -c 'ERROR: AddressSanitizer\|runtime error:' "$XCHG/guest.log" 2>/dev/null)" 0
