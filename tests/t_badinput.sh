#!/usr/bin/env bash
# Bad input: every case asserts the documented exit code (2 usage, 1 run
# time; 0 where the README says there is nothing to do), a message naming
# the culprit, and a host snapshot identical before and after. Extends the
# refusals in t_core.sh (not repeated here) to odd names, out-of-range and
# malformed numbers, foreign programs and devices, missing BTF, bpffs that
# cannot be mounted, and running without privileges. Least privilege: pins
# and state files are root's alone, and setup/teardown exec nothing.
source "$(dirname "$0")/lib.sh"
need_root

NS=scb$$a
NS1=scb$$b	# a single-queue TAP
TMP=$(mktemp -d /tmp/sc-bad.XXXXXX)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS1"
defer "$TESTBED" down "$NS"
defer sc teardown
FPIN=/sys/fs/bpf/sc-foreign-$$
defer rm -f "$FPIN"
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 1; }
"$TESTBED" up "$NS1" --queues 1 || { fail "testbed up (1 queue)" "could not build the testbed"; exit 1; }

PINS=/sys/fs/bpf/shardctl
COOKIE=$(in_ns "$TOP/$O/netns/nscookie")

# bad NAME RC REGEX CMD...: one case (case_run): CMD runs in $NS; exit RC,
# stderr matching REGEX, snapshot equal to $REF.
bad() { local name=$1; shift; case_run "$name" bad_case "$@"; }
bad_case() {
	local name=$CASE want=$1 re=$2
	shift 2
	expect_rc "$name: exit $want" "$want" in_ns "$@"
	expect_match "$name: message names the culprit" "$ERR$OUT" "$re"
	expect_snapshot "$name: host unchanged" "$REF"
}
bsc() { local name=$1 want=$2 re=$3; shift 3; bad "$name" "$want" "$re" "$SHARDCTL" "$@"; }
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)

# --- helpers: a foreign tc program, at tcx (pinned link) or as a cls_bpf filter ---
cat >"$TMP/foreign.c" <<'EOF'
/* foreign tcx DEV PIN | foreign tc DEV: attach a pass-all program named "foreign_prog". */
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	struct bpf_insn ok[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int ifindex = argc > 2 ? (int)if_nametoindex(argv[2]) : 0, prog, link;

	if (!ifindex || (strcmp(argv[1], "tc") && argc < 4))
		return 2;
	prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "foreign_prog", "GPL", ok, 2, NULL);
	if (prog < 0)
		return perror("prog load"), 1;
	if (!strcmp(argv[1], "tcx")) {
		link = bpf_link_create(prog, ifindex, 46 /* BPF_TCX_INGRESS */, NULL);
		if (link < 0 || bpf_obj_pin(link, argv[3]))
			return perror("tcx"), 1;
		return 0;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog, .handle = 1, .priority = 1);
	bpf_tc_hook_create(&hook);
	if (bpf_tc_attach(&hook, &opts))
		return perror("tc"), 1;
	return 0;
}
EOF
cc -O2 -Wall -o "$TMP/foreign" "$TMP/foreign.c" -lbpf || fail "build the foreign-program helper" "cc failed"

# A BPF object whose only program fails the verifier (reads past the context),
# and one with no program at all.
cat >"$TMP/progs.bpf.c" <<'EOF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int rejected(struct __sk_buff *skb)
{
	return *(volatile int *)((char *)skb + 4096);
}
char LICENSE[] SEC("license") = "GPL";
EOF
printf 'int data = 1;\n' >"$TMP/noprog.bpf.c"
cp "$TOP/tests/progs/shard_egress.bpf.c" "$TMP/pass.bpf.c"
for o in progs noprog pass; do
	clang -O2 -g -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c "$TMP/$o.bpf.c" -o "$TMP/$o.o" ||
		fail "build $o.o" "clang failed"
done
: >"$TMP/empty.o"
LONG=$(printf 'p%.0s' {1..130})

