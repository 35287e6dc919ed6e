#!/usr/bin/env bash
# Host bootstrap: shard the egress of the NICs named on the command line.
# Safe to run again at any time: a complete setup is confirmed, not redone,
# and a half-done one (a shard deleted by hand, a crash) is completed.
#
#   bootstrap.sh DEV...
#
# Environment:
#   SHARDCTL       the binary (default: shardctl from PATH)
#   SHARD_QDISC    root qdisc for every shard veth, in tc's words, e.g.
#                  "tbf rate 1gbit burst 128k latency 5ms" (default: none)
#   SHARDS         shard count (default: one per active rx queue)
#
# One-shot: it shards the NICs as they are now. Where a NIC's queues change
# later (operators running ethtool -L, driver resets, a NIC replaced under
# its name), run `shardctl watch DEV` instead, as a service
# (examples/shardctl-watch@.service): it follows each change within about
# 2 s. A re-run of this script also follows such a change, but only when
# something runs it.
#
# Exit status: 0 every device is sharded, 1 some device is not (each one is
# named on stderr), 2 usage error. Decisions are taken on shardctl's exit
# status and its JSON (-j, read with jq), never on its human output.
set -u
SHARDCTL=${SHARDCTL:-shardctl}

log() { echo "bootstrap: $*"; }
err() { echo "bootstrap: $*" >&2; }

if [ $# -eq 0 ]; then
	echo "usage: $0 DEV..." >&2
	exit 2
fi
for tool in "$SHARDCTL" jq; do
	command -v "$tool" >/dev/null || { err "$tool: not found"; exit 1; }
done
version=$("$SHARDCTL" --version) || { err "$SHARDCTL --version failed"; exit 1; }
log "$version"

opts=()
[ -n "${SHARD_QDISC:-}" ] && opts+=(--shard-qdisc "$SHARD_QDISC")
[ -n "${SHARDS:-}" ] && opts+=(--shards "$SHARDS")

# shard_one DEV: 0 when DEV is sharded and complete, 1 otherwise.
shard_one() {
	local dev=$1 out rc complete changed shards

	out=$("$SHARDCTL" setup "$dev" "${opts[@]}" -j)
	rc=$?
	case $rc in
	0) ;;
	2) err "$dev: shardctl rejected the command line (exit 2)"; return 1 ;;
	*) err "$dev: setup failed (exit $rc)"; return 1 ;;
	esac
	complete=$(jq -r .complete <<<"$out") && changed=$(jq -r .changed <<<"$out") &&
		shards=$(jq -r .nr_shards <<<"$out") || { err "$dev: unreadable setup JSON"; return 1; }
	if [ "$complete" != true ]; then
		err "$dev: setup exited 0 but reports an incomplete setup: $(jq -r .problem <<<"$out")"
		return 1
	fi
	# Read it back from the kernel, as a monitoring check would.
	out=$("$SHARDCTL" status "$dev" -j) || { err "$dev: status failed (exit $?)"; return 1; }
	if ! jq -e --arg dev "$dev" 'length == 1 and .[0].dev == $dev and .[0].complete' \
		<<<"$out" >/dev/null; then
		err "$dev: status does not confirm a complete setup"
		return 1
	fi
	if [ "$changed" = true ]; then
		log "$dev: set up, $shards shards"
	else
		log "$dev: already set up, $shards shards, nothing changed"
	fi
}

failed=0
for dev in "$@"; do
	shard_one "$dev" || failed=1
done
exit $failed
