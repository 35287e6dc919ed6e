#!/usr/bin/env bash
# shardctl softnet: frames written into the TAP testbed's rx queues go
# through __netif_receive_skb_core(), which counts each in softnet_stat's
# "processed" column of the receiving CPU; the deltas softnet reports must
# add up to at least the frames sent (other host traffic only adds).
# Plus the net.core knobs, Prometheus output, and the advice logic on
# synthetic counters (tests/unit/observe.c).
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$sn
TMP=$(mktemp -d /tmp/sc-softnet.XXXXXX)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS"
defer bg_stop_all TERM

# softnet_stat is host-wide; the command runs in the host namespace, where
# the global net.core knobs are visible too.
start_softnet() {
	bg_start -o "$TMP/sn.out" -e "$TMP/sn.err" softnet "$SHARDCTL" softnet "$@"
	bg_wait_line softnet err "sampling" 10
}
stop_softnet() { bg_stop softnet INT; SN_RC=$?; }
js() { jq -r "$1" "$TMP/sn.out"; }

"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }

echo "usage"
expect_rc "a positional argument is a usage error" 2 "$SHARDCTL" softnet eth0
expect_rc "interval 0 is a usage error" 2 "$SHARDCTL" softnet -i 0
expect_rc "help exits 0" 0 "$SHARDCTL" softnet --help
expect_match "help explains time_squeeze" "$OUT" "netdev_budget"

echo "deltas cover the frames processed"
N=500
if start_softnet --interval 120 -j; then
	pass "softnet takes its baseline"
	"$MQTAP" traffic --ns "$NS" --count $N --no-read >/dev/null || fail "traffic" "mqtap failed"
	stop_softnet
	expect_eq "softnet exits 0 after SIGINT" "$SN_RC" 0
	expect_ge "processed delta >= the $((4 * N)) frames sent" "$(js .total.processed)" $((4 * N))
	expect_eq "total = sum over CPUs" "$(js '[.cpus[].processed] | add')" "$(js .total.processed)"
	expect_eq "one row per online CPU" "$(js '.cpus | length')" "$(grep -c . /proc/net/softnet_stat)"
	expect_eq "netdev_budget as in /proc/sys" "$(js .sysctl.netdev_budget)" \
		"$(cat /proc/sys/net/core/netdev_budget)"
	expect_eq "netdev_max_backlog as in /proc/sys" "$(js .sysctl.netdev_max_backlog)" \
		"$(cat /proc/sys/net/core/netdev_max_backlog)"
	expect_match "advice is given" "$(js '.advice[0].kind')" "^(fine|raise_budget|backlog|flow_limit)$"
	verified "softnet"
else
	fail "softnet takes its baseline" "$(cat "$TMP/sn.err")"
fi

echo "human output, several intervals"
expect_rc "softnet -c 2 -i 0.2 exits 0" 0 "$SHARDCTL" softnet -c 2 -i 0.2
expect_eq "two tables" "$(grep -c '^CPU ' <<<"$OUT")" 2
expect_match "the knobs are shown" "$OUT" "net.core: netdev_budget=[0-9]+ netdev_budget_usecs=[0-9]+ netdev_max_backlog=[0-9]+"

echo "from a test namespace the global knobs may be hidden"
expect_rc "softnet in a network namespace still works" 0 sc softnet -j -i 0.1
expect_match "sysctl is an object or null" "$(jq -c .sysctl <<<"$OUT")" '^(null|\{.*\})$'

echo "prometheus"
expect_rc "softnet --prometheus exits 0" 0 "$SHARDCTL" softnet --prometheus -i 0.2
PROM=$OUT
printf '%s\n' "$PROM" >"$TMP/sn.prom"
expect_rc "textfile-collector rules promtool does not check (no timestamps, no duplicate series)" 0 \
	"$TOP/$O/tests/prom" --check "$TMP/sn.prom"
expect_match "per-CPU processed counter" "$PROM" 'shardctl_softnet_processed_total\{cpu="0"\} [0-9]+'
expect_match "budget in seconds (base unit)" "$PROM" 'shardctl_netdev_budget_seconds [0-9.e-]+'
expect_rc "promtool check metrics: parses, no lint finding" 0 promtool check metrics <"$TMP/sn.prom"
expect_eq "... (promtool printed nothing)" "$ERR$OUT" ""

echo "unit: balance figures, softnet advice, bpfstat histogram layout"
RESULTS=$RESULTS "$TOP/$O/tests/observe" >/dev/null || true
