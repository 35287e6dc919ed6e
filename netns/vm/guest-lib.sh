# shellcheck shell=bash
# Sourced by scripts that run inside the VM guest (netns/vm/run). The host
# side of the guest's NIC is a TAP on the host; these ask the host to write
# test frames onto it and to check, byte for byte, what the guest sends back
# (netns/vm/run's agent runs `mqtap traffic --packet` for each request).
: "${VM_XCHG:=/run/vm}"

# host_traffic_start OPTIONS...: start a request, print its id (callers run
# it in $(...), so the id cannot come from a counter in this shell).
host_traffic_start() {
	local id
	id=$(date +%s%N)-$BASHPID
	echo "$*" >"$VM_XCHG/tmp.req.$id" && mv "$VM_XCHG/tmp.req.$id" "$VM_XCHG/req.$id"
	echo "$id"
}

# host_traffic_wait ID [LIMIT_S]: print the JSON report, return mqtap's exit
# status (124 when the host did not answer in time).
host_traffic_wait() {
	local id=$1 limit=${2:-120} t=0
	while [ ! -e "$VM_XCHG/rc.$id" ]; do
		sleep 0.2
		t=$((t + 1))
		[ "$t" -lt $((limit * 5)) ] || return 124
	done
	local rc
	rc=$(cat "$VM_XCHG/rc.$id")
	cat "$VM_XCHG/out.$id"
	sed 's/^/host: /' "$VM_XCHG/err.$id" >&2
	rm -f "$VM_XCHG/out.$id" "$VM_XCHG/err.$id" "$VM_XCHG/rc.$id"
	return "$rc"
}

# host_traffic OPTIONS...: both, in one call.
host_traffic() {
	local id
	id=$(host_traffic_start "$@")
	host_traffic_wait "$id"
}
