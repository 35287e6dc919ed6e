#!/usr/bin/env bash
# The namespace testbed and mqtap on their own, without shardctl: a u32 +
# mirred filter hairpins every frame from the TAP's ingress back out of the
# TAP, so whatever mqtap writes must come back byte for byte. A deliberate
# break (no filter, a duplicating filter) must make mqtap fail, or its
# passes would mean nothing.
. "$(dirname "$0")/lib.sh"
need_root

NS=sct$$a
NS_B=sct$$b
PIDFILE=/run/shardctl-testbed/$NS.pid
defer "$TESTBED" down "$NS_B"
defer "$TESTBED" down "$NS"
defer rm -f /tmp/t_testbed.$$
defer bg_stop_all TERM

hairpin() {
	in_ns tc filter del dev nic0 ingress 2>/dev/null
	in_ns tc filter add dev nic0 ingress protocol all u32 match u32 0 0 "$@"
}
# Attached (IFLA_TUN_NUM_QUEUES) and detached (IFLA_TUN_NUM_DISABLED_QUEUES)
# queues of nic0 in NS, default $NS.
active_queues() { ip -n "${1:-$NS}" -d link show dev nic0 | sed -n 's/.* numqueues \([0-9]*\) .*/\1/p'; }
disabled_queues() { ip -n "${1:-$NS}" -d link show dev nic0 | sed -n 's/.* numdisabled \([0-9]*\) .*/\1/p'; }
sysfs_queues() { ip netns exec "${2:-$NS}" sh -c "ls -d /sys/class/net/nic0/queues/$1-*" | wc -l; }
link_state() { ip netns exec "$NS" sh -c 'cd /sys/class/net/nic0 && echo $(cat ifindex carrier operstate)'; }
# The root mq lists one child qdisc per tx queue the device has now.
mq_children() { in_ns tc qdisc show dev nic0 | grep -c ' parent :[0-9a-f]* '; }
# Which rx queue the kernel recorded: one hairpin filter per queue, in classic
# BPF, matches skb->queue_mapping (rx queue + 1, through SKF_AD_QUEUE), so its
# counter is what arrived on that rx queue. Re-adding them zeroes the counters.
rxq_hairpin() {
	in_ns tc filter del dev nic0 ingress 2>/dev/null
	for q in 0 1 2 3; do
		in_ns tc filter add dev nic0 ingress pref $((q + 1)) protocol all bpf \
			bytecode "4,32 0 0 4294963224,21 0 1 $((q + 1)),6 0 0 4294967295,6 0 0 0" \
			action mirred egress redirect dev nic0
	done
}
rxq_counts() {
	in_ns tc -s filter show dev nic0 ingress | sed -n 's/.*Sent [0-9]* bytes \([0-9]*\) pkt.*/\1/p' | paste -sd' '
}
j() { jq -c "$1" <<<"$OUT"; }

echo "testbed up/down"
expect_rc "up" 0 "$TESTBED" up "$NS" --queues 4
expect_eq "up prints nothing" "$OUT$ERR" ""
expect_match "holder pid file" "$(cat "$PIDFILE" 2>/dev/null)" '^[0-9]+$'
HOLDER=$(cat "$PIDFILE" 2>/dev/null)
expect_eq "4 active queues (IFLA_TUN_NUM_QUEUES)" "$(active_queues)" 4
# ip netns exec mounts the namespace's own sysfs: an independent view.
expect_eq "4 rx queues in the netns's sysfs" "$(sysfs_queues rx)" 4
expect_eq "4 tx queues in the netns's sysfs" "$(sysfs_queues tx)" 4
expect_eq "listed" "$("$TESTBED" list | grep "^$NS ")" "$NS $HOLDER running"
expect_rc "second up refused" 1 "$TESTBED" up "$NS"
expect_rc "up that fails midway" 1 "$TESTBED" up "$NS_B" --mtu 65535
expect_match "it names the cause" "$ERR" "nic0 in $NS_B.*mtu 65535"
expect_eq "and leaves no namespace" "$(ip netns list | grep -cw "$NS_B")" 0
expect_eq "and no pid file" "$(ls /run/shardctl-testbed/"$NS_B".pid 2>/dev/null)" ""

