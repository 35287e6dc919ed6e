#!/usr/bin/env bash
# The guest pass (tests/t_vm.sh boots it with netns/vm/run): every command on
# the kernel the guest boots (Debian bookworm's stock 6.1) and on a real
# multi-queue driver (virtio-net, 4 queue pairs). The host side of the NIC
# writes the test frames and checks every byte of what comes back; the
# driver, not the test, decides which rx queue a frame lands on, and its own
# per-queue counters (ethtool -S) are the observer that status must match.
#
# The guest is the test's own machine: eth0 is its NIC, nothing else is on
# it, and it powers off at the end. Arguments are KEY=VALUE (O=build-san).
for kv in "$@"; do export "${kv?}"; done
source "$(dirname "$0")/../lib.sh"
source "$TOP/netns/vm/guest-lib.sh"
RESULTS=$VM_XCHG/results
T_NAME="t_vm[$(uname -r | cut -d. -f1,2)]"
KERNEL=$(uname -r)
DEVICE="virtio-net, QEMU"
# The guest's own devices: no namespace to enter (lib.sh's snapshot and sc
# then look at the guest itself).
in_ns() { "$@"; }
TMP=$(mktemp -d)
J() { sc status eth0 -j | jq -r ".[0] | $1"; }
# Per-queue counters of the driver itself (virtio-net's ethtool stats).
drv_rx() { ethtool -S eth0 | awk -v q="rx_queue_$1_packets:" '$1 == q { print $2 }'; }
drv_rx_all() { for q in 0 1 2 3; do drv_rx "$q"; done | xargs; }
sub() { local a=($1) b=($2) i out=(); for i in "${!a[@]}"; do out+=($((b[i] - a[i]))); done; echo "${out[*]}"; }
sum() { local s=0 v; for v in $1; do s=$((s + v)); done; echo "$s"; }
# traffic N: N frames per stream, 4 streams x 16 flows; prints the JSON report.
traffic() { host_traffic --streams 4 --flows 16 --count "$1" --rate 2000 --timeout 10 "${@:2}"; }

echo "== the NIC: a real driver with 4 queue pairs"
verify_begin
sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
expect_eq "virtio-net starts with 2 of 4 channels" "$(ethtool -l eth0 | awk '/^Combined:/ {print $2}' | xargs)" "4 2"
ethtool -L eth0 combined 4
expect_eq "ethtool -L combined 4 activates all four" "$(ethtool -l eth0 | awk '/^Combined:/ {print $2}' | tail -1)" 4
BEFORE=$(snapshot)

echo "== refusals on $KERNEL"
verify_begin
expect_rc "--attach tcx is refused" 1 sc setup eth0 --attach tcx
expect_eq "... in one line naming the kernel it needs" "$ERR" "shardctl setup: --attach tcx needs Linux 6.6 (this is $KERNEL)"
expect_snapshot "... and nothing changed" "$BEFORE"
verified "attach tcx (pinned tcx links)" refused
expect_rc "more shards than rx queues is refused" 1 sc setup eth0 --shards 9
expect_match "... saying why" "$ERR" "9 shards for 4 rx queues"
expect_rc "loopback is refused" 1 sc setup lo
expect_rc "an unknown device is refused" 1 sc setup nosuch0
expect_match "... and named" "$ERR" "nosuch0"
ip addr add 198.18.5.1/24 dev eth0
expect_rc "a device with an address is refused" 1 sc setup eth0
expect_match "... naming --force" "$ERR" "force"
ip addr del 198.18.5.1/24 dev eth0
ip link set eth0 down
expect_rc "a down device is refused" 1 sc setup eth0
ip link set eth0 up
ip link add vt0 type veth peer name vt1
ip link set vt0 up
expect_rc "a veth is refused (it records no rx queue)" 1 sc setup vt0
ip link del vt0
expect_snapshot "refusals left the guest as it was" "$BEFORE"
expect_eq "... and no lock file" "$(ls /run/shardctl 2>/dev/null | grep -c '\.lock$')" 0

