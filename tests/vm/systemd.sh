#!/usr/bin/env bash
# The systemd pass (tests/t_vm_systemd.sh boots it with netns/vm/run
# --systemd): systemd is PID 1 in the 6.1 guest and has started
# examples/shardctl@.service for eth0 at boot, as `systemctl enable` would
# on a host. This script runs after it, as a oneshot service, and checks
# what an operator relies on: frames go round after boot, `systemctl stop`
# tears down, a failing setup leaves the unit failed with the reason in the
# journal and nothing half made, and a restart converges. Then the daemon
# form, examples/shardctl-watch@.service (Type=notify): start returns when
# eth0 is sharded, it follows ethtool -L, stop tears down.
for kv in "$@"; do export "${kv?}"; done
source "$(dirname "$0")/../lib.sh"
source "$TOP/netns/vm/guest-lib.sh"
RESULTS=$VM_XCHG/results
T_NAME="t_vm_systemd[$(uname -r | cut -d. -f1,2)]"
DEVICE="virtio-net, QEMU"
SHARDCTL=/usr/local/sbin/shardctl	# what the unit runs (bare name, PATH)
U=shardctl@eth0.service
in_ns() { "$@"; }
J() { "$SHARDCTL" status eth0 -j | jq -r ".[0] | $1"; }
traffic() { host_traffic --streams 4 --flows 16 --count "$1" --rate 2000 --timeout "${2:-10}"; }
# Nothing of shardctl's on the guest: no shard device, no ingress filter, no pins, no lock.
nothing_left() {
	echo "links: $(ip -o link show | grep -c 'eth0-[sr][0-9]')" \
		"filters: $(tc filter show dev eth0 ingress | grep -c sc_in_)" \
		"pins: $(find /sys/fs/bpf/shardctl -mindepth 2 2>/dev/null | wc -l)" \
		"run: $(ls -A /run/shardctl 2>/dev/null | wc -l)"
}
NONE="links: 0 filters: 0 pins: 0 run: 0"

echo "== after boot"
verify_begin
expect_eq "systemd is PID 1" "$(ps -p 1 -o comm=)" systemd
expect_eq "$U is active after boot" "$(systemctl is-active "$U")" active
expect_eq "... it ran as the unit says (ExecStart=shardctl setup %I)" \
	"$(systemctl show -p ExecMainStatus --value "$U")" 0
expect_eq "eth0 is sharded: a complete setup" "$(J .complete)" true
expect_eq "... one shard per active rx queue" "$(J .nr_shards)" 4
OUT=$(traffic 250); rc=$?
expect_eq "frames go round: all 1000 back, byte for byte" "$rc/$(jq -r .received <<<"$OUT")" 0/1000
expect_eq "... through the shards" "$(J '[.shards[].packets] | add')" 1000
expect_match "systemctl status shows the setup's own report" \
	"$(systemctl status "$U" --no-pager -n 20)" "state: complete, ingress redirect active"

echo "== systemctl stop"
verify_begin
expect_rc "systemctl stop $U" 0 systemctl stop "$U"
expect_eq "... the unit is inactive" "$(systemctl is-active "$U")" inactive
expect_eq "... ExecStop tore everything down" "$(nothing_left)" "$NONE"
expect_match "... status agrees" "$("$SHARDCTL" status eth0 2>&1)" "nothing set up on eth0"
OUT=$(traffic 25 2)
expect_eq "... and no frame is redirected any more (all 100 stay in the guest)" "$(jq -r .received <<<"$OUT")" 0
verified "systemd unit (oneshot): boot, stop"

echo "== a failing setup"
ip addr add 198.18.7.1/24 dev eth0
expect_rc "systemctl start fails when setup refuses" 1 systemctl start "$U"
expect_eq "... the unit is failed" "$(systemctl is-failed "$U")" failed
expect_match "... journalctl -u names the reason" "$(journalctl -b -u "$U" -o cat --no-pager)" \
	"eth0: has 1 address"
expect_eq "... and nothing is half made" "$(nothing_left)" "$NONE"
ip addr del 198.18.7.1/24 dev eth0
systemctl reset-failed "$U"