echo "mqtap usage and errors"
expect_rc "unknown kind is a usage error" 2 "$MQTAP" traffic --ns "$NS" --kind bogus
expect_rc "queue beyond the TAP" 1 "$MQTAP" traffic --ns "$NS" --queues 4
expect_rc "no such testbed" 1 "$MQTAP" traffic --ns "$NS_B"
expect_match "names it" "$ERR" "$NS_B"

in_ns tc qdisc add dev nic0 clsact
hairpin action mirred egress redirect dev nic0

echo "every kind comes back intact through the hairpin"
for kind in udp4 udp6 vlan arp frag jumbo; do
	# The hairpin checks no MTU, but a jumbo frame is only legal with one.
	[ "$kind" = jumbo ] && in_ns ip link set dev nic0 mtu 9000
	expect_rc "$kind: exit 0" 0 "$MQTAP" traffic --ns "$NS" --kind "$kind" --count 50 --flows 4 -j
	expect_eq "$kind: sent" "$(j .sent)" 200
	expect_eq "$kind: received == sent" "$(j .received)" 200
	expect_eq "$kind: lost, corrupted, duplicated" "$(j '[.lost,.corrupted,.duplicated]')" "[0,0,0]"
	expect_eq "$kind: per queue" "$(j '[.queues[]|[.rxq,.received]]')" "[[0,50],[1,50],[2,50],[3,50]]"
done
# tun's flow table sends a flow back out of the queue it last came in on;
# only a flow's first frame, before the table knows it, may leave elsewhere.
expect_rc "udp4, 4 flows" 0 "$MQTAP" traffic --ns "$NS" --count 100 --flows 4 -j
expect_eq "each queue's frames leave on its own fd, bar first frames" \
	"$(j '[.queues[]|.out_queues[.rxq] >= .received - 4]|all')" true

echo "modes"
expect_rc "subset of queues" 0 "$MQTAP" traffic --ns "$NS" --queues 1,3 --count 20 -j
expect_eq "only those written" "$(j '[.queues[]|.rxq]')" "[1,3]"
expect_eq "out_queues covers all 4 fds" "$(j '.queues[0].out_queues|length')" 4
expect_rc "two pinned sender threads" 0 "$MQTAP" traffic --ns "$NS" --threads-cpus 0,1 --count 100 -j
expect_eq "both sent" "$(j '[.threads[]|.sent]')" "[200,200]"
expect_rc "continuous 1 s at 4000 pps" 0 "$MQTAP" traffic --ns "$NS" --duration 1 --rate 4000 -j
expect_ge "about 4000 sent" "$(j .sent)" 3600
expect_eq "none lost" "$(j '[.lost,(.queues|map(.max_lost_run)|max)]')" "[0,0]"
expect_rc "queue fds over the holder's socket" 0 env MQTAP_NO_PIDFD=1 "$MQTAP" traffic --ns "$NS" --count 20 -j
expect_eq "same queues" "$(j '[.tap_queues,.received]')" "[4,80]"
expect_rc "send only" 0 "$MQTAP" traffic --ns "$NS" --no-read --count 20 -j
expect_eq "unverified counts are null" "$(j '[.verified,.sent,.lost]')" "[false,80,null]"

# Frames the kernel itself sends out of the TAP are counted, not failures.
in_ns ip addr add 198.18.255.1/15 dev nic0
bg_start -o /tmp/t_testbed.$$ -e - traffic "$MQTAP" traffic --ns "$NS" --duration 1.5 --rate 1000 -j
sleep 0.5
# A datagram to an unresolved neighbour makes the kernel send an ARP request.
in_ns bash -c 'echo x >/dev/udp/198.18.0.77/9'
bg_join traffic
expect_eq "foreign frames (our ARP requests) exit 0" "$?" 0
OUT=$(cat /tmp/t_testbed.$$); rm -f /tmp/t_testbed.$$
expect_ge "foreign counted" "$(j .foreign)" 1
expect_eq "nothing lost meanwhile" "$(j .lost)" 0
in_ns ip addr del 198.18.255.1/15 dev nic0

