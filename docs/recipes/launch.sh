#!/bin/sh
# Run the pinned codex with its helpers (codex-path) first on PATH.
set -eu
eval "$(codex-runtime env)"
exec "$CODEX_BIN" "$@"