REF=$(snapshot)
echo "-- device names"
bsc "empty device name" 1 "'': not a valid device name" setup ""
bsc "16-character name (IFNAMSIZ)" 1 "'abcdefghijklmnop': not a valid device name" setup abcdefghijklmnop
bsc "300-character name" 1 "not a valid device name \(1 to 15" setup "$(printf 'x%.0s' {1..300})"
bsc "15-character name, no such device" 1 "abcdefghijklmno: no such network device" setup abcdefghijklmno
bsc "name with a path" 1 "nic0/\.\./lo: no such network device" setup nic0/../lo
bsc "name with a space" 1 "'?nic 0'?: no such network device" setup "nic 0"
bsc "alias-style name" 1 "nic0:1: no such network device" setup nic0:1
bsc "format string as name" 1 "%s%n%s: no such network device" setup '%s%n%s'
bsc "non-ASCII name" 1 "nïc0: no such network device" setup nïc0
bsc "name '..'" 1 "\.\.: no such network device" setup ..
bsc "name starting with a dash" 1 "-nic0: no such network device" setup -- -nic0
bsc "teardown of an unknown device" 1 "nosuch0: no such network device" teardown nosuch0
bsc "status of an unknown device" 1 "nosuch0: no such network device" status nosuch0
bsc "remap of an unknown device" 1 "nosuch0: no such network device" remap nosuch0 0 1

echo "-- numbers"
bsc "negative tx queues" 2 "invalid --tx-queues '-1'" setup nic0 --tx-queues -1
bsc "tx queues one over the limit" 2 "invalid --tx-queues '4097': .* 1 to 4096" setup nic0 --tx-queues 4097
bsc "tx queues beyond 64 bits" 2 "invalid --tx-queues '99999999999999999999999'" setup nic0 --tx-queues 99999999999999999999999
bsc "hex tx queues" 2 "invalid --tx-queues '0x4'" setup nic0 --tx-queues 0x4
bsc "tx queues with a leading space" 2 "invalid --tx-queues ' 4'" setup nic0 --tx-queues " 4"
bsc "tx queues with a trailing space" 2 "invalid --tx-queues '4 '" setup nic0 --tx-queues "4 "
bsc "empty tx queues" 2 "invalid --tx-queues ''" setup nic0 --tx-queues ""
bsc "zero shards" 2 "invalid --shards '0'" setup nic0 --shards 0
bsc "shards over 256" 2 "invalid --shards '257': .* 1 to 256" setup nic0 --shards 257
bsc "fractional shards" 2 "invalid --shards '2.5'" setup nic0 --shards 2.5
bsc "remap: negative rx queue" 2 "'-1'" remap nic0 -1 0
bsc "remap: rx queue 256" 2 "invalid rx queue '256'" remap nic0 256 0
bsc "remap: huge shard" 2 "invalid shard '99999999999999999999'" remap nic0 0 99999999999999999999
bsc "remap: non-numeric shard" 2 "invalid shard 'one'" remap nic0 0 one

echo "-- modes and flags"
bsc "empty attach mode" 2 "unknown attach mode ''" setup nic0 --attach ""
bsc "attach mode in capitals" 2 "unknown attach mode 'TCX'" setup nic0 --attach TCX
bsc "empty lookup" 2 "unknown lookup method ''" setup nic0 --lookup ""
bsc "lookup in capitals" 2 "unknown lookup method 'MAP'" setup nic0 --lookup MAP
bsc "option missing its argument" 2 "missing argument: '--tx-queues'" setup nic0 --tx-queues
bsc "argument to a flag" 2 "'--force=yes'" setup nic0 --force=yes
bsc "unknown short flag" 2 "unknown option '-Z'" setup nic0 -Z
bsc "status: unknown flag" 2 "'--bogus'" status --bogus
bsc "teardown: unknown flag" 2 "unknown option '-z'" teardown -z
bsc "remap: setup's flag" 2 "'--dry-run'" remap nic0 0 1 --dry-run
bsc "status: extra argument" 2 "expected at most one device, got 2" status nic0 extra
bsc "teardown: extra argument" 2 "expected at most one device, got 2" teardown nic0 extra
bsc "remap: missing argument" 2 "expected DEV RXQ SHARD, got 2" remap nic0 0
bsc "remap: extra argument" 2 "expected DEV RXQ SHARD, got 4" remap nic0 0 1 2
bsc "no command" 2 "Usage: shardctl COMMAND"