echo "== setup, frames per shard against the driver's counters"
verify_begin
SETUP_F0=$FAILS
expect_rc "setup --dry-run" 0 sc setup eth0 --dry-run
expect_match "... plans the attach mode this kernel has (tc: no tcx before 6.6)" "$OUT" "attach tc\)"
expect_rc "setup eth0" 0 sc setup eth0 -j
expect_eq "4 shards, one per active rx queue" "$(jq -r .nr_shards <<<"$OUT")" 4
expect_eq "auto picked what --dry-run planned" "$(jq -r .attach <<<"$OUT")" tc
d0=$(drv_rx_all)
OUT=$(traffic 250); rc=$?
expect_eq "every frame came back to the host, byte for byte" "$rc" 0
expect_eq "... all 1000" "$(jq -r .received <<<"$OUT")" 1000
d1=$(drv_rx_all)
per_queue=$(sub "$d0" "$d1")
shards=$(J '[.shards[].packets] | map(tostring) | join(" ")')
expect_eq "status per shard == the driver's rx_queue_N_packets deltas" "$shards" "$per_queue"
expect_eq "... which add up to the frames sent" "$(sum "$per_queue")" 1000
busy=$(for v in $per_queue; do [ "$v" -gt 0 ] && echo x; done | wc -l)
expect_ge "the driver spread 64 flows over its queues (queues used)" "$busy" 3
expect_eq "no frame without a recorded rx queue: virtio-net records it" "$(J .unrecorded_packets)" 0
expect_eq "every frame returned to eth0 by the peers" "$(J .returned_packets)" 1000
verified "rx queue from the driver (skb_record_rx_queue)"
verified "active queue counts (ethtool channels)"

echo "== top and softnet while the host sends"
verify_begin
# 4 x 2500 frames at 1000/s: 10 s, longer than both samples with their BPF loads.
id=$(host_traffic_start --streams 4 --flows 16 --count 2500 --rate 1000 --timeout 10)
sleep 1
expect_rc "top eth0 -j" 0 sc top eth0 -i 3 -c 1 -j
echo "$OUT" >"$TMP/top.json"
expect_rc "softnet -j" 0 sc softnet -i 1 -c 1 -j
echo "$OUT" >"$TMP/softnet.json"
host_traffic_wait "$id" >/dev/null
top_rx() { jq "[.devices[] | select(.device == \"eth0\" and .direction == \"rx\") | .queues[] | $1]" "$TMP/top.json"; }
expect_ge "top counted eth0's rx frames (3 s at 1000/s)" "$(top_rx .interval_packets | jq add)" 1000
expect_ge "... on the driver's queues (queues with frames)" "$(top_rx 'select(.interval_packets > 0)' | jq length)" 3
verified "top (tp_btf net_dev_start_xmit, netif_receive_skb)"
verify_begin
expect_ge "softnet processed frames" "$(jq .total.processed "$TMP/softnet.json")" 1
verified "softnet"

echo "== remap with each lookup method"
verify_begin
for lookup in map global const; do
	sc teardown eth0 >/dev/null
	verify_begin
	expect_rc "setup --lookup $lookup" 0 sc setup eth0 --lookup $lookup
	expect_rc "remap rx queue 0 -> shard 1 ($lookup)" 0 sc remap eth0 0 1
	expect_eq "... prints one line, no libbpf chatter" "$ERR" ""
	d0=$(drv_rx_all)
	traffic 100 >/dev/null
	d1=$(drv_rx_all)
	q=($(sub "$d0" "$d1"))
	got=$(J '[.shards[].packets] | map(tostring) | join(" ")')
	expect_eq "$lookup: shard 1 carries rx queues 0 and 1, shard 0 nothing" "$got" \
		"0 $((q[0] + q[1])) ${q[2]} ${q[3]}"
	verified "lookup $lookup, remap"
done
sc teardown eth0 >/dev/null

echo "== --attach tc, --shard-qdisc"
verify_begin
expect_rc "setup --attach tc --shard-qdisc" 0 sc setup eth0 --attach tc --shard-qdisc "htb rate 500mbit"
expect_eq "every shard veth has the htb root" "$(for i in 0 1 2 3; do tc qdisc show dev eth0-s$i | grep -c '^qdisc htb .* root'; done | xargs)" "1 1 1 1"
OUT=$(traffic 50); rc=$?
expect_eq "frames go round through the shard qdiscs" "$rc" 0
expect_eq "the shard qdiscs counted them" "$(for i in 0 1 2 3; do tc -s -j qdisc show dev eth0-s$i | jq '.[] | select(.root) | .packets'; done | paste -sd+ | bc)" 200
verified "--shard-qdisc"
expect_rc "status --prometheus" 0 sc status eth0 --prometheus
expect_match "... exports per-shard counters" "$OUT" "shardctl_shard_packets"
expect_rc "teardown eth0" 0 sc teardown eth0
expect_snapshot "teardown: the guest is as before setup" "$BEFORE"
# From the first setup on: the frames, status against the driver, teardown.
V_F0=$SETUP_F0 verified "setup, status, teardown (clsact + cls_bpf)"

