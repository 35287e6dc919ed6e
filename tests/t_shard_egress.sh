#!/usr/bin/env bash
# The shard egress: --shard-qdisc installs the NIC's old egress processing on
# every shard veth (htb, tbf; through libnl-route), status reads its counters
# over netlink; --shard-prog runs a user's tc program at every shard's
# egress. Bad specs and programs are refused before anything changes.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$e
PROG=$(mktemp -d /tmp/sc-prog.XXXXXX)
defer rm -rf "$PROG"
defer "$TESTBED" down "$NS"
defer sc teardown
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }
clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c "$TOP/tests/progs/shard_egress.bpf.c" -o "$PROG/eg.o" ||
	fail "build the test program" "clang failed"
before=$(snapshot)

expect_rc "setup --shard-qdisc htb" 0 sc setup nic0 --shard-qdisc "htb rate 100mbit ceil 200mbit burst 32k" -j
expect_eq "status records the canonical spec" "$(jq -r .shard_qdisc <<<"$OUT")" \
	"htb rate 100000000bit ceil 200000000bit burst 32768"
expect_match "observer: tc sees an htb root on a shard" "$(in_ns tc qdisc show dev nic0-s3)" "qdisc htb 1: root"
expect_match "observer: with class 1:1 at 100Mbit" "$(in_ns tc class show dev nic0-s3)" "htb 1:1 root .*rate 100Mbit ceil 200Mbit"
"$MQTAP" traffic --ns "$NS" --count 100 >/dev/null
expect_eq "frames pass the htb shards" "$?" 0
expect_eq "status: each shard's qdisc counted its frames (netlink)" \
	"$(sc status nic0 -j | jq -r '[.[0].shards[].qdisc.packets] | unique | join(",")')" 100
expect_eq "status: qdisc kind" "$(sc status nic0 -j | jq -r '.[0].shards[0].qdisc.kind')" htb
expect_rc "human status shows the qdisc table" 0 sc status nic0
expect_match "with the htb rows" "$OUT" "htb +100 +0"
canon=$(sc status nic0 -j | jq -r '.[0].shard_qdisc')
expect_rc "the canonical spec parses back (dry run)" 0 sc setup nic0 --shard-qdisc "$canon" --dry-run
expect_rc "setup again with the same spec is a no-op" 0 sc setup nic0 --shard-qdisc "htb rate 100mbit ceil 200mbit burst 32k" -j
expect_eq "unchanged" "$(jq -r .changed <<<"$OUT")" false
expect_rc "setup again with another spec is refused" 1 sc setup nic0 --shard-qdisc "htb rate 1mbit"
expect_match "naming the shard qdisc" "$ERR" "another shard qdisc"
expect_rc "teardown (htb)" 0 sc teardown
expect_snapshot "htb teardown restores the host" "$before"
verified "--shard-qdisc"

expect_rc "setup --shard-qdisc tbf" 0 sc setup nic0 --shard-qdisc "tbf rate 10mbit burst 32k latency 50ms"
expect_match "observer: tbf root" "$(in_ns tc qdisc show dev nic0-s0)" "qdisc tbf 1: root .*rate 10Mbit burst 32Kb"
"$MQTAP" traffic --ns "$NS" --count 50 >/dev/null
expect_eq "frames pass the tbf shards" "$?" 0
expect_rc "teardown (tbf)" 0 sc teardown

for spec in "htb" "htb rate" "htb rate abc" "htb rate -5mbit" "htb rate 1mbit ceil 1kbit" \
	"tbf rate 1mbit" "tbf rate 1mbit burst 10k" "fq" "htb rate 1mbit bogus 3" "pfifo limit x" ""; do
	expect_rc "bad spec '$spec' is a usage error" 2 sc setup nic0 --shard-qdisc "$spec"
	expect_match "bad spec '$spec' is explained" "$ERR" "shard qdisc spec: "
done
expect_snapshot "bad specs change nothing" "$before"

expect_rc "setup --shard-prog FILE:eg_pass" 0 sc setup nic0 --shard-prog "$PROG/eg.o:eg_pass" -j
expect_eq "status shows the program on every shard" \
	"$(jq -r '[.shards[].egress_prog] | unique | join(",")' <<<"$OUT")" eg_pass
"$MQTAP" traffic --ns "$NS" --count 50 >/dev/null
expect_eq "a passing shard program lets every frame through" "$?" 0
expect_rc "teardown (pass program)" 0 sc teardown
expect_snapshot "teardown removes the shard program pins" "$before"

expect_rc "setup --shard-prog FILE:eg_drop" 0 sc setup nic0 --shard-prog "$PROG/eg.o:eg_drop" --attach tc
OUT=$("$MQTAP" traffic --ns "$NS" --count 50 --timeout 1 -j); rc=$?
expect_eq "a dropping shard program really runs on the shard egress (all lost)" "$(jq -r .lost <<<"$OUT")" 200
expect_eq "and the traffic tool says so" "$rc" 1
expect_rc "teardown (drop program, tc)" 0 sc teardown
expect_snapshot "tc teardown restores the host" "$before"
verified "--shard-prog"

expect_rc "missing program file" 1 sc setup nic0 --shard-prog /nonexistent.o
expect_match "names the file" "$ERR" "/nonexistent.o: No such file"
expect_rc "not a BPF object" 1 sc setup nic0 --shard-prog /etc/hostname
expect_match "says it is not one" "$ERR" "/etc/hostname: not a BPF object"
expect_rc "no such section" 1 sc setup nic0 --shard-prog "$PROG/eg.o:nosuch"
expect_match "names the section" "$ERR" "no program in section 'nosuch'"
expect_snapshot "bad programs change nothing" "$before"
