#!/usr/bin/env bash
# shardctl bpfstat: netns/mapstress makes exactly K*M BPF_MAP_UPDATE_ELEM
# calls from K threads after a start file appears; bpfstat --pid, attached
# before that, must count exactly those, in the right command, with a
# histogram that adds up. A process making no bpf() calls must show none,
# whatever else the host does meanwhile.
source "$(dirname "$0")/lib.sh"
need_root

TMP=$(mktemp -d /tmp/sc-bpfstat.XXXXXX)
MAPSTRESS=${MAPSTRESS:-$TOP/$O/netns/mapstress}
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# wait_line FILE REGEX: bounded wait for a line a background command prints.
wait_line() {
	for _ in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
jb() { jq -r "$1" "$TMP/bs.out"; }

echo "usage and errors"
expect_rc "positional argument is a usage error" 2 "$SHARDCTL" bpfstat foo
expect_rc "pid 0 is a usage error" 2 "$SHARDCTL" bpfstat --pid 0
sleep 0.01 & gone=$!; wait $gone
expect_rc "a pid that does not exist fails" 1 "$SHARDCTL" bpfstat --pid $gone -d 0.1
expect_match "the error names the pid" "$ERR" "$gone"

# stress K M MAP: run mapstress under bpfstat --pid, results in $TMP/bs.out.
stress() {
	local k=$1 m=$2 map=$3 ms
	rm -f "$TMP/go"
	"$MAPSTRESS" --threads "$k" --updates "$m" --map "$map" --start-file "$TMP/go" -j \
		>"$TMP/ms.out" 2>&1 &
	ms=$!
	PIDS+=("$ms")
	"$SHARDCTL" bpfstat --pid "$ms" -j >"$TMP/bs.out" 2>"$TMP/bs.err" &
	local bs=$!
	PIDS+=("$bs")
	if ! wait_line "$TMP/bs.err" tracing; then
		fail "bpfstat attaches ($map)" "$(cat "$TMP/bs.err")"
		touch "$TMP/go"
		return 1
	fi
	touch "$TMP/go"
	wait "$ms"
	MS_RC=$?
	# bpfstat stops by itself once the pid is gone.
	wait "$bs"
	BS_RC=$?
}

for map in array prog_array; do
	K=8 M=2000
	echo "$K threads x $M updates of a $map map"
	stress $K $M $map || continue
	expect_eq "mapstress ($map) succeeded" "$MS_RC" 0
	expect_eq "bpfstat exits 0 when the pid exits" "$BS_RC" 0
	expect_eq "only map updates were made after the start ($map)" \
		"$(jb '[.commands[].name] | join(",")')" BPF_MAP_UPDATE_ELEM
	expect_eq "exactly K*M updates counted ($map)" \
		"$(jb '.commands[] | select(.name == "BPF_MAP_UPDATE_ELEM") | .count')" $((K * M))
	expect_eq "no failed updates ($map)" \
		"$(jb '.commands[] | select(.name == "BPF_MAP_UPDATE_ELEM") | .errors')" 0
	expect_eq "histogram adds up to the count ($map)" \
		"$(jb '.commands[0] | [.histogram[].count] | add')" $((K * M))
	expect_eq "none missed ($map)" "$(jb .missed)" 0
	cp "$TMP/bs.out" "$TMP/bs.$map.json"
done
verified "bpfstat"

echo "--tree: a script's children are counted, without --tree they are not"
# tree_run [--tree]: a bash wrapper runs two mapstress (2 x 1000 updates each)
# once the start file exists; bpfstat follows the wrapper's pid.
tree_run() {
	rm -f "$TMP/go"
	bash -c 'while [ ! -e "$1" ]; do sleep 0.02; done; "$2" --threads 2 --updates 1000 >/dev/null &&
		"$2" --threads 2 --updates 1000 >/dev/null' _ "$TMP/go" "$MAPSTRESS" &
	local w=$!
	PIDS+=("$w")
	"$SHARDCTL" bpfstat --pid "$w" "$@" -j >"$TMP/bs.out" 2>"$TMP/bs.err" &
	local bs=$!
	PIDS+=("$bs")
	wait_line "$TMP/bs.err" tracing || fail "bpfstat attaches (tree)" "$(cat "$TMP/bs.err")"
	touch "$TMP/go"
	wait "$w"
	wait "$bs"
}
tree_run --tree
expect_eq "--tree: both children's 4000 updates" \
	"$(jb '.commands[] | select(.name == "BPF_MAP_UPDATE_ELEM") | .count')" 4000
tree_run
expect_eq "without --tree: none (bash itself makes no bpf() calls)" \
	"$(jb '[.commands[] | select(.name == "BPF_MAP_UPDATE_ELEM")] | length')" 0
expect_rc "--tree without --pid is a usage error" 2 "$SHARDCTL" bpfstat --tree -d 0.1

echo "a process without bpf() calls shows none"
sleep 5 & quiet=$!
PIDS+=("$quiet")
"$SHARDCTL" bpfstat --pid "$quiet" -d 0.5 -j >"$TMP/bs.out" 2>"$TMP/bs.err" &
bs=$!
wait_line "$TMP/bs.err" tracing || fail "bpfstat attaches (quiet)" "$(cat "$TMP/bs.err")"
# Meanwhile another process makes bpf() calls: they must not be counted.
"$MAPSTRESS" --threads 2 --updates 100 >/dev/null
wait "$bs"
expect_eq "bpfstat --pid (quiet) exits 0" "$?" 0
expect_eq "no commands attributed to the quiet pid" "$(jb '.commands | length')" 0
kill "$quiet" 2>/dev/null

echo "human output"
rm -f "$TMP/go"
"$MAPSTRESS" --threads 2 --updates 500 --start-file "$TMP/go" >/dev/null &
ms=$!
PIDS+=("$ms")
"$SHARDCTL" bpfstat --pid "$ms" >"$TMP/bs.txt" 2>"$TMP/bs.err" &
bs=$!
wait_line "$TMP/bs.err" tracing && touch "$TMP/go"
wait "$ms"; wait "$bs"
expect_match "histogram header" "$(cat "$TMP/bs.txt")" "usecs : count +distribution"
expect_match "summary line names the command and the count" "$(cat "$TMP/bs.txt")" \
	"BPF_MAP_UPDATE_ELEM: 1000 calls, 0 failed"