echo "== --shard-prog: a user's tc program at every shard's egress"
verify_begin
# Compiled in the guest, by the host's clang on the shared root.
clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
	-c "$TOP/tests/progs/shard_egress.bpf.c" -o "$TMP/eg.o"
expect_rc "setup --shard-prog eg_drop" 0 sc setup eth0 --shard-prog "$TMP/eg.o:eg_drop"
OUT=$(traffic 25 --timeout 2)
expect_eq "the dropping program really runs on every shard (all 100 lost)" "$(jq -r .lost <<<"$OUT")" 100
expect_rc "teardown" 0 sc teardown eth0
expect_snapshot "... the guest is as before setup" "$BEFORE"
verified "--shard-prog"

echo "== bpfstat"
verify_begin
sc bpfstat -d 4 -j >"$TMP/bpfstat.json" 2>/dev/null &
bp=$!
sleep 1.5
sc setup eth0 >/dev/null && sc remap eth0 0 2 && sc teardown eth0 >/dev/null
wait "$bp"
expect_eq "bpfstat exits 0" "$?" 0
expect_ge "bpfstat saw the map updates of setup and remap" \
	"$(jq '[.commands[] | select(.name == "BPF_MAP_UPDATE_ELEM") | .count] | add // 0' "$TMP/bpfstat.json")" 1
verified "bpfstat"

echo "== check"
verify_begin
"$SHARDCTL" check eth0 -s 0 -j >"$TMP/check.json"
rc=$?
expect_match "check eth0 exits 0 (nothing to do) or 3 (action suggested)" "$rc" "^(0|3)$"
lltx_ethtool=$(ethtool -k eth0 | awk '$1 == "tx-lockless:" { print ($2 == "on") }')
expect_eq "check reads eth0's tx-lockless where the BPF probe cannot (no 6.2 kfunc)" \
	"$(jq -r '.path[] | select(.device == "eth0") | (.lltx | if . then 1 else 0 end | tostring) + " " + .lltx_from + " " + (.tx_queues | tostring)' "$TMP/check.json")" \
	"$lltx_ethtool ethtool 4"
verified "check (tx-lockless from ethtool)"

echo "== contention and mq under load from the guest"
verify_begin
# eth0 with a shared htb root and 500 non-matching filters (netns/contended.sh's
# configuration), and two pinned senders transmitting out of it.
ip addr add 198.18.0.1/24 dev eth0
ip neigh replace 198.18.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent
tc qdisc replace dev eth0 root handle 1: htb default 0
for ((i = 0; i < 500; i++)); do
	echo "filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst 198.19.$((i / 250)).$((i % 250 + 1))/32 flowid 1:1"
done | tc -batch -
tree() { for c in qdisc class filter; do tc "$c" show dev eth0; done | sed -E 's/ direct_packets_stat [0-9]+//'; }
ORIG=$(tree)
load() { "$TOP/$O/netns/blast" --dst 198.18.0.2 --cpus 0,1 --duration "$1" -j >"$TMP/load.json" 2>&1; }
load 8 &
lp=$!
sleep 1
expect_rc "contention eth0 under load" 0 sc contention eth0 -d 3 -j
wait "$lp"
echo "$OUT" >"$TMP/c.json"
expect_eq "lock tracepoints attached (6.1's contention_begin/end)" "$(jq .lock_events.available "$TMP/c.json")" true
expect_ge "the sampler took samples" "$(jq .sampler.counts.samples "$TMP/c.json")" 100
expect_eq "the root qdisc is the htb" "$(jq -r '.qdiscs[0].kind + " " + .qdiscs[0].handle' "$TMP/c.json")" "htb 1:"
expect_ge "the root qdisc counted the senders' packets" "$(jq .qdiscs[0].packets "$TMP/c.json")" 1000
expect_eq "a top stack is in the transmit path" \
	"$(jq '[.sampler.top_stacks[].frames | join(" ") | test("__dev_queue_xmit|sch_direct_xmit|__dev_xmit_skb")] | any' "$TMP/c.json")" true
