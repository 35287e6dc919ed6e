#!/usr/bin/env bash
# netns/contended.sh: a testbed whose NIC has one qdisc lock shared by every
# CPU, held long enough to see on two vCPUs (platform.md: a root htb with
# 500 non-matching u32 filters spins ~26% of CPU time on the root lock).
#
#   contended.sh up NS [--queues R] [--filters N] [--rate RATE]
#       testbed NS (multi-queue TAP nic0, R queues, default 4), 198.18.0.1/24
#       on nic0, a permanent neighbour 198.18.0.2 (so UDP leaves through
#       nic0 with no ARP), root htb 1: with no classes (every packet goes to
#       htb's direct queue: no rate limit) and N u32 filters that never match
#       (default 500): each packet is classified against all of them with
#       the root lock held. --rate adds class 1:1 limiting the device to
#       RATE (a device-wide limit, as `shardctl mq` must notice).
#   contended.sh load NS [--duration S] [--cpus LIST] [-j]
#       UDP from one pinned sender per CPU (default 0,1) out of nic0, S
#       seconds (default 5): build/netns/blast inside NS.
#   contended.sh down NS
#
# The TAP's holder does not read, so tun drops what it transmits once its
# ring is full (tx_dropped, after the qdisc): the lock is taken either way.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
TESTBED=${TESTBED:-$TOP/netns/testbed}
BLAST=${BLAST:-$TOP/$O/netns/blast}
DEV=nic0
ADDR=198.18.0.1/24
PEER=198.18.0.2
PEER_MAC=02:00:00:00:00:02

usage() {
	cat >&"$(( ${1:-2} == 0 ? 1 : 2 ))" <<-EOF
	Usage: contended.sh up NS [--queues R] [--filters N] [--rate RATE]
	       contended.sh load NS [--duration S] [--cpus LIST] [-j]
	       contended.sh down NS
	EOF
	exit "${1:-2}"
}

err() { echo "contended.sh: $*" >&2; }

# N u32 filters on 1: matching destinations in 198.19.0.0/16 that the load
# never uses, all at one priority: one classifier, one list walked linearly.
filters_batch() {
	local n=$1 i
	for ((i = 0; i < n; i++)); do
		echo "filter add dev $DEV parent 1: protocol ip prio 1 u32 match ip dst 198.19.$((i / 250)).$((i % 250 + 1))/32 flowid 1:1"
	done
}

cmd_up() {
	local ns=$1 queues=4 filters=500 rate=""
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--queues) [ $# -ge 2 ] || usage; queues=$2; shift 2 ;;
		--filters) [ $# -ge 2 ] || usage; filters=$2; shift 2 ;;
		--rate) [ $# -ge 2 ] || usage; rate=$2; shift 2 ;;
		*) usage ;;
		esac
	done
	[[ "$filters" =~ ^[0-9]+$ && "$filters" -le 60000 ]] || { err "--filters: 0..60000"; exit 2; }
	"$TESTBED" up "$ns" --queues "$queues" --dev "$DEV" || return 1
	if ! ip -n "$ns" addr add "$ADDR" dev "$DEV" ||
	   ! ip -n "$ns" neigh replace "$PEER" lladdr "$PEER_MAC" dev "$DEV" nud permanent ||
	   ! tc -n "$ns" qdisc replace dev "$DEV" root handle 1: htb default 0 ||
	   { [ -n "$rate" ] && ! tc -n "$ns" class add dev "$DEV" parent 1: classid 1:1 htb rate "$rate"; } ||
	   ! filters_batch "$filters" | tc -n "$ns" -batch -; then
		err "$ns: cannot build the contended configuration"
		"$TESTBED" down "$ns"
		return 1
	fi
}

cmd_load() {
	local ns=$1 duration=5 cpus=0,1 json=()
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--duration) [ $# -ge 2 ] || usage; duration=$2; shift 2 ;;
		--cpus) [ $# -ge 2 ] || usage; cpus=$2; shift 2 ;;
		-j) json=(-j); shift ;;
		*) usage ;;
		esac
	done
	[ -x "$BLAST" ] || { err "$BLAST: not built (make)"; return 1; }
	# Network namespace only: the sender needs nothing else of NS.
	nsenter --net="/var/run/netns/$ns" "$BLAST" --dst "$PEER" --cpus "$cpus" \
		--duration "$duration" "${json[@]}"
}

[ $# -ge 2 ] || usage
[ "$(id -u)" = 0 ] || { err "needs root"; exit 1; }
case "$1" in
up) cmd_up "${@:2}" ;;
load) cmd_load "${@:2}" ;;
down) [ $# -eq 2 ] || usage; "$TESTBED" down "$2" ;;
-h | --help | help) usage 0 ;;
*) usage ;;
esac
