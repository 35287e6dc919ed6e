#!/usr/bin/env bash
# What an operator touches besides the commands themselves: the man page
# agrees with --help (every command, every long option, every JSON key,
# the files setup creates, the exit codes), the bash completion, `make
# install`/`uninstall` (the installed binary runs with the source tree out of
# sight), and each example in examples/ run for real on the testbed.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$op
PAGE=$TOP/man/shardctl.8
TMP=$(mktemp -d /tmp/t_operator.XXXXXX)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS"
defer in_ns "$SHARDCTL" teardown
defer bg_stop_all TERM
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# The testbed's state without bpffs: other tests running at the same time
# pin under /sys/fs/bpf too. Our own pins are checked through pin_dir.
ns_snapshot() { snapshot | grep -v '^/sys/fs/bpf'; }
expect_ns_snapshot() {
	local now
	now=$(ns_snapshot)
	if [ "$now" == "$2" ]; then pass "$1"; else
		fail "$1" "testbed differs: $(diff <(echo "$2") <(echo "$now") | grep '^[<>]' | head -6 | tr '\n' ' ')"
	fi
}

commands() {
	"$SHARDCTL" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1; next } on { exit }'
}
# Long options of one command, as its --help prints them.
long_options() {
	"$SHARDCTL" "$1" --help | awk '/^Options:$/ { on = 1; next } on && /^$/ { exit }
		on { for (i = 1; i <= NF && $i ~ /^-/; i++) if ($i ~ /^--/) print $i }'
}
# The page as text (groff -Tascii keeps '-' ASCII); bold marked \x01..\x02.
# groff -P-c overstrikes: bold is "X\bX", italic "_\bX".
groff_ascii() { groff -man -Tascii -P-c -rLL=250n "$1" 2>/dev/null; }
render() { groff_ascii "$1" | sed 's/.\x08//g'; }
render_bold() { groff_ascii "$1" | sed 's/\(.\)\x08\1/\x01\1\x02/g; s/.\x08//g; s/\x02\x01//g'; }
# Section SH of the rendered page (headings are bold, hence the \x01 marks).
section() {
	render_bold "$1" | awk -v sh="$2" '{ plain = $0; gsub(/[\001\002]/, "", plain) }
		plain ~ /^[A-Z][A-Z ]*$/ { on = (plain == sh); next } on'
}
bold_words() { grep -o $'\x01[^\x02]*\x02' | tr -d '\001\002' | tr ',{}[]() ' '\n' | sort -u; }
# Options printed by `CMD --help` that the page (text) lacks, as "CMD --opt".
undocumented_options() {
	local text c o
	text=$(render "$1")
	for c in $(commands); do
		for o in $(long_options "$c"); do
			grep -qF -- "$o" <<<"$text" || echo "$c $o"
		done
	done
}

# --- the man page and --help ----------------------------------------------
if ! command -v groff >/dev/null; then
	echo "  note: groff is missing; the man page checks need it (apt-get install groff)"
	fail "man page checks" "groff not installed"
else
	expect_rc "man/update --check: the generated blocks match --help" 0 \
		"$TOP/man/update" --check "$SHARDCTL" "$PAGE"
	warn=$(groff -man -Tutf8 -ww -z "$PAGE" 2>&1)
	expect_eq "the page renders without groff warnings" "$warn" ""

	ncmd=0
	for c in $(commands); do
		ncmd=$((ncmd + 1))
		expect_ge "man: command '$c' has its own section" "$(grep -cxF ".SS $c" "$PAGE")" 1
	done
	expect_ge "--help lists the core commands" "$ncmd" 3
	missing=$(undocumented_options "$PAGE" | tr '\n' ';')
	expect_eq "man: every long option of every command is documented" "$missing" ""
	expect_ge "man: the option check saw the setup options" "$(long_options setup | wc -l)" 5

	# The checks can fail: a page that lost one option, and one whose
	# generated block was edited by hand.
	sed 's/\\-\\-tx\\-queues//g' "$PAGE" >"$TMP/lost.8"
	expect_match "drift control: a dropped option is reported" \
		"$(undocumented_options "$TMP/lost.8" | tr '\n' ' ')" "setup --tx-queues"
	sed '/BEGIN GENERATED setup/{n;s/$/X/}' "$PAGE" >"$TMP/edited.8"
	expect_rc "drift control: man/update --check rejects an edited block" 1 \
		"$TOP/man/update" --check "$SHARDCTL" "$TMP/edited.8"

	for s in NAME SYNOPSIS DESCRIPTION COMMANDS "COMMON OPTIONS" "EXIT STATUS" "JSON OUTPUT" FILES EXAMPLES; do
		expect_ge "man: section '$s' is present and not empty" "$(section "$PAGE" "$s" | grep -c '[a-z]')" 1
	done