verified "contention (perf_event sampler, lock tracepoints)"
verify_begin
# check loads top's and the sampler's programs before its window opens,
# seconds under TCG: the load outlasts that, and the wait below ends it.
load 15 &
lp=$!
sleep 1
expect_rc "check eth0 under load: action (the shared htb root)" 3 sc check eth0 -s 2 -j
wait "$lp"
echo "$OUT" >"$TMP/ck.json"
expect_eq "check timed the root lock over its sample" "$(jq .sample.root_lock.measured "$TMP/ck.json")" true
expect_eq "... with frames through the root" "$(jq '.sample.root_lock.pps > 0' "$TMP/ck.json")" true
expect_eq "... and a ceiling, where it gives one, of at least what the root carried" \
	"$(jq '.sample.root_lock | .ceiling_pps == null or .ceiling_pps >= .pps' "$TMP/ck.json")" true
verified "check times a shared root's lock (the contention sampler)"
verify_begin
load 10 &
lp=$!
sleep 1
expect_rc "mq eth0 under load" 0 sc mq eth0 -d 2 -j
wait "$lp"
expect_eq "... replaced the htb" "$(jq -r '.replaced_kind + " " + .replaced_handle' <<<"$OUT")" "htb 1:"
expect_eq "... with mq and one child per tx queue" \
	"$(tc qdisc show dev eth0 | awk '$4 == "root" {print $2} $4 == "parent" {n++} END {print n}' | xargs)" "mq 4"
expect_eq "both windows measured the same way" \
	"$(jq '[.before, .after] | map(.sampler.frequency_hz) | unique | length' <<<"$OUT")" 1
expect_rc "mq --revert" 0 sc mq eth0 --revert
expect_eq "... restored the tree exactly" "$(tree)" "$ORIG"
expect_eq "... and left nothing in /run/shardctl" "$(ls -A /run/shardctl 2>/dev/null | wc -l)" 0
verified "mq, mq --revert"
tc qdisc del dev eth0 root
ip neigh del 198.18.0.2 dev eth0
ip addr del 198.18.0.1/24 dev eth0

echo "== ethtool -L under a set-up NIC"
verify_begin
# A channel change gives the re-activated tx queues fresh default children
# (virtio-net, 6.1): cycle once first, so the snapshot below differs only by
# what shardctl does.
ethtool -L eth0 combined 2 && ethtool -L eth0 combined 4
BEFORE=$(snapshot)
expect_rc "setup eth0" 0 sc setup eth0
ethtool -L eth0 combined 2
expect_eq "the driver now has 2 active channels" "$(ethtool -l eth0 | awk '/^Combined:/ {print $2}' | tail -1)" 2
d0=$(drv_rx_all)
OUT=$(traffic 100); rc=$?
expect_eq "frames on the 2 remaining queues still go round" "$rc" 0
q=($(sub "$d0" "$(drv_rx_all)"))
expect_eq "... the driver used only queues 0 and 1" "$((q[2] + q[3]))" 0
echo "status after ethtool -L combined 2:"; sc status eth0 | sed 's/^/  | /'
expect_eq "status: the setup no longer matches the driver" "$(J .problem)" \
	"eth0 now has 2 active rx queues, the setup covers 4: shards 2-3 have no rx queue; run 'shardctl setup eth0' to follow it"
expect_rc "a setup re-run follows the driver's 2 channels" 0 sc setup eth0 -j
expect_eq "... 2 shards, complete" "$(jq -r '[.nr_shards, .complete] | @tsv' <<<"$OUT")" "$(printf '2\ttrue')"
shards_rx() { J '[.shards[].packets] | map(tostring) | join(" ")'; }
d0=$(drv_rx_all); s0=$(shards_rx); OUT=$(traffic 100); rc=$?
expect_eq "... and frames go round through the 2 shards" "$rc" 0
q=($(sub "$d0" "$(drv_rx_all)")) s=($(sub "$s0" "$(shards_rx)"))
expect_eq "... each shard counted what the driver got on its queue" "${s[*]}" "${q[0]} ${q[1]}"
verified "setup re-run follows the NIC's queue count"
# watch hears ethtool -L from ethtool netlink's channel notification.
verify_begin
"$SHARDCTL" watch eth0 -j >"$TMP/watch.json" 2>"$TMP/watch.err" &
wpid=$!
for _ in $(seq 50); do [ -s "$TMP/watch.json" ] && break; sleep 0.1; done
expect_eq "watch finds eth0 set up" "$(jq -r .action "$TMP/watch.json" | head -1)" ready
ethtool -L eth0 combined 4
for _ in $(seq 100); do [ "$(wc -l <"$TMP/watch.json")" -ge 2 ] && break; sleep 0.1; done
LAST=$(sed -n 2p "$TMP/watch.json")
expect_eq "watch follows ethtool -L combined 4" "$(jq -r '[.action, .was_shards, .shards] | @tsv' <<<"$LAST")" \
	"$(printf 'followed\t2\t4')"
