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
cleanup() {
	"$TESTBED" down "$NS" >/dev/null 2>&1
	"$TESTBED" down "$NS_B" >/dev/null 2>&1
}
trap cleanup EXIT

hairpin() {
	in_ns tc filter del dev nic0 ingress 2>/dev/null
	in_ns tc filter add dev nic0 ingress protocol all u32 match u32 0 0 "$@"
}
active_queues() { in_ns ip -d link show dev nic0 | sed -n 's/.* numqueues \([0-9]*\) .*/\1/p'; }
sysfs_queues() { ip netns exec "$NS" sh -c "ls -d /sys/class/net/nic0/queues/$1-*" | wc -l; }
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
"$MQTAP" traffic --ns "$NS" --duration 1.5 --rate 1000 -j >/tmp/t_testbed.$$ &
TPID=$!
sleep 0.5
# A datagram to an unresolved neighbour makes the kernel send an ARP request.
in_ns bash -c 'echo x >/dev/udp/198.18.0.77/9'
wait $TPID
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

echo "testbed down"
expect_rc "down" 0 "$TESTBED" down "$NS"
expect_eq "down prints nothing" "$OUT$ERR" ""
expect_eq "no namespace" "$(ip netns list | grep -cw "$NS")" 0
expect_eq "no pid file" "$(ls "$PIDFILE" 2>/dev/null)" ""
expect_eq "holder gone" "$(kill -0 "$HOLDER" 2>/dev/null && echo alive)" ""
expect_rc "down again is quiet" 0 "$TESTBED" down "$NS"
expect_eq "and silent" "$OUT$ERR" ""