fi

# --- the exit codes the page documents, from the binary ----------------------
expect_rc "exit 0: --help" 0 "$SHARDCTL" --help
expect_rc "exit 2: unknown command" 2 "$SHARDCTL" no-such-command
expect_rc "exit 2: unknown option" 2 "$SHARDCTL" status --no-such-option
expect_rc "exit 2: setup without a device" 2 sc setup
expect_rc "exit 1: status of a device that does not exist" 1 sc status no-such-dev0
expect_match "exit 1 names the object at fault" "$ERR" "no-such-dev0"
expect_rc "exit 0: teardown with nothing set up" 0 sc teardown
exit_text=$(section "$PAGE" "EXIT STATUS" | tr -d '\001\002')
for code in 0 1 2; do
	expect_eq "man: EXIT STATUS describes $code" "$(grep -cE "^ +$code +[A-Z]" <<<"$exit_text")" 1
done

# --- --version ----------------------------------------------------------------
ver=$("$SHARDCTL" --version)
expect_match "--version names the version and libbpf" "$ver" \
	"^shardctl $(cat "$TOP/VERSION") \(libbpf [0-9]+\.[0-9]+\)$"
libbpf=$(pkg-config --modversion libbpf 2>/dev/null | cut -d. -f1,2)
expect_match "--version's libbpf is the one built against ($libbpf)" "$ver" "libbpf $libbpf\)"

# --- the JSON keys and the files, from a live setup ----------------------------
before=$(ns_snapshot)
expect_rc "setup nic0" 0 sc setup nic0 -j
setup_json=$OUT
"$MQTAP" traffic --ns "$NS" --count 100 --flows 4 >/dev/null
declare -A json
json[setup]=$setup_json
json[status]=$(sc status -j)
json[remap]=$(sc remap nic0 0 1 -j)
json[top]=$(sc top nic0 -j -c 1 -i 0.3 2>/dev/null)
json[softnet]=$(sc softnet -j -c 1 -i 0.3)
json[bpfstat]=$(sc bpfstat -j -d 0.5 2>/dev/null)
json[contention]=$(sc contention nic0 -j -d 0.5 -F 99 2>/dev/null)
json[teardown_dry]=$(sc teardown nic0 --dry-run -j)
# watch prints one object per action: "ready" for the complete setup, until SIGINT.
json[watch]=$(timeout -s INT 2 nsenter --net="/var/run/netns/$NS" "$SHARDCTL" watch nic0 -j)
# check's sample.root_lock is there only for a shared root: one for this call.
in_ns tc qdisc replace dev nic0 root handle 1: htb default 1
json[check]=$(sc check nic0 -s 0.5 -j)
in_ns tc qdisc del dev nic0 root
if command -v groff >/dev/null; then
	documented=$(section "$PAGE" "JSON OUTPUT" | bold_words)
	for k in "${!json[@]}"; do
		keys=$(jq -r '[.. | objects | keys[]] | unique[]' <<<"${json[$k]}" 2>/dev/null)
		if [ -z "$keys" ]; then fail "man: JSON keys of $k" "no JSON from $k"; continue; fi
		expect_eq "man: every JSON key '$k -j' prints is documented" \
			"$(comm -23 <(sort -u <<<"$keys") <(echo "$documented") | tr '\n' ' ')" ""
	done
	expect_match "key control: an unknown key would be caught" \
		"$(comm -23 <(printf 'complete\nno_such_key\n') <(echo "$documented"))" "^no_such_key$"
fi

# FILES: the pin directory, the pins, the lock and the device marks.
files=$(section "$PAGE" FILES | tr -d '\001\002' | tr -s ' \n' '  ')
cookie=$(jq -r .netns_cookie <<<"$setup_json")
ifindex=$(jq -r .ifindex <<<"$setup_json")
pin_dir=$(jq -r .pin_dir <<<"$setup_json")
expect_eq "FILES: pins under /sys/fs/bpf/shardctl/<netns cookie>/<ifindex>" \
	"$pin_dir" "/sys/fs/bpf/shardctl/$cookie/$ifindex"
