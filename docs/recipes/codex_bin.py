import subprocess

import codex_runtime  # pip install codex-runtime: the tool and this module, no Rust needed

# The pinned, verified codex runtime (a pathlib.Path); installed on first use, then answered from
# the cache. codex_bin(version="0.163.0"), codex_bin(version_from="pyproject.toml") pin another.
codex_bin = codex_runtime.codex_bin()

if __name__ == "__main__":
    # Hand the path to the SDK: Codex(CodexConfig(codex_bin=str(codex_bin))); here we just run it.
    print(subprocess.run([codex_bin, "--version"], check=True, capture_output=True, text=True).stdout.strip())
