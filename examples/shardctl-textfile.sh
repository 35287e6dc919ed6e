#!/usr/bin/env bash
# node_exporter textfile collector for shardctl: writes shardctl.prom (shard
# status) and shardctl-softnet.prom (receive softirq health) into the
# collector's directory. Run by shardctl-textfile.timer, or from cron:
#   * * * * * root /usr/local/sbin/shardctl-textfile
#
# Each file is written to a temporary name and renamed, so node_exporter
# never reads half a file; when shardctl fails, the old file stays and this
# script exits 1 (node_exporter's mtime metric shows the file going stale).
#
# Environment:
#   SHARDCTL      the binary (default: shardctl from PATH)
#   TEXTFILE_DIR  default /var/lib/prometheus/node-exporter (Debian's
#                 prometheus-node-exporter --collector.textfile.directory)
#   SOFTNET_INTERVAL  seconds softnet samples (default 1; 0 skips softnet)
set -u -o pipefail
SHARDCTL=${SHARDCTL:-shardctl}
DIR=${TEXTFILE_DIR:-/var/lib/prometheus/node-exporter}
SOFTNET_INTERVAL=${SOFTNET_INTERVAL:-1}

has_prometheus() { "$SHARDCTL" "$1" --help 2>/dev/null | grep -q -- '--prometheus'; }

# status -j -> Prometheus text, for a shardctl whose status has no --prometheus.
status_from_json() {
	"$SHARDCTL" status -j | jq -r '
	def esc: tostring | gsub("\\\\"; "\\\\") | gsub("\""; "\\\"") | gsub("\n"; "\\n");
	def metric($name; $type; $help; rows):
		"# HELP \($name) \($help)", "# TYPE \($name) \($type)",
		(rows | "\($name){\(.l | to_entries | map("\(.key)=\"\(.value | esc)\"") | join(","))} \(.v)");
	. as $devs |
	metric("shardctl_setup_complete"; "gauge"; "1 when every piece of the setup is in place.";
		$devs[] | {l: {device: .dev}, v: (if .complete then 1 else 0 end)}),
	metric("shardctl_shards"; "gauge"; "Shards (veth pairs) of the device.";
		$devs[] | {l: {device: .dev}, v: .nr_shards}),
	metric("shardctl_shard_packets_total"; "counter"; "Frames the ingress program redirected to the shard.";
		$devs[] | .dev as $d | .shards[] | {l: {device: $d, shard: .index, veth: .egress.name}, v: .packets}),
	metric("shardctl_shard_bytes_total"; "counter"; "Bytes the ingress program redirected to the shard.";
		$devs[] | .dev as $d | .shards[] | {l: {device: $d, shard: .index, veth: .egress.name}, v: .bytes}),
	metric("shardctl_shard_veth_tx_packets_total"; "counter"; "Frames the shard veth transmitted (its own counter).";
		$devs[] | .dev as $d | .shards[] | {l: {device: $d, shard: .index, veth: .egress.name}, v: .veth_tx_packets}),
	metric("shardctl_unsharded_packets_total"; "counter"; "Frames passed to the stack unsharded: no recorded rx queue, or no shard for it.";
		$devs[] | ({l: {device: .dev, reason: "unrecorded"}, v: .unrecorded_packets},
			   {l: {device: .dev, reason: "no_shard"}, v: .no_shard_packets})),
	metric("shardctl_returned_packets_total"; "counter"; "Frames the return programs sent on to the device.";
		$devs[] | {l: {device: .dev}, v: .returned_packets}),
	metric("shardctl_spread_max_over_mean_ratio"; "gauge"; "Busiest shard frames over the mean (1 = even, 0 = no traffic).";
		$devs[] | {l: {device: .dev}, v: .spread.max_over_mean})'
}

# write NAME CMD...: CMD's stdout becomes DIR/NAME, atomically, only if CMD succeeds.
write() {
	local name=$1 tmp
	shift
	tmp=$(mktemp "$DIR/.$name.XXXXXX") || return 1
	if "$@" >"$tmp" && [ -s "$tmp" ]; then
		chmod 0644 "$tmp" && mv -f "$tmp" "$DIR/$name" && return 0
	fi
	echo "shardctl-textfile: $* failed; $DIR/$name left as it was" >&2
	rm -f "$tmp"
	return 1
}

status_prometheus() { "$SHARDCTL" status --prometheus; }
softnet_prometheus() { "$SHARDCTL" softnet --prometheus -i "$SOFTNET_INTERVAL" -c 1; }

[ -d "$DIR" ] || { echo "shardctl-textfile: $DIR: no such directory" >&2; exit 1; }
rc=0
if has_prometheus status; then
	write shardctl.prom status_prometheus || rc=1
else
	command -v jq >/dev/null || { echo "shardctl-textfile: jq not found" >&2; exit 1; }
	write shardctl.prom status_from_json || rc=1
fi
if [ "$SOFTNET_INTERVAL" != 0 ] && has_prometheus softnet; then
	write shardctl-softnet.prom softnet_prometheus || rc=1
fi
exit $rc