for pin in $(ls "$pin_dir"); do
	expect_match "FILES: pin '$pin' is documented" "$files" "${pin%%_[0-9]*}"
done
expect_ge "FILES: setup made pins" "$(ls "$pin_dir" | wc -l)" 4
expect_match "FILES: the lock path is documented" "$files" "/run/shardctl/<cookie>-<ifindex>\.lock"
alias0=$(in_ns ip -j link show nic0-s0 | jq -r '.[0].ifalias')
expect_eq "FILES: the shard's ifalias is the documented one" "$alias0" "shardctl nic=$ifindex shard=0 role=egress"
expect_match "FILES: the ifalias format is documented" "$files" "shardctl nic=IFINDEX shard=I role=egress\|return"
# The lock lives only while a command holds it: look while a teardown is
# stopped half-way (SHARDCTL_PAUSE_AT), then let it finish.
bg_start -o /dev/null -e "$TMP/pause.log" paused \
	nsenter --net="/var/run/netns/$NS" env SHARDCTL_PAUSE_AT=teardown:detached "$SHARDCTL" teardown nic0
is_stopped() { [ "$(bg_state "$1")" == T ]; }
bg_poll paused 30 is_stopped paused
[ -e "/run/shardctl/$cookie-$ifindex.lock" ] && lock=held || lock=absent
bg_stop paused CONT
expect_eq "FILES: while a command holds it, the lock is /run/shardctl/<cookie>-<ifindex>.lock" "$lock" held
expect_eq "FILES: no lock file between commands" "$(ls /run/shardctl 2>/dev/null | grep -c "^$cookie-$ifindex\.lock$")" 0
expect_rc "teardown nic0 (finished by the paused one: nothing to do)" 0 sc teardown nic0
expect_ns_snapshot "teardown leaves the testbed as it was" "$before"

# --- bash completion --------------------------------------------------------
# complete WORD...: run the completion function as bash would, in the testbed
# (so device names are the testbed's), and print COMPREPLY one per line.
complete_words() {
	in_ns bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _shardctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/completion/shardctl.bash" "$SHARDCTL" "$@" | sort
}
expect_eq "completion: the commands, from --help" "$(complete_words "")" \
	"$( (commands; echo --help; echo --version) | sort)"
expect_eq "completion: a command prefix" "$(complete_words set)" "setup"
for c in $(commands); do
	expect_eq "completion: '$c --' offers its options" "$(complete_words "$c" --)" \
		"$(long_options "$c" | sort)"
done
expect_eq "completion: --attach values, from the help text" "$(complete_words setup --attach "")" \
	"$(printf 'auto\ntc\ntcx')"
expect_eq "completion: --lookup=g" "$(complete_words setup --lookup = g)" "global"
expect_eq "completion: setup's DEV is a device of this namespace" "$(complete_words setup "")" "nic0"
expect_eq "completion: after the options" "$(complete_words top -i 1 n)" "nic0"
expect_eq "completion: no device for remap's RXQ" "$(complete_words remap nic0 "")" ""
expect_eq "completion: a DEV[,DEV...] list" "$(complete_words top --also nic0,n)" "nic0,nic0"

# --- make install / uninstall -------------------------------------------------
dest=$TMP/dest
# -o: install the binary under test as it is; never rebuild it here (O=build-san
# without SAN=1 would relink it without the sanitizers).
make -s -C "$TOP" install O="$O" -o "$O/shardctl" PREFIX=/usr/local DESTDIR="$dest" >/dev/null
expect_eq "make install: exactly the binary, the man page and the completion" \
	"$(cd "$dest" && find . -type f | sort | tr '\n' ' ')" \
	"./usr/local/sbin/shardctl ./usr/local/share/bash-completion/completions/shardctl ./usr/local/share/man/man8/shardctl.8 "
expect_eq "make install: the binary is executable" "$(stat -c %a "$dest/usr/local/sbin/shardctl")" 755
# The installed binary with the source tree hidden under an empty tmpfs: the
# BPF objects must come from the binary itself (skeletons). The mount
# namespace is private to this one command; /sys/fs/bpf stays the host's.
hidden() {
	in_ns unshare --mount sh -c 'mount -t tmpfs none "$1" && cd / && shift && exec "$@"' \
		_ "$TOP" "$dest/usr/local/sbin/shardctl" "$@"
}
expect_rc "installed binary, tree hidden: setup" 0 hidden setup nic0 -j
expect_eq "installed binary, tree hidden: a complete setup" "$(jq -r .complete <<<"$OUT")" true
expect_eq "installed binary, tree hidden: the tree really was hidden" \
	"$(in_ns unshare --mount sh -c 'mount -t tmpfs none "$1" && ls "$1" | wc -l' _ "$TOP")" 0
