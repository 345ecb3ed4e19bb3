import json
import subprocess


def codex_bin() -> str:
    """The pinned, verified codex runtime; installed on first use, then answered from the cache."""
    out = subprocess.run(
        ["codex-runtime", "path", "--json"], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)["path"]


if __name__ == "__main__":
    # Hand the path to the SDK (the Python SDK's `codex_bin` option); here we just run it.
    print(subprocess.run([codex_bin(), "--version"], check=True, capture_output=True, text=True).stdout.strip())
