#!/usr/bin/env bash
# The three lookup methods carry frames; remap re-points an rx queue while
# frames flow and loses none (every sequence number comes back out of the
# TAP); out-of-range remaps are refused.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$l
defer "$TESTBED" down "$NS"
defer sc teardown
defer rm -f /tmp/.sc_remap.$$
defer bg_stop_all TERM
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }
veth_tx() { in_ns ip -s -j link show "$1" | jq -r '.[0].stats64.tx.packets'; }

for m in map global const; do
	expect_rc "setup --lookup $m" 0 sc setup nic0 --lookup "$m" -j
	expect_eq "status shows lookup $m" "$(jq -r .lookup <<<"$OUT")" "$m"
	"$MQTAP" traffic --ns "$NS" --count 100 --flows 4 >/dev/null
	expect_eq "$m: every frame back" "$?" 0
	expect_eq "$m: rx queue 2 on shard 2" "$(sc status nic0 -j | jq -r '.[0].shards[2].packets')" 100

	# Remap under traffic: rx queue 0 flips between shard 0 and shard 3
	# while mqtap sends 20000 frames/s into it for 3 s.
	s0=$(veth_tx nic0-s0); s3=$(veth_tx nic0-s3)
	bg_start -o /tmp/.sc_remap.$$ -e - traffic \
		"$MQTAP" traffic --ns "$NS" --queues 0 --duration 3 --rate 20000 --flows 8 -j
	flips=0
	sleep 0.2
	while bg_running traffic && [ $flips -lt 400 ]; do
		sc remap nic0 0 $(( (flips % 2) ? 0 : 3 )) >/dev/null || break
		flips=$((flips + 1))
	done
	bg_join traffic; rc=$?
	report=$(cat /tmp/.sc_remap.$$); rm -f /tmp/.sc_remap.$$
	echo "    $m: $flips remaps while sending $(jq -r .sent <<<"$report") frames"
	expect_ge "$m: remapped many times under traffic" "$flips" 10
	expect_eq "$m: remap under traffic loses no frame" "$(jq -r .lost <<<"$report")" 0
	expect_eq "$m: and corrupts none" "$(jq -r .corrupted <<<"$report")" 0
	expect_eq "$m: traffic tool agrees (exit 0)" "$rc" 0
	d0=$(( $(veth_tx nic0-s0) - s0 )); d3=$(( $(veth_tx nic0-s3) - s3 ))
	expect_ge "$m: shard 0 carried some of it" "$d0" 1
	expect_ge "$m: shard 3 carried some of it" "$d3" 1
	expect_eq "$m: the shards together carried every frame" "$((d0 + d3))" "$(jq -r .sent <<<"$report")"

	expect_rc "$m: remap to shard 3" 0 sc remap nic0 1 3
	"$MQTAP" traffic --ns "$NS" --queues 1 --count 50 >/dev/null
	expect_eq "$m: status shows the new mapping" "$(sc status nic0 -j | jq -r '.[0].rxq_map[1].shard')" 3
	expect_rc "$m: rx queue out of range" 1 sc remap nic0 4 0
	expect_match "$m: names the range" "$ERR" "rx queue 4 out of range \(it has 4: 0-3\)"
	expect_rc "$m: shard out of range" 1 sc remap nic0 0 9
	expect_rc "$m: non-numeric queue" 2 sc remap nic0 x 0
	expect_rc "teardown ($m)" 0 sc teardown
	verified "lookup $m, remap"
done
expect_rc "remap with nothing set up" 1 sc remap nic0 0 1
expect_match "says it is not set up" "$ERR" "nic0: not set up"

# --shards K: R rx queues onto fewer shards, rx queue i -> shard i % K.
expect_rc "setup --shards 2" 0 sc setup nic0 --shards 2 -j
expect_eq "2 shards" "$(jq -r .nr_shards <<<"$OUT")" 2
"$MQTAP" traffic --ns "$NS" --count 100 >/dev/null
expect_eq "--shards 2: every frame back" "$?" 0
expect_eq "--shards 2: shard 0 has rx queues 0 and 2" "$(sc status nic0 -j | jq -r '.[0].shards[0].packets')" 200
expect_eq "--shards 2: shard 1 has rx queues 1 and 3" "$(sc status nic0 -j | jq -r '.[0].shards[1].packets')" 200
expect_rc "teardown (--shards 2)" 0 sc teardown