echo "a broken hairpin fails the check"
in_ns tc filter del dev nic0 ingress
expect_rc "no filter: exit 1" 1 "$MQTAP" traffic --ns "$NS" --count 20 --timeout 0.5 -j
expect_eq "lost == sent, nothing received" "$(j '[.lost == .sent, .received]')" "[true,0]"
expect_eq "longest lost run is the whole queue" "$(j '[.queues[]|.max_lost_run]')" "[20,20,20,20]"
hairpin action mirred egress mirror dev nic0 action mirred egress redirect dev nic0
expect_rc "duplicating filter: exit 1" 1 "$MQTAP" traffic --ns "$NS" --count 20 -j
expect_eq "duplicated == sent" "$(j '[.duplicated,.received,.lost]')" "[80,80,0]"

echo "traffic left the holder's queues alone"
expect_eq "still 4 active queues" "$(active_queues)" 4
expect_eq "same holder" "$(cat "$PIDFILE" 2>/dev/null)" "$HOLDER"

# What ethtool -L does on a NIC: the holder keeps all 4 queue fds, only the
# attached ones are active, and the kernel's queue counts follow.
echo "mqtap queues: fewer active queues, and back"
rxq_hairpin
LINK0=$(link_state)
expect_rc "--active 2" 0 "$MQTAP" queues --ns "$NS" --active 2
expect_eq "prints nothing" "$OUT$ERR" ""
expect_eq "2 active queues, 2 detached (not closed)" "$(active_queues) $(disabled_queues)" "2 2"
expect_eq "2 rx queues in the netns's sysfs" "$(sysfs_queues rx)" 2
expect_eq "2 tx queues in the netns's sysfs" "$(sysfs_queues tx)" 2
expect_eq "mq lists a child for the 2 tx queues only" "$(mq_children)" 2
expect_eq "same ifindex, carrier and operstate" "$(link_state)" "$LINK0"
expect_rc "traffic with no --queues" 0 "$MQTAP" traffic --ns "$NS" --count 50 --flows 4 -j
expect_eq "writes queues 0-1, and all comes back" "$(j '[.queues[]|[.rxq,.sent,.received]]')" "[[0,50,50],[1,50,50]]"
expect_eq "tap_queues is the attached ones; none lost" "$(j '[.tap_queues,.lost,.corrupted,.duplicated]')" "[2,0,0,0]"
expect_eq "out_queues covers the 2 attached fds" "$(j '.queues[0].out_queues|length')" 2
expect_eq "recorded as rx queues 0 and 1" "$(rxq_counts)" "50 50 0 0"
expect_rc "--queues 0-1" 0 "$MQTAP" traffic --ns "$NS" --queues 0-1 --count 20 -j
expect_rc "--queues naming detached queue 3 is a usage error" 2 "$MQTAP" traffic --ns "$NS" --queues 1,3 --count 20
expect_match "names the queue" "$ERR" "queue 3 of nic0 in $NS is detached"
expect_eq "and nothing was written" "$(rxq_counts)" "70 70 0 0"
expect_rc "queue 4 is still beyond the TAP" 1 "$MQTAP" traffic --ns "$NS" --queues 4
expect_rc "-j with nothing to change" 0 "$MQTAP" queues --ns "$NS" --active 2 -j
expect_eq "reports active and allocated" "$OUT" '{"active":2,"allocated":4}'
expect_rc "--active 3 over the holder's socket" 0 env MQTAP_NO_PIDFD=1 "$MQTAP" queues --ns "$NS" --active 3
expect_eq "3 rx queues in sysfs" "$(sysfs_queues rx)" 3
expect_rc "--active 1" 0 "$MQTAP" queues --ns "$NS" --active 1
expect_eq "1 rx and 1 tx queue in sysfs" "$(sysfs_queues rx) $(sysfs_queues tx)" "1 1"
# Three attaches in one run: tun numbers them in the order they come.
expect_rc "--active 4" 0 "$MQTAP" queues --ns "$NS" --active 4
expect_eq "4 active, none detached" "$(active_queues) $(disabled_queues)" "4 0"
expect_eq "4 rx and 4 tx queues in sysfs" "$(sysfs_queues rx) $(sysfs_queues tx)" "4 4"
expect_eq "mq lists 4 children again" "$(mq_children)" 4
expect_eq "still the same link" "$(link_state)" "$LINK0"
rxq_hairpin
expect_rc "traffic on all four" 0 "$MQTAP" traffic --ns "$NS" --count 50 --flows 4 -j
expect_eq "all four queues carry frames, all back" "$(j '[.queues[]|[.rxq,.received]]')" "[[0,50],[1,50],[2,50],[3,50]]"
# 10(i+1) frames into queue fd i: a count shows up where the kernel recorded it.
rxq_hairpin
for q in 0 1 2 3; do
	"$MQTAP" traffic --ns "$NS" --queues "$q" --count $((10 * (q + 1))) >/dev/null
