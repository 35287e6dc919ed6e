# shellcheck shell=bash
# The hairpin testbed the throughput benchmarks share (bench/run phase 1+2,
# bench/sweep, bench/hop source this after bench/lib.sh): a 4-queue TAP
# (nic0 in namespace $NS), the five configurations (a)-(e) and one
# measured sample of traffic through them.
#
# The caller sets NS, SNAP (a private copy of the binaries, see
# hairpin_snapshot), WORK (a scratch directory), SECS (window seconds),
# BGPIDS (an array its cleanup kills) and defines sc() (shardctl in $NS).
# FILTERS (u32 filters that never match, default 500), HP_CPUS (the sender
# CPUs, default 0,1), SHARD_QDISC, CPU_MIN, TRIES and QUIET_BUDGET may be
# set before or between calls.

FILTERS=${FILTERS:-500}
HP_CPUS=${HP_CPUS:-0,1}
SHARD_QDISC=${SHARD_QDISC:-htb rate 10gbit}
CPU_MIN=${CPU_MIN:-0.95}		# a sender must get this share of its CPU (the CPUs are shared: other load steals time)
TRIES=${TRIES:-3}			# attempts per sample before keeping the best one
QUIET_BUDGET=${BENCH_QUIET_WAIT:-180}	# seconds, in all, to wait for others' load to pass

# A private copy of the binaries ($O to $SNAP): other engineers rebuild $O
# while a benchmark runs.
hairpin_snapshot() {
	local f
	mkdir -p "$SNAP/netns" "$SNAP/bpf" "$O/bench"
	for f in shardctl netns/mqtap netns/mapstress bpf/shard.bpf.o; do
		[ -f "$O/$f" ] || die "$O/$f missing: run make (make bench builds it)"
		cp "$O/$f" "$SNAP/$f.tmp" && mv "$SNAP/$f.tmp" "$SNAP/$f" || die "cannot copy $O/$f"
	done
	"$SNAP/shardctl" contention --help >/dev/null 2>&1 || die "shardctl has no contention command"
	clang -g -O2 -target bpf -Wall -Werror -I"$O" -c "$TOP/bench/hairpin.bpf.c" -o "$SNAP/hairpin.bpf.o" ||
		die "cannot build bench/hairpin.bpf.c"
}

# N u32 filters on DEV PARENT that never match, all at one priority: one
# list walked linearly under the qdisc lock, as on netns/contended.sh's
# testbed. The destinations are 198.19.128.1 and up: mqtap's frames go to
# 198.19.0.1 (netns/frames.c), and a filter list that starts with it matches
# every frame at its first entry (before 2026-12 it did, so the "500
# filters" of earlier results classified with one; cfg_check guards it).
HP_TRAFFIC_DST=c6130001		# 198.19.0.1, as u32 prints it
filter_lines() {
	local i
	for ((i = 0; i < FILTERS; i++)); do
		echo "filter add dev $1 parent $2 protocol ip prio 1 u32 match ip dst 198.19.$((128 + i / 250)).$((i % 250 + 1))/32 flowid $3"
	done
}

htb_lines() {	# DEV PARENT HANDLE: htb with one 10gbit default class, as --shard-qdisc makes it
	if [ "$2" = root ]; then echo "qdisc replace dev $1 root handle $3: htb default 1"
	else echo "qdisc add dev $1 parent $2 handle $3: htb default 1"; fi
	echo "class add dev $1 parent $3: classid $3:1 htb rate 10gbit"
	filter_lines "$1" "$3:" "$3:1"
}

hairpin_on() {
	tc -n "$NS" qdisc add dev nic0 clsact &&
		tc -n "$NS" filter add dev nic0 ingress bpf da obj "$SNAP/hairpin.bpf.o" sec tc
}

# Active tx queues: one default child per queue under the default mq root.
nic_txq() { tc -n "$NS" -j qdisc show dev nic0 | jq '[.[] | select(.parent != null)] | length'; }