echo "-- shard qdisc specs and programs"
bsc "qdisc: burst without a value" 2 "spec: 'burst' needs a value" setup nic0 --shard-qdisc "htb rate 1mbit burst"
bsc "qdisc: latency without a value" 2 "spec: 'latency' needs a value" setup nic0 --shard-qdisc "tbf rate 1mbit burst 10k latency"
bsc "qdisc: rate overflow" 2 "spec: bad rate '99999999999tbit'" setup nic0 --shard-qdisc "htb rate 99999999999tbit"
bsc "qdisc: rate 1e309 (inf)" 2 "spec: bad rate '1e309bit'" setup nic0 --shard-qdisc "htb rate 1e309bit"
bsc "qdisc: rate nan" 2 "spec: bad rate 'nanmbit'" setup nic0 --shard-qdisc "htb rate nanmbit"
bsc "qdisc: zero rate" 2 "spec: bad rate '0bit'" setup nic0 --shard-qdisc "tbf rate 0bit burst 1k latency 1ms"
bsc "qdisc: limit overflow" 2 "spec: bad limit '99999999999'" setup nic0 --shard-qdisc "pfifo limit 99999999999"
bsc "qdisc: negative limit" 2 "spec: bad limit '-1'" setup nic0 --shard-qdisc "bfifo limit -1"
bsc "qdisc: kind in capitals" 2 "spec: unknown qdisc 'HTB'" setup nic0 --shard-qdisc "HTB rate 1mbit"
bsc "qdisc: tbf with both latency and limit" 2 "spec: tbf needs either latency or limit" \
	setup nic0 --shard-qdisc "tbf rate 1mbit burst 10k latency 10ms limit 1k"
bsc "prog: empty path" 1 "--shard-prog : No such file" setup nic0 --shard-prog ""
bsc "prog: a directory" 1 "--shard-prog /tmp: not a BPF object" setup nic0 --shard-prog /tmp
bsc "prog: an empty file" 1 "empty.o: not a BPF object" setup nic0 --shard-prog "$TMP/empty.o"
bsc "prog: a host ELF binary" 1 "/bin/true: not a BPF object" setup nic0 --shard-prog /bin/true
bsc "prog: path over 127 characters" 1 "--shard-prog: path longer than 127" setup nic0 --shard-prog "/tmp/$LONG.o"
bsc "prog: object without programs" 1 "noprog.o: no program in section '\(any\)'" setup nic0 --shard-prog "$TMP/noprog.o"
bsc "prog: empty section name" 1 "no program in section ''" setup nic0 --shard-prog "$TMP/progs.o:"
bsc "prog: wrong section" 1 "no program in section 'xdp'" setup nic0 --shard-prog "$TMP/progs.o:xdp"
bsc "prog: rejected by the verifier" 1 "progs.o: load failed" setup nic0 --shard-prog "$TMP/progs.o:rejected"

