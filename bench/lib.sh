# shellcheck shell=bash
# Helpers the benchmarks share (bench/run, bench/converge source this file).
# Only plumbing: progress lines, namespaces, clocks. What a benchmark measures
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