ms=$(jq -r '.since_change_ms | floor' <<<"$LAST")
# A figure, not an assertion (TCG is slow): bench/converge measures it on the host.
echo "  (converged ${ms} ms after the ethtool netlink notice, under TCG)"
d0=$(drv_rx_all); s0=$(shards_rx); OUT=$(traffic 100); rc=$?
expect_eq "... every frame on the 4 queues goes round" "$rc" 0
expect_eq "... each shard counted what the driver got on its queue" \
	"$(sub "$s0" "$(shards_rx)")" "$(sub "$d0" "$(drv_rx_all)")"
kill -TERM "$wpid"; wait "$wpid"
expect_eq "watch stops on SIGTERM with exit 0" "$?" 0
verified "watch follows queue count changes"
expect_rc "teardown after the channel change" 0 sc teardown eth0
expect_snapshot "the guest is as before setup" "$BEFORE"
expect_eq "nothing left in /run/shardctl" "$(ls -A /run/shardctl 2>/dev/null | wc -l)" 0

echo "== watch repairs, on the real driver"
verify_begin
"$SHARDCTL" watch eth0 -j >"$TMP/w2.json" 2>"$TMP/w2.err" &
wpid=$!
# w2_action N: the N-th action once it is there (at most 20 s: TCG is slow).
w2_action() { for _ in $(seq 200); do [ "$(wc -l <"$TMP/w2.json")" -ge "$1" ] && break; sleep 0.1; done; sed -n "${1}p" "$TMP/w2.json"; }
expect_eq "watch sets eth0 up" "$(w2_action 1 | jq -r .action)" setup
ip link del eth0-s1
expect_match "a deleted shard device is repaired" "$(w2_action 2 | jq -r '"\(.action): \(.message)"')" \
	"^repaired: eth0: repaired: shard 1: veth pair missing"
ip link set eth0-r2 down
expect_match "a downed shard device is repaired" "$(w2_action 3 | jq -r '"\(.action): \(.message)"')" \
	"^repaired: eth0: repaired: shard 2: eth0-r2 is down"
rm -f "$(J .pin_dir)"/*
expect_match "removed pins are repaired (by the probe: nothing announces them)" \
	"$(w2_action 4 | jq -r '"\(.action): \(.message)"')" "^repaired: .*no pinned state"
# A driver reload: the NIC goes away and comes back as eth0 with a new ifindex.
old=$(J .ifindex)
modprobe -r virtio_net && modprobe virtio_net
for _ in $(seq 100); do ip link show eth0 >/dev/null 2>&1 && break; sleep 0.1; done
sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
ip link set eth0 up
for _ in $(seq 200); do jq -e 'select(.action == "repaired" and .replaced_ifindex != null)' "$TMP/w2.json" >/dev/null 2>&1 && break; sleep 0.1; done
LAST=$(jq -c 'select(.replaced_ifindex != null)' "$TMP/w2.json" | tail -1)
expect_match "a reloaded driver (new ifindex, same name) is set up again" "$(jq -r .message <<<"$LAST")" \
	"the NIC was replaced \(ifindex $old -> [0-9]+\): removed the old setup"
expect_eq "... for the new ifindex" "$(J .ifindex)" "$(jq -r .ifindex <<<"$LAST")"
expect_eq "... complete, with no device of the old NIC left" \
	"$(J .complete)/$(ip -o link show | grep -c "nic=$old ")" "true/0"
OUT=$(traffic 50); rc=$?
expect_eq "... and frames go round through it" "$rc" 0
kill -TERM "$wpid"; wait "$wpid"
expect_eq "watch stops on SIGTERM with exit 0" "$?" 0
verified "watch repairs (shard deleted or down, pins removed, NIC replaced)"
expect_rc "teardown" 0 sc teardown eth0

rm -rf "$TMP"
echo "guest pass: $FAILS failed"
[ "$FAILS" -eq 0 ]
