#!/usr/bin/env bash
# Frames that are not plain IPv4/UDP pass the shard path unchanged: IPv6,
# 802.1Q-tagged, ARP, IPv4 fragments and jumbo frames (the testbed NIC has
# MTU 9000, and the shards must take it over), each compared byte for byte.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$f
defer "$TESTBED" down "$NS"
defer sc teardown
"$TESTBED" up "$NS" --queues 4 --mtu 9000 || { fail "testbed up" "could not build the testbed"; exit 1; }

expect_rc "setup on an MTU 9000 NIC" 0 sc setup nic0 -j
expect_eq "shard veths take the NIC's MTU" "$(jq -r '[.shards[].mtu] | unique | join(",")' <<<"$OUT")" 9000
expect_eq "return ends too" "$(in_ns ip -j link show nic0-r0 | jq -r '.[0].mtu')" 9000

for kind in udp4 udp6 vlan arp frag jumbo; do
	OUT=$("$MQTAP" traffic --ns "$NS" --kind "$kind" --count 50 -j); rc=$?
	expect_eq "$kind: every frame back (exit 0)" "$rc" 0
	expect_eq "$kind: received == sent" "$(jq -r .received <<<"$OUT")" "$(jq -r .sent <<<"$OUT")"
	expect_ge "$kind: frames were sent" "$(jq -r .sent <<<"$OUT")" 200
	expect_eq "$kind: bytes unchanged" "$(jq -r .corrupted <<<"$OUT")" 0
done
expect_eq "every kind went through the shards, none bypassed them" \
	"$(sc status nic0 -j | jq -r '.[0] | [.shards[].packets] | add')" 1200

# A later MTU raise on the NIC makes the shards too small: status says so and
# a setup re-run repairs it.
in_ns ip link set nic0 mtu 9100
expect_eq "status flags shards below the NIC's MTU" "$(sc status nic0 -j | jq -r '.[0].complete')" false
expect_match "and names the MTU" "$(sc status nic0 -j | jq -r '.[0].problem')" "MTU 9000 below nic0's 9100"
expect_rc "setup again repairs it" 0 sc setup nic0 -j
expect_eq "shards now at 9100" "$(jq -r '[.shards[].mtu] | unique | join(",")' <<<"$OUT")" 9100
expect_eq "and complete" "$(jq -r .complete <<<"$OUT")" true
expect_rc "teardown" 0 sc teardown