done
expect_eq "queue fd i is rx queue i again" "$(rxq_counts)" "10 20 30 40"

echo "mqtap queues: refusals"
for bad in 0 x -1 ""; do
	expect_rc "--active '$bad' is a usage error" 2 "$MQTAP" queues --ns "$NS" --active "$bad"
done
expect_rc "--active 5, one more than the TAP has, is a usage error" 2 "$MQTAP" queues --ns "$NS" --active 5
expect_match "it names the 4 queues" "$ERR" "5 is more than the 4 queues of nic0 in $NS"
expect_rc "no --active is a usage error" 2 "$MQTAP" queues --ns "$NS"
expect_rc "no such testbed" 1 "$MQTAP" queues --ns "$NS_B" --active 2
expect_match "names it" "$ERR" "$NS_B"
ip netns add "$NS_B"
expect_rc "a namespace without a holder" 1 "$MQTAP" queues --ns "$NS_B" --active 2
expect_match "says so" "$ERR" "$NS_B: no testbed holder"
ip netns del "$NS_B"
expect_eq "the refusals changed nothing" "$(active_queues) $(disabled_queues)" "4 0"

echo "mqtap hold --active"
expect_rc "--active above --queues is a usage error" 2 "$MQTAP" hold --ns "$NS_B" --dev nic0 --queues 2 --active 3
ip netns add "$NS_B"
expect_rc "--queues 4 --active 2" 0 "$MQTAP" hold --ns "$NS_B" --dev nic0 --queues 4 --active 2
expect_eq "2 active, 2 detached" "$(active_queues "$NS_B") $(disabled_queues "$NS_B")" "2 2"
expect_eq "2 rx queues in sysfs" "$(sysfs_queues rx "$NS_B")" 2
expect_rc "queues sees 4 allocated" 0 "$MQTAP" queues --ns "$NS_B" --active 2 -j
expect_eq "active 2 of 4" "$OUT" '{"active":2,"allocated":4}'
HOLDER_B=$(cat "/run/shardctl-testbed/$NS_B.pid" 2>/dev/null)
expect_match "its pid file" "$HOLDER_B" '^[0-9]+$'
expect_rc "down with detached queues" 0 "$TESTBED" down "$NS_B"
expect_eq "holder gone" "$(kill -0 "$HOLDER_B" 2>/dev/null && echo alive)" ""

echo "testbed down"
expect_rc "down" 0 "$TESTBED" down "$NS"
expect_eq "down prints nothing" "$OUT$ERR" ""
expect_eq "no namespace" "$(ip netns list | grep -cw "$NS")" 0
expect_eq "no pid file" "$(ls "$PIDFILE" 2>/dev/null)" ""
expect_eq "holder gone" "$(kill -0 "$HOLDER" 2>/dev/null && echo alive)" ""
expect_rc "down again is quiet" 0 "$TESTBED" down "$NS"
expect_eq "and silent" "$OUT$ERR" ""
