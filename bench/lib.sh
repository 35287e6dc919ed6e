# shellcheck shell=bash
# Helpers the benchmarks share (every bench/ script sources this file).
# Only plumbing: progress lines, namespaces, clocks, host facts, cleanup. What a benchmark measures
# and prints stays in it, and nothing here records or judges a result
# (tests/lib.sh's RESULTS, pass and fail are the tests' own).
#
# BENCH_NAME (set before sourcing) prefixes die's message.

# say MSG...: a progress line on stderr, with the time of day.
say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
# die MSG...: say "BENCH_NAME: MSG" and exit 1.
die() { say "${BENCH_NAME:-bench}: $*"; exit 1; }
# in_netns NS CMD...: CMD in network namespace NS only (nsenter, not
# `ip netns exec`, which would also remount /sys and hide the host's
# /sys/fs/bpf, so pins would not survive between commands).
in_netns() { nsenter --net="/var/run/netns/$1" "${@:2}"; }
# now_ns, now_ms: wall clock in nanoseconds / milliseconds.
now_ns() { date +%s%N; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# host_facts: "key<TAB>value" lines saying where and on what a run measured:
# kernel, cpus, cpu_model, date, commit (+changes when bench/, dataplane/,
# bpf/ or ctl/ differ from it).
host_facts() {
	printf 'kernel\t%s\ncpus\t%s\ncpu_model\t%s\ndate\t%s\ncommit\t%s%s\n' "$(uname -r)" "$(nproc)" \
		"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" "$(date -u '+%F %T UTC')" \
		"$(git rev-parse --short HEAD 2>/dev/null)" \
		"$(git --no-optional-locks diff --quiet HEAD -- bench dataplane bpf ctl 2>/dev/null || echo +changes)"
}

# `tc ... bpf obj` makes iproute2 create its own bpffs tree (tc/globals and
# the ip, xdp links to it). iproute_bpffs_mark before the first such tc
# call, iproute_bpffs_clean in the cleanup: the tree goes again unless it
# was there before.
iproute_bpffs_mark() { IPROUTE_BPFFS_WAS_THERE=$([ -e /sys/fs/bpf/tc ] && echo 1); }
iproute_bpffs_clean() {
	[ -z "${IPROUTE_BPFFS_WAS_THERE-1}" ] || return 0
	rm -f /sys/fs/bpf/ip /sys/fs/bpf/xdp
	rmdir /sys/fs/bpf/tc/globals /sys/fs/bpf/tc 2>/dev/null
	return 0
}