expect_rc "installed binary, tree hidden: teardown" 0 hidden teardown nic0
expect_ns_snapshot "installed binary: the testbed is back as it was" "$before"
make -s -C "$TOP" uninstall O="$O" -o "$O/shardctl" PREFIX=/usr/local DESTDIR="$dest" >/dev/null
expect_eq "make uninstall removes every installed file" "$(find "$dest" -type f | wc -l)" 0

# --- examples/bootstrap.sh: twice, then with options, then a failure ----------
boot() { in_ns env SHARDCTL="$SHARDCTL" "$@" "$TOP/examples/bootstrap.sh" nic0 "${extra[@]}"; }
extra=()
expect_rc "bootstrap: first run exits 0" 0 boot
expect_match "bootstrap: first run sets up" "$OUT" "nic0: set up, 4 shards"
first=$(ns_snapshot)
expect_rc "bootstrap: second run exits 0" 0 boot
expect_match "bootstrap: second run changes nothing" "$OUT" "nic0: already set up, 4 shards, nothing changed"
expect_ns_snapshot "bootstrap: second run leaves the host as the first left it" "$first"
in_ns ip link del nic0-s2
expect_rc "bootstrap: a run after a shard was deleted exits 0" 0 boot
expect_eq "bootstrap: ... and completed the setup" "$(sc status nic0 -j | jq -r '.[0].complete')" true
extra=(no-such-dev0)
expect_rc "bootstrap: a missing device fails the run" 1 boot
expect_match "bootstrap: ... and is named on stderr" "$ERR" "no-such-dev0: setup failed \(exit 1\)"
extra=()
expect_rc "bootstrap: a refused re-run (another shard qdisc) fails the run" 1 boot SHARD_QDISC=pfifo
expect_match "bootstrap: ... naming what differs" "$ERR" "another shard qdisc"
expect_rc "bootstrap: a re-run with another shard count follows it" 0 boot SHARDS=2
expect_eq "bootstrap: ... 2 shards, complete" "$(sc status nic0 -j | jq -r '.[0] | "\(.nr_shards) \(.complete)"')" "2 true"
sc teardown nic0 >/dev/null
expect_rc "bootstrap: with SHARD_QDISC, first run" 0 boot SHARD_QDISC="tbf rate 1gbit burst 128k latency 5ms"
expect_rc "bootstrap: with SHARD_QDISC, second run" 0 boot SHARD_QDISC="tbf rate 1gbit burst 128k latency 5ms"
expect_match "bootstrap: with SHARD_QDISC, nothing changed the second time" "$OUT" "nothing changed"
expect_match "observer: every shard veth has the tbf root" \
	"$(for i in 0 1 2 3; do in_ns tc qdisc show dev nic0-s$i root; done | grep -c '^qdisc tbf')" "^4$"
expect_rc "bootstrap: no device is a usage error" 2 in_ns "$TOP/examples/bootstrap.sh"
sc teardown >/dev/null
expect_ns_snapshot "bootstrap: teardown after the runs restores the testbed" "$before"

# --- examples/shardctl@.service and the cloud-init drop-in ------------------
unit=$TOP/examples/shardctl@.service
for want in 'Type=oneshot' 'RemainAfterExit=yes' 'ExecStart=shardctl setup %I' 'ExecStop=shardctl teardown %I' \
	'BindsTo=sys-subsystem-net-devices-%i.device' 'After=sys-subsystem-net-devices-%i.device'; do
	expect_eq "unit: $want" "$(grep -cxF "$want" "$unit")" 1
