#!/usr/bin/env bash
# Benchmark `bundle` against single installs: the six real wheels of one version, served from a
# loopback mirror (python3 -m http.server on 127.0.0.1), bundled with
# `bundle --all-platforms --format dir` into a cold cache, against six `install --target T`
# one after another into another cold cache. Prints wall times; asserts nothing.
#
# Usage: scripts/bench-bundle.sh [WHEEL_DIR] [VERSION]
#   WHEEL_DIR  a directory holding the six openai_codex_cli_bin-VERSION-py3-none-TAG.whl
#              (default /work/artifacts/dl; `pip download --no-deps --only-binary=:all:
#              --platform TAG openai-codex-cli-bin==VERSION -d DIR` fills one)
#   VERSION    default 0.163.0; must be pinned by a channel manifest
# Env: JOBS (bundle --jobs), BIN (a built codex-runtime; default: cargo build --release).
set -euo pipefail

wheels=${1:-/work/artifacts/dl}
version=${2:-0.163.0}
root=$(cd "$(dirname "$0")/.." && pwd)
targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin
         aarch64-apple-darwin x86_64-pc-windows-msvc aarch64-pc-windows-msvc)

if [[ -z ${BIN:-} ]]; then
    cargo build --release -q -p codex-runtime-cli --manifest-path "$root/Cargo.toml"
    BIN=$root/target/release/codex-runtime
fi
count=$(find "$wheels" -maxdepth 1 -name "openai_codex_cli_bin-${version}-py3-none-*.whl" | wc -l)
[[ $count -eq 6 ]] || { echo "bench-bundle: $wheels holds $count wheels of $version, not 6" >&2; exit 2; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$wheels" >"$work/http.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done
mirror="http://127.0.0.1:$port"
common=(--version "$version" --source mirror --mirror "$mirror" -q)

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }

t0=$(now)
for t in "${targets[@]}"; do
    "$BIN" --cache-dir "$work/cache-single" install --target "$t" "${common[@]}" >/dev/null
done
t1=$(now)
"$BIN" --cache-dir "$work/cache-bundle" bundle --all-platforms --format dir --out "$work/dist" \
    ${JOBS:+--jobs "$JOBS"} "${common[@]}" >/dev/null
t2=$(now)
"$BIN" --cache-dir "$work/cache-bundle" bundle --all-platforms --format dir --out "$work/dist" \
    ${JOBS:+--jobs "$JOBS"} "${common[@]}" >/dev/null
t3=$(now)
(cd "$work/dist" && sha256sum -c --quiet SHA256SUMS)

size=$(du -sh "$work/dist" | cut -f1)
echo "six wheels of $version from a loopback mirror, $(nproc) cores"
echo "six single installs, one after another:   $(elapsed "$t0" "$t1") s"
echo "bundle --all-platforms --format dir, cold: $(elapsed "$t1" "$t2") s (jobs ${JOBS:-default}, $size staged)"
echo "bundle again, cache warm (staging only):   $(elapsed "$t2" "$t3") s"