# Bring configuration $1 up on nic0 in $NS; extra arguments go to shardctl
# setup in (c) and (d).
cfg_up() {
	local i cfg=$1
	shift
	case "$cfg" in
	a) { htb_lines nic0 root 1; } | tc -n "$NS" -batch - 2>/dev/null && hairpin_on ;;
	b) hairpin_on ;;
	c) sc setup nic0 --shard-qdisc "$SHARD_QDISC" "$@" >/dev/null &&
		for ((i = 0; i < 4; i++)); do filter_lines "nic0-s$i" 1: 1:1; done | tc -n "$NS" -batch - ;;
	d) sc setup nic0 "$@" >/dev/null ;;
	e) { echo "qdisc replace dev nic0 root handle 1: mq"
	     for ((i = 1; i <= 4; i++)); do htb_lines nic0 "1:$i" "$((10 + i))"; done; } |
		tc -n "$NS" -batch - 2>/dev/null && hairpin_on ;;
	*) die "no configuration $cfg" ;;
	esac
}

cfg_down() {
	sc teardown nic0 >/dev/null || return 1
	tc -n "$NS" qdisc del dev nic0 clsact 2>/dev/null
	tc -n "$NS" qdisc del dev nic0 root 2>/dev/null
	# Back to the default root: mq with one pfifo_fast per tx queue.
	[ "$(tc -n "$NS" -j qdisc show dev nic0 | jq -r '[.[] | select(.root)][0].kind')" = mq ]
}

# What the configuration must show in the kernel, so a silently failed
# step cannot pass for a measurement: u32 filters per qdisc, shard count.
# u32 numbers a filter list's nodes 800::N up to 800::fff (4095) and goes on
# in a new hash table past that, so count the filters by their match lines.
cfg_check() {
	local n want
	case "$1" in
	a) n=$(tc -n "$NS" filter show dev nic0 parent 1: | grep -c 'match '); want=$FILTERS ;;
	b) n=$(tc -n "$NS" -j qdisc show dev nic0 | jq '[.[] | select(.kind == "htb")] | length'); want=0 ;;
	c) n=$(for i in 0 1 2 3; do tc -n "$NS" filter show dev "nic0-s$i" parent 1: | grep -c 'match '; done | paste -sd+ | bc)
	   want=$((4 * FILTERS)) ;;
	d) n=$(sc status nic0 -j | jq '[.[0].shards[] | select(.qdisc.kind == "noqueue")] | length'); want=4 ;;
	e) n=$(for i in 11 12 13 14; do tc -n "$NS" filter show dev nic0 parent "$i": | grep -c 'match '; done | paste -sd+ | bc)
	   want=$((4 * FILTERS)) ;;
	esac
	[ "$n" = "$want" ] || die "config $1: found $n, want $want (filters or shards)"
	! tc -n "$NS" filter show dev nic0 parent 1: 2>/dev/null | grep -q "match $HP_TRAFFIC_DST/" ||
		die "config $1: a filter matches the traffic's destination"
}

