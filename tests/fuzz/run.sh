#!/bin/bash
# Builds the fuzz targets with clang (libFuzzer, ASan, UBSan) from the
# library's sources and runs each for a bounded time on its seed corpus.
# Any crash, leak or sanitizer report fails the test.
. "$(dirname "$0")/../lib.sh"
SECS=${FUZZ_SECONDS:-20}
CLANG=$(command -v clang-14 || command -v clang || true)
if [ -z "$CLANG" ] || ! "$CLANG" -fsanitize=fuzzer -x c -o /dev/null - \
    <<<'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' 2>/dev/null; then
	if [ "${MAILCANARY_REQUIRE_INTEGRATION:-0}" = 1 ]; then
		echo "Bail out! clang with libFuzzer (clang-14, libclang-rt-14-dev) is missing"; exit 1
	fi
	echo "1..0 # SKIP no clang with libFuzzer"; exit 0
fi
OUT=$(mktemp -d); CLEANUP+=("rm -rf $OUT /tmp/mc-fuzz-state-*")
src=$top_srcdir
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src/lib $LIB_DEFS $(pkg-config --cflags $LIB_PKGS)"
libs="$(pkg-config --libs $LIB_PKGS) -lm"
lsan_glib_suppressions "$OUT/lsan.supp"
for t in mail state ndr authres; do
	secs=$SECS
	[ $t = ndr ] && secs=${FUZZ_NDR_SECONDS:-60}
	# shellcheck disable=SC2086
	if "$CLANG" $flags -o "$OUT/fuzz_$t" "$src/tests/fuzz/fuzz_$t.c" $LIB_SOURCES $libs 2>"$OUT/build_$t.log"; then
		ok "fuzz_$t builds with ASan/UBSan/libFuzzer"
	else
		not_ok "fuzz_$t builds with ASan/UBSan/libFuzzer"; diag "$(tail -5 "$OUT/build_$t.log")"; continue
	fi
	mkdir -p "$OUT/corpus_$t"
	if [ $t = ndr ]; then
		for m in "$src"/tests/ndr/*/message.eml; do
			cp "$m" "$OUT/corpus_$t/$(basename "$(dirname "$m")").eml"
		done
	else
		cp "$src"/tests/fuzz/corpus/$t/* "$OUT/corpus_$t/"
	fi
	if (cd "$OUT" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    LSAN_OPTIONS=suppressions="$OUT/lsan.supp" \
	    "./fuzz_$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
	    "corpus_$t" >"$OUT/run_$t.log" 2>&1); then
		runs=$(grep -oE 'Done [0-9]+ runs' "$OUT/run_$t.log" | grep -oE '[0-9]+')
		ok "fuzz_$t: ${secs}s, ${runs:-?} inputs, no crash, leak or sanitizer report"
	else
		not_ok "fuzz_$t: a crash, leak or sanitizer report"
		diag "$(grep -E 'ERROR|SUMMARY|runtime error|Seed:|abort|#[0-9]+ 0x' "$OUT/run_$t.log" | head -20)"
		# The input that did it, kept for a person (the rest goes).
		keep=/tmp/mailcanary-fuzz-$t-crash.$$
		mkdir -p "$keep" && cp "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-* \
		    "$OUT/run_$t.log" "$keep/" 2>/dev/null && diag "input and log kept in $keep"
	fi
done
done_testing