echo "== restart converges"
verify_begin
expect_rc "systemctl start" 0 systemctl start "$U"
ip link del eth0-s1
expect_eq "a shard deleted by hand: status says incomplete" "$(J .complete)" false
expect_rc "systemctl restart" 0 systemctl restart "$U"
expect_eq "... converges to a complete setup" "$(J .complete)" true
OUT=$(traffic 100); rc=$?
expect_eq "... that carries every frame" "$rc/$(jq -r .received <<<"$OUT")" 0/400
# The unit's comment: options go in a drop-in, where systemd honours quotes.
mkdir -p "/etc/systemd/system/$U.d"
cat >"/etc/systemd/system/$U.d/qdisc.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=shardctl setup --shard-qdisc "tbf rate 1gbit burst 128k latency 5ms" %I
EOF
systemctl daemon-reload
expect_rc "a drop-in with a quoted qdisc spec, then restart" 0 systemctl restart "$U"
expect_match "... the shards carry the drop-in's qdisc" "$(J .shard_qdisc)" "^tbf rate 1000000000bit"
rm "/etc/systemd/system/$U.d/qdisc.conf"
systemctl daemon-reload
expect_rc "systemctl stop" 0 systemctl stop "$U"
expect_eq "... nothing left" "$(nothing_left)" "$NONE"
verified "systemd unit (oneshot): failure, restart"
echo "== the watch unit (Type=notify)"
verify_begin
W=shardctl-watch@eth0.service
# wait_shards N: until status says N shards, complete (at most 10 s).
wait_shards() { for _ in $(seq 100); do [ "$(J '[.complete, .nr_shards] | @tsv')" == "$(printf 'true\t%s' "$1")" ] && return; sleep 0.1; done; }
expect_rc "systemctl start $W returns once it is READY" 0 systemctl start "$W"
expect_eq "... eth0 is sharded by then" "$(J '[.complete, .nr_shards] | @tsv')" "$(printf 'true\t4')"
expect_eq "... the unit is active (running)" "$(systemctl show -p ActiveState,SubState --value "$W" | xargs)" "active running"
expect_match "... systemctl status shows the last action" "$(systemctl status "$W" --no-pager -n 0)" \
	'Status: "eth0: set up 4 shards for 4 rx queues"'
OUT=$(traffic 100); rc=$?
expect_eq "... frames go round" "$rc/$(jq -r .received <<<"$OUT")" 0/400
ethtool -L eth0 combined 2
wait_shards 2
expect_eq "the watch follows ethtool -L combined 2" "$(J '[.complete, .nr_shards] | @tsv')" "$(printf 'true\t2')"
expect_match "... one journal line says so" "$(journalctl -b -u "$W" -o cat --no-pager)" \
	"shardctl watch: eth0: followed the NIC: 4 rx queues / 4 shards -> 2 rx queues / 2 shards \([0-9]+ ms\)"
ethtool -L eth0 combined 4
wait_shards 4
expect_eq "... and back to 4" "$(J '[.complete, .nr_shards] | @tsv')" "$(printf 'true\t4')"
OUT=$(traffic 100); rc=$?
expect_eq "... every frame on the 4 queues goes round" "$rc/$(jq -r .received <<<"$OUT")" 0/400
expect_rc "shardctl teardown is refused while the unit runs" 1 "$SHARDCTL" teardown eth0
expect_match "... naming the watch" "$ERR" "kept by shardctl watch \(pid $(systemctl show -p MainPID --value "$W")\)"
expect_rc "systemctl stop $W" 0 systemctl stop "$W"
expect_eq "... --teardown-on-exit removed everything" "$(nothing_left)" "$NONE"
expect_match "... and the journal says so" "$(journalctl -b -u "$W" -o cat --no-pager)" "eth0: torn down \(4 shards\)"
verified "systemd unit (watch, Type=notify): ready, status, stop"
# The unit's shardctl runs under systemd: its sanitizer reports are in the journal.
expect_eq "no sanitizer report in the journal" \
	"$(journalctl -b -o cat --no-pager | grep -c 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:')" 0

echo "systemd pass: $FAILS failed"
[ "$FAILS" -eq 0 ]
