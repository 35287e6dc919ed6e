#!/usr/bin/env bash
# Fuzzing: every libFuzzer harness in tests/fuzz/ (one per parser of outside
# input: command line, --shard-qdisc, softnet_stat, kallsyms, lookup/attach
# words, our ifalias, shard names) first replays its corpus
# tests/fuzz/corpus/NAME/ (seeds and every crash found so far), then fuzzes
# for FUZZ_TIME seconds (default 12; `make fuzz` runs them for longer).
# Built with clang -fsanitize=fuzzer,address,undefined (`make fuzz-build`).
source "$(dirname "$0")/lib.sh"

FUZZ_TIME=${FUZZ_TIME:-12}
TMP=$(mktemp -d /tmp/sc-fuzz.XXXXXX)
defer rm -rf "$TMP"
BIN=$TOP/build/fuzz/bin

make -s -C "$TOP" -j"$(nproc)" O=build fuzz-build >"$TMP/build.log" 2>&1 ||
	{ fail "build the fuzz harnesses" "$(tail -5 "$TMP/build.log" | tr '\n' ' ')"; exit 1; }

TRIED=0 HELD=0 SUMMARY=()
for src in "$TOP"/tests/fuzz/*.c; do
	n=$(basename "$src" .c)
	TRIED=$((TRIED + 1))
	seeds=$TOP/tests/fuzz/corpus/$n
	mkdir -p "$TMP/$n"
	# New inputs go to $TMP/$n; the checked-in corpus is only read.
	"$BIN/$n" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=1024 -close_fd_mask=3 \
		-print_final_stats=1 -artifact_prefix="$TMP/$n-" "$TMP/$n" ${seeds:+"$seeds"} \
		>"$TMP/$n.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/$n.log")
	if [ "$rc" -eq 0 ]; then
		pass "$n: ${runs:-?} inputs, no crash"
		HELD=$((HELD + 1))
		SUMMARY+=("$n: ${runs:-?} inputs in ${FUZZ_TIME} s, no crash")
	else
		crash=$(ls "$TMP/$n"-* 2>/dev/null | head -1)
		fail "$n: ${runs:-?} inputs" "$(grep -m1 -E 'runtime error|ERROR: ' "$TMP/$n.log") ${crash:+(input: $(od -An -c "$crash" | head -2 | tr -s ' \n' ' '))}"
		SUMMARY+=("$n: crashed after ${runs:-?} inputs")
	fi
done
expect_ge "every parser has a harness (cli, qspec, softnet, kallsyms, names)" "$TRIED" 5

echo
for l in "${SUMMARY[@]}"; do echo "  $l"; done
echo "fuzz: $TRIED harnesses tried, $HELD held"