done
# unit_exec KEY FILE...: run the KEY= command lines of the unit (and drop-ins,
# where an empty KEY= resets the list, as systemd does) for instance nic0 in
# the testbed, with shardctl meaning the binary under test.
unit_exec() {
	local key=$1 line rc=0
	local -a cmds=() argv
	shift
	while IFS= read -r line; do
		if [ "$line" = "$key=" ]; then cmds=(); else cmds+=("${line#"$key="}"); fi
	done < <(grep -h "^$key=" "$@")
	for line in "${cmds[@]}"; do
		[[ $line == *[\$\`]* ]] && { echo "unit line with \$ or \`: $line" >&2; return 1; }
		line=${line//%I/nic0}
		eval "argv=($line)"
		[ "${argv[0]}" = shardctl ] && argv[0]=$SHARDCTL
		in_ns "${argv[@]}" >/dev/null || rc=1
	done
	return $rc
}
expect_rc "unit: ExecStartPre, run for nic0" 0 unit_exec ExecStartPre "$unit"
expect_rc "unit: ExecStart, run for nic0" 0 unit_exec ExecStart "$unit"
expect_eq "unit: the start commands set nic0 up completely" "$(sc status nic0 -j | jq -r '.[0].complete')" true
expect_rc "unit: ExecStop" 0 unit_exec ExecStop "$unit"
expect_ns_snapshot "unit: stop restores the testbed" "$before"

# The cloud-init snippet's drop-in, applied over the unit.
dropin=$TMP/10-options.conf
python3 -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print([f["content"] for f in d["write_files"] if "shardctl@" in f["path"]][0], end="")' \
	"$TOP/examples/cloud-init.yaml" >"$dropin" 2>/dev/null ||
	sed -n '/content: |/,/^[a-z]/{/content: |/d;/^[a-z]/d;s/^      //;p}' "$TOP/examples/cloud-init.yaml" >"$dropin"
expect_rc "cloud-init drop-in: ExecStart over the unit's, run for nic0" 0 unit_exec ExecStart "$unit" "$dropin"
expect_eq "cloud-init drop-in: the shards got its tbf" \
	"$(sc status nic0 -j | jq -r '[.[0].shards[].qdisc.kind] | unique | join(",")')" tbf
expect_rc "cloud-init drop-in: ExecStop" 0 unit_exec ExecStop "$unit" "$dropin"

if command -v systemd-analyze >/dev/null; then
	# verify resolves ExecStart= and Documentation=man:shardctl(8): point it
	# at the binary under test and at this tree's page.
	udir=$TMP/units
	mkdir -p "$udir" "$TMP/man/man8"
	cp "$PAGE" "$TMP/man/man8/"
	sed "s|^\(Exec[A-Za-z]*=\)shardctl |\1$SHARDCTL |" "$unit" >"$udir/shardctl@.service"
	sed "s|^ExecStart=.*|ExecStart=$TOP/examples/shardctl-textfile.sh|" \
		"$TOP/examples/shardctl-textfile.service" >"$udir/shardctl-textfile.service"
	cp "$TOP/examples/shardctl-textfile.timer" "$udir/"
	verify() { (cd "$udir" && MANPATH=$TMP/man systemd-analyze verify "$@" 2>&1); }
	expect_eq "systemd-analyze verify shardctl@eth1.service: no complaint" "$(verify shardctl@eth1.service)" ""
	expect_eq "systemd-analyze verify the textfile service and timer: no complaint" \
		"$(verify shardctl-textfile.service shardctl-textfile.timer)" ""
	sed 's|^ExecStart=.*|ExecStart=/nonexistent/shardctl setup %I|' "$udir/shardctl@.service" >"$udir/broken@.service"
	expect_match "verify control: a unit with a missing binary is reported" "$(verify broken@eth1.service)" "nonexistent"
else
	skip "systemd-analyze verify of the unit files" "systemd-analyze is not installed"
fi

# --- examples/cloud-init.yaml -------------------------------------------------
ci=$TOP/examples/cloud-init.yaml
expect_eq "cloud-init: starts with #cloud-config" "$(head -n1 "$ci")" "#cloud-config"
if python3 -c 'import yaml' 2>/dev/null; then
	expect_rc "cloud-init: the YAML parses to a mapping with runcmd" 0 python3 -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert isinstance(d, dict) and isinstance(d["runcmd"], list), d
print("\n".join(" ".join(c) if isinstance(c, list) else c for c in d["runcmd"]))' "$ci"
	expect_match "cloud-init: it enables the template unit" "$OUT" "systemctl enable --now shardctl@eth1\.service"
else
	echo "  note: python3-yaml is missing: checking the cloud-init snippet by grammar only"
	expect_eq "cloud-init: no tabs (YAML forbids them for indentation)" "$(grep -c $'\t' "$ci")" 0
	expect_eq "cloud-init: it enables the template unit" "$(grep -c 'enable, --now, shardctl@eth1.service' "$ci")" 1
fi

# --- with -j, a failure is JSON on stdout too: {"error": ..., "exit": N} ----
# json_error NAME WANT_RC ARGS...: stdout is exactly that one object, its exit
# the command's, its error the sentence on stderr.
json_error() {
	local name=$1 want=$2 out err rc
	shift 2
	out=$(in_ns "$SHARDCTL" "$@" 2>"$TMP/je.err"); rc=$?
	err=$(head -1 "$TMP/je.err")
	expect_eq "-j errors: $name: exit $want, stdout {\"error\", \"exit\": $want} and nothing else" \
		"$rc|$(jq -c 'keys' <<<"$out" 2>&1)|$(jq -r .exit <<<"$out" 2>&1)|$(wc -l <<<"$out")" "$want|[\"error\",\"exit\"]|$want|1"
	expect_eq "-j errors: $name: the error is stderr's sentence" "shardctl $name: $(jq -r .error <<<"$out" 2>&1)" "$err"
}
for cmd in $("$SHARDCTL" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	json_error "$cmd" 2 "$cmd" --no-such-option -j
done
json_error setup 1 setup nosuch0 -j
json_error status 1 status nosuch0 -j
json_error teardown 1 teardown nosuch0 -p
json_error remap 1 remap nosuch0 0 1 -j
json_error top 1 top nosuch0 -c 1 -j
json_error check 1 check nosuch0 -s 0 -j
json_error contention 1 contention nosuch0 -d 0.1 -j
json_error mq 1 mq nosuch0 -d 0.1 -j
json_error watch 1 watch abcdefghijklmnop -j
json_error bpfstat 2 bpfstat --pid 0 -j
json_error softnet 2 softnet --interval 0 -j
expect_match "-j errors are documented in shardctl(8)" "$(render "$PAGE")" '"error".*"exit"'

# --- bpftool and tc see what shardctl made, by the names shardctl(8) gives ---
sc setup nic0 >/dev/null
st=$(sc status nic0 -j)
dir=$(jq -r '.[0].pin_dir' <<<"$st")
if [ "$(jq -r '.[0].attach' <<<"$st")" == tcx ]; then
	link_prog=$(bpftool link show pinned "$dir/ingress" -j | jq -r .prog_id)
	expect_eq "bpftool link show pinned DIR/ingress: the tcx link runs sc_in_map" \
		"$(bpftool prog show id "$link_prog" -j | jq -r .name)" sc_in_map
fi
expect_eq "bpftool map show pinned DIR/rxq_shard: the map is named rxq_shard" \
	"$(bpftool map show pinned "$dir/rxq_shard" -j | jq -r .name)" rxq_shard
want=$(for i in 0 1 2 3; do in_ns ip -j link show "nic0-s$i" | jq -r '.[0].ifindex'; done | xargs)
expect_eq "bpftool map dump pinned DIR/rxq_shard: rx queue i -> nic0-s<i>'s ifindex" \
	"$(bpftool map dump pinned "$dir/rxq_shard" -j | jq -r '[.[].formatted | select(.key < 4) | .value] | map(tostring) | join(" ")')" "$want"
expect_match "bpftool net show dev nic0-r0: sc_return on clsact/ingress" \
	"$(in_ns bpftool net show dev nic0-r0)" "nic0-r0\([0-9]+\) clsact/ingress sc_return"
expect_match "tc -s filter show dev nic0-r0 ingress: pref 92 (0x5c), handle 0x5c, sc_return" \
	"$(in_ns tc -s filter show dev nic0-r0 ingress)" "pref 92 bpf chain 0 handle 0x5c sc_return:.*direct-action"
sc teardown nic0 >/dev/null
sc setup nic0 --attach tc >/dev/null
expect_match "tc -s filter show dev nic0 ingress (--attach tc): sc_in_map at pref 92, handle 0x5c" \
	"$(in_ns tc -s filter show dev nic0 ingress)" "pref 92 bpf chain 0 handle 0x5c sc_in_map:.*direct-action"
expect_match "bpftool net show dev nic0 (--attach tc): sc_in_map on clsact/ingress" \
	"$(in_ns bpftool net show dev nic0)" "nic0\([0-9]+\) clsact/ingress sc_in_map"
sc teardown nic0 >/dev/null
inspect=$(section "$PAGE" "INSPECTING A SETUP" | tr -d '\001\002' | tr -s ' \n' '  ')
for cmd in "bpftool link show pinned" "bpftool map dump pinned" "bpftool net show dev" \
	"bpftool prog show name sc_in_map" "tc -s filter show dev"; do
	expect_match "shardctl(8) shows how to inspect with '$cmd'" "$inspect" "$cmd"
done

# --- examples/shardctl-textfile.sh --------------------------------------------
prom_dir=$TMP/prom
mkdir -p "$prom_dir"
sc setup nic0 >/dev/null
"$MQTAP" traffic --ns "$NS" --count 60 >/dev/null
textfile() { in_ns env SHARDCTL="$SHARDCTL" TEXTFILE_DIR="$prom_dir" SOFTNET_INTERVAL=0.2 "$@" "$TOP/examples/shardctl-textfile.sh"; }
expect_rc "textfile: exits 0" 0 textfile
expect_eq "textfile: wrote its two files, no temporaries left" "$(ls -A "$prom_dir" | tr '\n' ' ')" \
	"shardctl-softnet.prom shardctl.prom "
for f in shardctl.prom shardctl-softnet.prom; do
	expect_rc "textfile: $f passes promtool check metrics (parser and lint)" 0 \
		promtool check metrics <"$prom_dir/$f"
	expect_eq "textfile: ... with no lint finding" "$ERR" ""
done
status_json=$(sc status nic0 -j)
for i in 0 3; do
	expect_eq "textfile: shard $i's packets equal status's" \
		"$(grep "^shardctl_shard_packets_total{device=\"nic0\",shard=\"$i\"," "$prom_dir/shardctl.prom" | awk '{ print $2 }')" \
		"$(jq -r ".[0].shards[$i].packets" <<<"$status_json")"
done
expect_ge "textfile: the traffic was counted" "$(jq -r '.[0].shards[3].packets' <<<"$status_json")" 60

# The real pipeline: Debian's node_exporter, on the test namespace's own
# loopback, reading the directory the example writes, scraped over HTTP.
NE_PORT=19100
# nsenter itself, not in_ns: the PID must be node_exporter's (nsenter execs it).
bg_start -o "$TMP/ne.log" -e "$TMP/ne.log" node_exporter \
	nsenter --net="/var/run/netns/$NS" prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" \
	--collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$prom_dir"
scrape=
for _ in $(seq 100); do
	scrape=$(in_ns curl -sf "http://127.0.0.1:$NE_PORT/metrics") && break
	sleep 0.1
done
bg_stop node_exporter
expect_match "node_exporter: the scrape answered" "$scrape" "node_textfile_scrape_error 0"
for i in 0 3; do
	expect_eq "node_exporter: shard $i's packets in the scrape equal status's" \
		"$(grep "^shardctl_shard_packets_total{device=\"nic0\",shard=\"$i\"," <<<"$scrape" | awk '{ print $2 }')" \
		"$(jq -r ".[0].shards[$i].packets" <<<"$status_json")"
done
expect_eq "node_exporter: setup_complete for nic0 is 1" \
	"$(grep '^shardctl_setup_complete{device="nic0"}' <<<"$scrape" | awk '{ print $2 }')" 1
expect_match "node_exporter: the softnet file is in it too" "$scrape" 'shardctl_softnet_processed_total\{cpu="0"\} [0-9]'
expect_eq "node_exporter: both files read (mtime metric per file)" \
	"$(grep -c '^node_textfile_mtime_seconds{file="' <<<"$scrape")" 2
grep -E '^shardctl_(setup_complete|shard_packets_total)' <<<"$scrape" | sed 's/^/    scraped: /'
cp "$prom_dir/shardctl.prom" "$TMP/kept.prom"
expect_rc "textfile: a failing shardctl fails the run" 1 textfile SHARDCTL=/bin/false
cmp -s "$prom_dir/shardctl.prom" "$TMP/kept.prom" && kept=yes || kept=no
expect_eq "textfile: ... and leaves the previous file in place" "$kept" yes
expect_eq "textfile: ... and no temporary file" "$(ls -A "$prom_dir" | grep -c '^\.')" 0
sc teardown >/dev/null
expect_ns_snapshot "the testbed is back as it was at the end" "$before"