echo "-- devices that cannot be sharded"
in_ns ip link add name br0 type bridge && in_ns ip link set br0 up
in_ns ip link add name vy0 type veth peer name vy1 && in_ns ip link set vy1 up
in_ns ip link add name nic9 link nic0 type macvlan
REF=$(snapshot)
bsc "a bridge (one rx queue)" 1 "br0: has 1 active rx queue: nothing to shard" setup br0
bsc "the other end of a veth" 1 "vy1: is a veth" setup vy1
bsc "a device that is down" 1 "nic9: is down" setup nic9
in_ns ip link set nic9 up
REF=$(snapshot)
bsc "a macvlan on the NIC" 1 "nic9: has 1 active rx queue" setup nic9
in_ns ip link del br0; in_ns ip link del vy0; in_ns ip link del nic9
REF=$(NS=$NS1 snapshot)
NS=$NS1 bsc "a single-queue TAP" 1 "nic0: has 1 active rx queue: nothing to shard" setup nic0
in_ns ip link set nic0 down
REF=$(snapshot)
bsc "the NIC, down" 1 "nic0: is down: .*bring it up" setup nic0
in_ns ip link set nic0 up
in_ns ip route add default dev nic0
REF=$(snapshot)
bsc "the NIC carrying the default route" 1 "nic0: carries the default route.*--force" setup nic0
in_ns ip route del default dev nic0

echo "-- what others own"
in_ns "$TMP/foreign" tcx nic0 "$FPIN" ||
	fail "attach a foreign tcx program" "helper failed"
REF=$(snapshot)
bsc "a foreign tcx program on the NIC" 1 "nic0: ingress already runs a foreign tcx program 'foreign_prog'" setup nic0
bsc "teardown leaves a foreign tcx program alone" 0 "nothing set up on nic0" teardown nic0
rm -f "$FPIN"
in_ns "$TMP/foreign" tc nic0 || fail "attach a foreign cls_bpf program" "helper failed"
REF=$(snapshot)
bsc "a foreign cls_bpf program on the NIC" 1 "nic0: ingress already runs a foreign tc program 'foreign_prog'" setup nic0
bsc "teardown leaves a foreign cls_bpf alone" 0 "nothing set up on nic0" teardown nic0
in_ns tc qdisc del dev nic0 clsact
in_ns ip link add name nic0-r2 type bridge
REF=$(snapshot)
bsc "a shard name taken by a bridge" 1 "nic0: shard device name nic0-r2 is taken" setup nic0
in_ns ip link del nic0-r2
in_ns ip link add name nic0-s0 type veth peer name other0
in_ns ip link set nic0-s0 alias "somebody else's"
REF=$(snapshot)
bsc "a shard name taken by an aliased veth" 1 "shard device name nic0-s0 is taken" setup nic0
in_ns ip link set nic0-s0 alias "shardctl nic=99 shard=0 role=egress"
REF=$(snapshot)
bsc "a shard name taken by another NIC's shard" 1 "shard device name nic0-s0 is taken" setup nic0
in_ns ip link del nic0-s0
REF=$(snapshot)
bsc "teardown of a device set up by nobody" 0 "nothing set up on nic0" teardown nic0
bsc "teardown of loopback" 0 "nothing set up on lo" teardown lo

echo "-- the environment"
# Kernel BTF hidden in a private mount namespace (the host's stays as it
# is): the shard programs use uapi __sk_buff offsets, no CO-RE, so setup
# must not need it. (Only the tracing commands do.)
expect_rc "kernel BTF missing: setup still works (no CO-RE in the shard programs)" 0 \
	in_ns unshare --mount --propagation private sh -c \
	'mount --bind /dev/null /sys/kernel/btf/vmlinux && exec "$0" setup nic0' "$SHARDCTL"
expect_rc "kernel BTF missing: teardown" 0 sc teardown nic0
expect_snapshot "kernel BTF missing: host back as it was" "$REF"
# bpffs not mountable: no bpffs in a private mount namespace, and no CAP_SYS_ADMIN.
bad "bpffs not mountable" 1 "mounting bpffs on /sys/fs/bpf: Operation not permitted" \
	unshare --mount --propagation private sh -c \
	'while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 3; done
	 exec capsh --drop=cap_sys_admin -- -c "exec \"\$0\" setup nic0" "$0"' "$SHARDCTL"
