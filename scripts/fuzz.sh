#!/bin/sh
# Fuzz the parsers that read untrusted bytes, each for a bounded time.
#
#   scripts/fuzz.sh [TARGET...]      FUZZ_SECONDS=60 per target (default), FUZZ_JOBS unused
#
# Targets: manifest, extract_tar_gz, extract_zip, jsonrpc_line (default: all four). Needs
# cargo-fuzz (installed with `cargo install cargo-fuzz` when missing). libFuzzer's flags need a
# nightly compiler; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks them. The corpus grows in
# fuzz/corpus/TARGET, starting from the seeds in fuzz/seeds/TARGET; a crash is saved in
# fuzz/artifacts/TARGET and turned into a regression test by hand. Exits 1 if any target crashed.
set -eu

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
if [ "$#" -eq 0 ]; then
    set -- manifest extract_tar_gz extract_zip jsonrpc_line
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
failed=""
summary=""
for target in "$@"; do
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/logs/$target.log"
    mkdir -p fuzz/logs
    echo "fuzzing $target for ${seconds}s" >&2
    status=0
    cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -1)
    if [ "$status" -ne 0 ]; then
        failed="$failed $target"
        tail -40 "$log" >&2
        summary="$summary
$target: CRASHED (exit $status), see $log and fuzz/artifacts/$target/"
    else
        summary="$summary
$target: ${runs:-no run count in $log}, no crash"
    fi
done
echo "$summary"
if [ -n "$failed" ]; then
    echo "crashed:$failed" >&2
    exit 1
fi