# Busy share of all CPUs over 0.5 s, from /proc/stat (idle + iowait are idle).
cpu_busy() {
	local a b
	a=$(head -1 /proc/stat); sleep 0.5; b=$(head -1 /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { n = split(a, x); split(b, y)
		for (i = 2; i <= n; i++) { t += y[i] - x[i]; if (i == 5 || i == 6) id += y[i] - x[i] }
		printf "%.2f\n", t ? 1 - id / t : 0 }'
}

# Other engineers' tests share these 2 CPUs: before a sample, wait (within
# QUIET_BUDGET for the whole run) until the machine is nearly idle.
wait_quiet() {
	local b
	while :; do
		b=$(cpu_busy)
		(( $(echo "$b <= 0.15" | bc -l) )) && return 0
		if [ "$QUIET_BUDGET" -le 0 ]; then return 0; fi
		say "  machine $(printf %.0f "$(echo "$b * 100" | bc -l)")% busy before the sample; waiting (${QUIET_BUDGET}s of waiting left)"
		sleep 2
		QUIET_BUDGET=$((QUIET_BUDGET - 2))
	done
}

tx_frames() { ip -n "$NS" -s -j link show nic0 | jq '.[0].stats64.tx.packets + .[0].stats64.tx.dropped'; }

# CPU time (ns, schedstat) of the hairpin's work: the sender threads of
# mqtap $1, ksoftirqd/0,1 in case softirqs overflow to them, and the
# threads in HP_EXTRA_PIDS (a caller's, e.g. threaded NAPI). Without
# CONFIG_IRQ_TIME_ACCOUNTING (off here) softirqs run on a sender's exit
# from local_bh_disable are charged to the sender.
HP_EXTRA_PIDS=()
work_ns() {
	local p files=(/proc/"$1"/task/*/schedstat /proc/"$KSOFTIRQD0"/schedstat /proc/"$KSOFTIRQD1"/schedstat)
	for p in "${HP_EXTRA_PIDS[@]}"; do files+=("/proc/$p/schedstat"); done
	cat "${files[@]}" 2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

hairpin_up() {	# the testbed in $NS
	KSOFTIRQD0=$(ps -eo pid=,comm= | awk '$2 == "ksoftirqd/0" { print $1 }')
	KSOFTIRQD1=$(ps -eo pid=,comm= | awk '$2 == "ksoftirqd/1" { print $1 }')
	O=$SNAP netns/testbed up "$NS" --queues 4 || die "testbed up $NS"
	[ "$(nic_txq)" = 4 ] || die "nic0 in $NS: $(nic_txq) tx queues, want 4"
}
hairpin_down() { O=$SNAP netns/testbed down "$NS"; }

# One sample: senders on HP_CPUS for 2 windows; window 1 counts frames out
# of nic0 with nothing else running, window 2 runs the lock sampler. Sets
# S_PPS, S_LOCK (spin %), S_NSPF (CPU ns per frame in window 1), S_UTIL
# (the share of the sender CPUs the hairpin got, the lower of the two
# windows) and, from the sampler's window, S_HOLD (root lock hold ns per
# frame, 0 unknown), S_BUSY (its utilisation) and S_QPPS (frames/s through
# nic0's root qdisc).
hairpin_sample() {
	local out=$WORK/traffic.json cont=$WORK/cont.json c0 c1 t0 t1 w0 w1 w2 t2 pid n
	n=$(tr , '\n' <<<"$HP_CPUS" | grep -c .)
	"$SNAP/netns/mqtap" traffic --ns "$NS" --threads-cpus "$HP_CPUS" --duration $((2 * SECS + 2)) \
		--rate 0 --no-read -j >"$out" 2>"$WORK/traffic.err" &
	pid=$!
	BGPIDS+=("$pid")
	sleep 0.7
	c0=$(tx_frames); w0=$(work_ns "$pid"); t0=$(now_ns)
	sleep "$SECS"
	c1=$(tx_frames); w1=$(work_ns "$pid"); t1=$(now_ns)
	sc contention nic0 --duration "$SECS" -j >"$cont" 2>"$WORK/cont.err" ||
		die "shardctl contention: $(cat "$WORK/cont.err")"
	w2=$(work_ns "$pid"); t2=$(now_ns)
	wait "$pid"
	jq -e .threads "$out" >/dev/null || die "mqtap traffic: $(cat "$WORK/traffic.err")"
	S_LOCK=$(jq '.figures.qdisc_lock_pct' "$cont")
	S_HOLD=$(jq '.hold.ns_per_frame // 0' "$cont")
	S_BUSY=$(jq '.hold.lock_busy // 0' "$cont")
	S_QPPS=$(jq '.figures.qdisc_pps // 0' "$cont")
	S_PPS=$(( (c1 - c0) * 1000000000 / (t1 - t0) ))
	S_NSPF=$(( (w1 - w0) / (c1 - c0 > 0 ? c1 - c0 : 1) ))
	# The sampler window starts after shardctl loads (t1 .. t2 is a bit longer).
	S_UTIL=$(echo "a = ($w1 - $w0) / ($n * ($t1 - $t0)); b = ($w2 - $w1) / ($n * ($SECS * 10^9));
		if (b < a) a = b; scale = 3; a / 1" | bc -l)
}

# hairpin_measure LABEL: the best of up to TRIES samples (by the share of
# their CPUs the senders got), into the S_* variables, S_TRIES the count.
hairpin_measure() {
	local try best="" bu=-1
	for ((try = 1; try <= TRIES; try++)); do
		S_TRIES=$try
		wait_quiet
		hairpin_sample
		if (( $(echo "$S_UTIL > $bu" | bc -l) )); then
			best="$S_PPS $S_LOCK $S_UTIL $S_NSPF $S_HOLD $S_BUSY $S_QPPS"; bu=$S_UTIL
		fi
		(( $(echo "$S_UTIL >= $CPU_MIN" | bc -l) )) && break
		say "  $1: senders got $(printf %.2f "$S_UTIL") of their CPUs (< $CPU_MIN), retrying"
	done
	read -r S_PPS S_LOCK S_UTIL S_NSPF S_HOLD S_BUSY S_QPPS <<<"$best"
}