bad "setup as nobody" 1 "nic0|/run/shardctl.*(Permission denied|Operation not permitted)" \
	"${NOBODY[@]}" "$SHARDCTL" setup nic0
bad "setup without capabilities" 1 "Operation not permitted|Permission denied" \
	capsh --drop=cap_net_admin,cap_sys_admin,cap_bpf -- -c "exec \"\$0\" setup nic0" "$SHARDCTL"

echo "-- least privilege"
# Setup and teardown run no program (no ip, no tc): one execve, shardctl's own.
# (LeakSanitizer stops the world with ptrace, which fails under strace: no leak check here.)
command -v strace >/dev/null || fail "strace" "not installed: the exec checks below cannot run"
NOLSAN="ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0"
expect_rc "setup nic0 under strace" 0 in_ns env "$NOLSAN" strace -f -qq -e trace=execve -o "$TMP/exec.setup" "$SHARDCTL" setup nic0
expect_eq "setup execs nothing" "$(grep -c 'execve(' "$TMP/exec.setup")" 1
DIR=$PINS/$COOKIE/$(in_ns ip -j link show nic0 | jq -r '.[0].ifindex')
expect_eq "pin root, namespace and device dirs are root's alone (0700)" \
	"$(stat -c '%a %U' "$PINS" "$PINS/$COOKIE" "$DIR" | sort -u | tr '\n' ' ')" "700 root "
expect_ge "the pin dir holds the maps and links" "$(find "$DIR" -type f | wc -l)" 4
expect_eq "no pin readable or writable by group or others" "$(find "$DIR" -perm /077 | wc -l)" 0
expect_eq "/run/shardctl is root's alone (0700)" "$(stat -c '%a %U' /run/shardctl)" "700 root"
expect_eq "no lock file open to group or others" "$(find /run/shardctl -perm /077 | wc -l)" 0

echo "-- against a complete setup"
REF=$(snapshot)
bsc "re-run with another tx queue count" 1 "nic0: already set up with another tx queue count" setup nic0 --tx-queues 2
bsc "re-run with another lookup" 1 "nic0: already set up with another lookup method" setup nic0 --lookup const
bsc "re-run with another attach mode" 1 "nic0: already set up with another attach mode" setup nic0 --attach tc
bsc "re-run with a shard program" 1 "nic0: already set up with another shard program" setup nic0 --shard-prog "$TMP/pass.o:eg_pass"
bsc "a shard device as DEV" 1 "nic0-s0: is itself a shardctl shard device" setup nic0-s0
bsc "a return device as DEV" 1 "nic0-r3: is itself a shardctl shard device" setup nic0-r3
bsc "remap: shard one past the last" 1 "nic0: shard 4 out of range \(it has 4: 0-3\)" remap nic0 0 4
bad "status as nobody" 1 "shardctl.*(Permission denied|Operation not permitted)" "${NOBODY[@]}" "$SHARDCTL" status nic0
bad "teardown as nobody" 1 "(Permission denied|Operation not permitted)" "${NOBODY[@]}" "$SHARDCTL" teardown nic0
bad "remap as nobody" 1 "(Permission denied|Operation not permitted)" "${NOBODY[@]}" "$SHARDCTL" remap nic0 0 1
in_ns ip link del nic0-s2
REF=$(snapshot)
bsc "remap of an incomplete setup" 1 "nic0: setup is incomplete \(shard 2: veth pair missing\)" remap nic0 0 1
expect_rc "teardown under strace" 0 in_ns env "$NOLSAN" strace -f -qq -e trace=execve -o "$TMP/exec.teardown" "$SHARDCTL" teardown nic0
expect_eq "teardown execs nothing" "$(grep -c 'execve(' "$TMP/exec.teardown")" 1

echo
case_summary "bad input"
expect_ge "at least 40 bad-input cases" "$TRIED" 40
expect_eq "every bad-input case held" "$HELD" "$TRIED"
