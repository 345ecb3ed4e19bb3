"""The pinned, verified codex runtime for Python code.

The wheel that carries this module also puts the ``codex-runtime`` executable in the
environment's scripts directory; :func:`codex_bin` runs its ``path --json`` and returns the
runtime's entrypoint, installing it first when it is not cached::

    import codex_runtime
    from openai_codex import Codex, CodexConfig

    codex = Codex(CodexConfig(codex_bin=str(codex_runtime.codex_bin())))
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
from typing import Optional, Union

__all__ = ["CodexRuntimeError", "codex_bin", "executable"]

#: An environment variable naming a ``codex-runtime`` binary to run instead of the bundled one.
BINARY_ENV = "CODEX_RUNTIME_BINARY"

_EXE = "codex-runtime.exe" if os.name == "nt" else "codex-runtime"


class CodexRuntimeError(RuntimeError):
    """``codex-runtime`` failed: ``message`` is what it said, ``exit_code`` its documented exit
    code (3 not installed and not allowed to install, 4 verification failed, 5 no source could
    provide the runtime; see the README's exit codes)."""

    def __init__(self, message: str, exit_code: int, command: list, stderr: str = ""):
        super().__init__(f"{message} (codex-runtime exited with {exit_code})" if command else message)
        self.message = message
        self.exit_code = exit_code
        self.command = command
        #: Everything the tool wrote on stderr (its human messages).
        self.stderr = stderr


def executable() -> pathlib.Path:
    """The ``codex-runtime`` executable: ``$CODEX_RUNTIME_BINARY``, else the one this
    distribution installed beside this interpreter (the environment's scripts directory, or
    the user scheme's for ``pip install --user``), else the first on ``PATH``."""
    override = os.environ.get(BINARY_ENV)
    if override:
        return pathlib.Path(override)
    candidates = [sysconfig.get_path("scripts")]
    try:
        user_scheme = sysconfig.get_preferred_scheme("user")
    except AttributeError:  # Python before 3.10
        user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        candidates.append(sysconfig.get_path("scripts", user_scheme))
    candidates.append(os.path.dirname(sys.executable))
    for directory in candidates:
        if directory:
            path = pathlib.Path(directory, _EXE)
            if path.is_file():
                return path
    found = shutil.which("codex-runtime")
    if found:
        return pathlib.Path(found)
    raise CodexRuntimeError(
        f"the codex-runtime executable is not in {candidates[0]} nor on PATH: "
        f"reinstall the codex-runtime distribution, or set {BINARY_ENV}",
        127,
        [],
    )


def codex_bin(
    version: Optional[str] = None,
    channel: Optional[str] = None,
    version_from: Optional[Union[str, os.PathLike]] = None,
) -> pathlib.Path:
    """The entrypoint of the pinned, verified codex runtime (installed first when it is not
    cached): ``codex-runtime path --json`` with ``--version``, ``--channel`` and
    ``--version-from`` when given. The cache, mirror and registries come from the environment
    as for the command (``CODEX_RUNTIME_CACHE_DIR``, ``CODEX_RUNTIME_MIRROR``, ...).

    Raises :class:`CodexRuntimeError` with the tool's message and exit code when it fails."""
    command = [str(executable()), "path", "--json"]
    if version is not None:
        command += ["--version", str(version)]
    if channel is not None:
        command += ["--channel", str(channel)]
    if version_from is not None:
        command += ["--version-from", os.fspath(version_from)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError as e:
        raise CodexRuntimeError(f"cannot run {command[0]}: {e}", 127, command) from e
    if done.returncode != 0:
        # With --json the tool prints {"error": {"message", "exit_code"}} on stdout.
        message = done.stderr.strip()
        try:
            message = json.loads(done.stdout)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            pass
        raise CodexRuntimeError(message or f"{command[0]} failed", done.returncode, command, done.stderr)
    return pathlib.Path(json.loads(done.stdout)["path"])
