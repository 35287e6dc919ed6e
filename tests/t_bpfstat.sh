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
defer rm -rf "$TMP"
defer bg_stop_all TERM
jb() { jq -r "$1" "$TMP/bs.out"; }

echo "usage and errors"
expect_rc "positional argument is a usage error" 2 "$SHARDCTL" bpfstat foo
expect_rc "pid 0 is a usage error" 2 "$SHARDCTL" bpfstat --pid 0
sleep 0.01 & gone=$!; wait $gone
expect_rc "a pid that does not exist fails" 1 "$SHARDCTL" bpfstat --pid $gone -d 0.1
expect_match "the error names the pid" "$ERR" "$gone"

# stress K M MAP: run mapstress under bpfstat --pid, results in $TMP/bs.out.
stress() {
	local k=$1 m=$2 map=$3
	rm -f "$TMP/go"
	bg_start -o "$TMP/ms.out" -e "$TMP/ms.out" ms \
		"$MAPSTRESS" --threads "$k" --updates "$m" --map "$map" --start-file "$TMP/go" -j
	bg_start -o "$TMP/bs.out" -e "$TMP/bs.err" bs "$SHARDCTL" bpfstat --pid "$(bg_pid ms)" -j
	if ! bg_wait_line bs err tracing 10; then
		fail "bpfstat attaches ($map)" "$(cat "$TMP/bs.err")"
		touch "$TMP/go"
		return 1
	fi
	touch "$TMP/go"
	bg_join ms
	MS_RC=$?
	# bpfstat stops by itself once the pid is gone.
	bg_join bs
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
	bg_start -o /dev/null -e - w \
		bash -c 'while [ ! -e "$1" ]; do sleep 0.02; done; "$2" --threads 2 --updates 1000 >/dev/null &&
		"$2" --threads 2 --updates 1000 >/dev/null' _ "$TMP/go" "$MAPSTRESS"
	bg_start -o "$TMP/bs.out" -e "$TMP/bs.err" bs "$SHARDCTL" bpfstat --pid "$(bg_pid w)" "$@" -j
	bg_wait_line bs err tracing 10 || fail "bpfstat attaches (tree)" "$(cat "$TMP/bs.err")"
	touch "$TMP/go"
	bg_join w
	bg_join bs
}
tree_run --tree
expect_eq "--tree: both children's 4000 updates" \
	"$(jb '.commands[] | select(.name == "BPF_MAP_UPDATE_ELEM") | .count')" 4000
tree_run
expect_eq "without --tree: none (bash itself makes no bpf() calls)" \
	"$(jb '[.commands[] | select(.name == "BPF_MAP_UPDATE_ELEM")] | length')" 0
expect_rc "--tree without --pid is a usage error" 2 "$SHARDCTL" bpfstat --tree -d 0.1

echo "a process without bpf() calls shows none"
bg_start -o /dev/null -e - quiet sleep 5
bg_start -o "$TMP/bs.out" -e "$TMP/bs.err" bs "$SHARDCTL" bpfstat --pid "$(bg_pid quiet)" -d 0.5 -j
bg_wait_line bs err tracing 10 || fail "bpfstat attaches (quiet)" "$(cat "$TMP/bs.err")"
# Meanwhile another process makes bpf() calls: they must not be counted.
"$MAPSTRESS" --threads 2 --updates 100 >/dev/null
bg_join bs
expect_eq "bpfstat --pid (quiet) exits 0" "$?" 0
expect_eq "no commands attributed to the quiet pid" "$(jb '.commands | length')" 0
bg_stop quiet

echo "human output"
rm -f "$TMP/go"
bg_start -o /dev/null -e - ms "$MAPSTRESS" --threads 2 --updates 500 --start-file "$TMP/go"
bg_start -o "$TMP/bs.txt" -e "$TMP/bs.err" bs "$SHARDCTL" bpfstat --pid "$(bg_pid ms)"
bg_wait_line bs err tracing 10 && touch "$TMP/go"
bg_join ms; bg_join bs
expect_match "histogram header" "$(cat "$TMP/bs.txt")" "usecs : count +distribution"
expect_match "summary line names the command and the count" "$(cat "$TMP/bs.txt")" \
	"BPF_MAP_UPDATE_ELEM: 1000 calls, 0 failed"
