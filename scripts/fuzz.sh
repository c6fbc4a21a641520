#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), one after another, and
# prints for each: executions, executions per second, coverage (libFuzzer's cov and ft),
# corpus size and peak memory. Fails when a target finds a crash, a timeout or too much
# memory; what it found is kept in fuzz/artifacts/TARGET/.
#
#   bash scripts/fuzz.sh [--dev] [SECONDS [TARGET...]]   (every target when none is named)
#   bash scripts/fuzz.sh [--dev] build                    (only build them; the test command
#                                                          does this while its tests run)
#
# --dev: an unoptimised build (cargo fuzz --dev), for the test command's 10-second smoke
# pass. The optimised build spends about 3 minutes of one core on this crate alone
# (AddressSanitizer, coverage, opt-level 3, one codegen unit); it runs several times as many
# inputs a second, which matters for long runs, not for a smoke pass.
#
# Installs cargo-fuzz (and the nightly toolchain libFuzzer needs) when missing. The
# committed corpora in fuzz/corpus/ are copied to a temporary directory for the run, so a
# run never grows them; to keep what a long run found, merge it by hand:
#   cargo +nightly fuzz cmin TARGET   (after copying the new inputs into fuzz/corpus/TARGET)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
if [ "${1:-}" = --dev ]; then
    profile=(--dev)
    shift
fi
build_only=false
if [ "${1:-}" = build ]; then
    build_only=true
    shift
fi
seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [SECONDS [TARGET...]]" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))

# The bounds one input must stay within, under the scaled-down limits the targets use
# (fuzz/src/lib.rs, `limits()`): these are the "limits hold" properties that libFuzzer
# checks. -timeout: seconds per input. -malloc_limit_mb: largest single allocation.
# -rss_limit_mb: the whole process, AddressSanitizer's shadow and quarantine included.
bounds=(-timeout=5 -malloc_limit_mb=64 -rss_limit_mb=1536)

bash scripts/tools.sh fuzz

targets=(request_line crate_walk manifest_diff cargo_config proc_parsers audit_log)
if (($#)); then
    for t in "$@"; do
        [[ " ${targets[*]} " == *" $t "* ]] || { echo "no fuzz target $t (${targets[*]})" >&2; exit 2; }
    done
    targets=("$@")
fi

echo "==> cargo fuzz build ${profile[*]} (${targets[*]})"
cargo +nightly fuzz build "${profile[@]}"
if $build_only; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
final_stat() { awk -v k="stat::$1:" '$1 == k { print $2 }' "$log" | tail -n 1; }
field() { sed -nE "s/.* $1: ([^ ]+).*/\1/p" <<<"$last"; }
for t in "${targets[@]}"; do
    corpus="$work/corpus-$t"
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    cp fuzz/corpus/"$t"/* "$corpus"/
    log="$work/$t.log"
    echo "==> fuzz $t for ${seconds}s"
    status=0
    cargo +nightly fuzz run "${profile[@]}" "$t" "$corpus" -- \
        -max_total_time="$seconds" "${bounds[@]}" -print_final_stats=1 >"$log" 2>&1 || status=$?
    # The last status line ("#N DONE cov: C ft: F corp: U/SIZE ...") and the final stats.
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    line=$(printf '%-14s %10s runs  %7s exec/s  cov %6s  ft %6s  corpus %-12s peak %s MB' \
        "$t" "$(final_stat number_of_executed_units)" "$(final_stat average_exec_per_sec)" \
        "$(field cov)" "$(field ft)" "$(field corp)" "$(final_stat peak_rss_mb)")
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        line="$line  FAILED (exit $status)"
        echo "---- $t: last 60 lines of libFuzzer's output" >&2
        tail -n 60 "$log" >&2
        echo "---- artifacts: fuzz/artifacts/$t/ (reproduce: cargo +nightly fuzz run $t FILE)" >&2
    fi
    echo "$line"
    summary+=("$line")
done

echo "==> fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "==> fuzzing found something in: ${failed[*]}" >&2
    exit 1
fi
