#!/usr/bin/env python3
"""Regenerate the channel manifests in channels/ from the real published artifacts.

For every target of a channel this fetches the npm platform tarball (`npm pack`) and the
PyPI runtime wheel (`pip download`) with the ordinary package clients, so the registries and
indexes come from the user's own npm and pip configuration. Every artifact is hashed by
streaming (sha256, size and the sha256 of each 8 MiB block; for npm also the sha512 integrity,
checked against npm's), opened, and its runtime root (the directory holding
`codex-package.json`) checked: `version` must be the channel version, `target` the triple, and
the entrypoint must be byte-identical in the npm tarball and the wheel. The manifest is written
byte for byte deterministically, as `codex-runtime channel update --no-github` writes it.

Usage:
    python3 scripts/update-channels.py [--channel stable|alpha|all] [--download-dir DIR] [--check]

Exit codes: 0 success, 1 `--check` found a manifest that differs, 2 any other error.
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import difflib
import hashlib
import json
import os
import posixpath
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

# The pinned version of each channel. Bump here, then rerun the script.
CHANNELS = {
    "stable": "0.163.0",
    "alpha": "0.162.0-alpha.15",
}

SCHEMA_VERSION = 1
NPM_PACKAGE = "@openai/codex"
WHEEL_DISTRIBUTION = "openai-codex-cli-bin"
GITHUB_TAG_PREFIX = "rust-v"
PACKAGE_JSON = "codex-package.json"

# (target triple, npm version suffix, wheel platform tag, entrypoint), in manifest order.
TARGETS = [
    ("x86_64-unknown-linux-musl", "linux-x64", "manylinux_2_17_x86_64", "bin/codex"),
    ("aarch64-unknown-linux-musl", "linux-arm64", "manylinux_2_17_aarch64", "bin/codex"),
    ("x86_64-apple-darwin", "darwin-x64", "macosx_10_9_x86_64", "bin/codex"),
    ("aarch64-apple-darwin", "darwin-arm64", "macosx_11_0_arm64", "bin/codex"),
    ("x86_64-pc-windows-msvc", "win32-x64", "win_amd64", "bin/codex.exe"),
    ("aarch64-pc-windows-msvc", "win32-arm64", "win_arm64", "bin/codex.exe"),
]

CHUNK = 1 << 20
# The block size of the manifest's `blocks` pins (`BlockPins::DEFAULT_SIZE`, what `channel update`
# pins).
BLOCK_SIZE = 8 << 20
REPO_ROOT = Path(__file__).resolve().parent.parent

# pip's messages when the requested wheel simply is not published.
PIP_NOT_FOUND = (
    "No matching distribution found",
    "Could not find a version that satisfies the requirement",
)
# pip's messages when the index could not be reached: never read as "not published".
PIP_NETWORK = (
    "Retrying (",
    "NewConnectionError",
    "ConnectionError",
    "Max retries exceeded",
    "SSLError",
    "ProxyError",
    "ReadTimeoutError",
    "HTTP error",
)


class Fail(Exception):
    """An error that stops the run; its message is printed as is."""


_log_lock = threading.Lock()


def log(msg: str) -> None:
    with _log_lock:
        print(f"update-channels: {msg}", file=sys.stderr, flush=True)


def pep440(version: str) -> str:
    """`0.162.0-alpha.15` -> `0.162.0a15`, `-alpha.N.M` -> `aN.postM`, `-beta.N` -> `bN`, `-rc.N` -> `rcN`."""
    m = re.fullmatch(r"(\d+\.\d+\.\d+)(?:-(alpha|beta|rc)\.(\d+)(?:\.(\d+))?)?", version)
    if not m:
        raise Fail(f"cannot spell version {version!r} in PEP 440")
    base, kind, n, post = m.groups()
    if kind is None:
        return base
    out = base + {"alpha": "a", "beta": "b", "rc": "rc"}[kind] + str(int(n))
    if post is not None:
        out += f".post{int(post)}"
    return out


def npm_file_name(package: str, version: str) -> str:
    """The file name `npm pack` gives a package: `@scope/name` -> `scope-name-VERSION.tgz`."""
    return f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def wheel_file_name(distribution: str, version: str, tag: str) -> str:
    return f"{distribution.replace('-', '_')}-{version}-py3-none-{tag}.whl"


@dataclass
class Hashes:
    sha256: str
    integrity: str  # sha512 SRI
    size: int
    blocks: list[str]  # the sha256 of each BLOCK_SIZE block, the last one shorter


def hash_file(path: Path) -> Hashes:
    """Stream a file one block at a time."""
    h256 = hashlib.sha256()
    h512 = hashlib.sha512()
    size = 0
    blocks = []
    with open(path, "rb") as f:
        # A buffered read of a regular file returns the whole block unless the file ends.
        while block := f.read(BLOCK_SIZE):
            h256.update(block)
            h512.update(block)
            blocks.append(hashlib.sha256(block).hexdigest())
            size += len(block)
    integrity = "sha512-" + base64.b64encode(h512.digest()).decode("ascii")
    return Hashes(h256.hexdigest(), integrity, size, blocks)


def hash_stream(f) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    while chunk := f.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise Fail(f"`{cmd[0]}` is not installed or not on PATH ({e})") from None


def tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def sha512_of_integrity(integrity: str) -> str | None:
    """The sha512 part of an SRI string (which may list several hashes)."""
    for part in integrity.split():
        if part.startswith("sha512-"):
            return part.split("?", 1)[0]
    return None


# ---------------------------------------------------------------------------------------------
# Fetching with the package clients.


def npm_view_integrity(spec: str) -> str:
    # A published version's integrity never changes, so npm's cache answers when it can; only
    # what the cache does not hold is asked of the registry.
    r = run(["npm", "view", "--offline", spec, "dist.integrity", "--json"])
    try:
        value = json.loads(r.stdout) if r.returncode == 0 else None
    except json.JSONDecodeError:
        value = None
    if isinstance(value, str) and value:
        return value
    r = run(["npm", "view", spec, "dist.integrity", "--json"])
    if r.returncode != 0:
        raise Fail(f"`npm view {spec} dist.integrity` failed (exit {r.returncode}):\n{tail(r.stderr)}")
    try:
        value = json.loads(r.stdout)
    except json.JSONDecodeError:
        raise Fail(f"`npm view {spec} dist.integrity --json` printed no JSON: {r.stdout[:200]!r}") from None
    if not isinstance(value, str) or not value:
        raise Fail(f"`npm view {spec}` gave no dist.integrity (got {value!r}); is the version published?")
    return value


def fetch_npm(version: str, ddir: Path) -> tuple[Path, str, str, Hashes | None]:
    """Download (or reuse) one npm platform tarball.

    Returns (path, npm's integrity, how, the file's hashes when they were already computed)."""
    spec = f"{NPM_PACKAGE}@{version}"
    expected = ddir / npm_file_name(NPM_PACKAGE, version)
    if expected.is_file():
        integrity = npm_view_integrity(spec)
        hashes = hash_file(expected)
        if hashes.integrity == sha512_of_integrity(integrity):
            return expected, integrity, "reused", hashes
        log(f"{expected.name}: cached file does not match npm's integrity; downloading again")
    tmp = Path(tempfile.mkdtemp(prefix=".npm-pack-", dir=ddir))
    try:
        r = run(["npm", "pack", spec, "--json", "--pack-destination", str(tmp)])
        if r.returncode != 0:
            raise Fail(f"`npm pack {spec}` failed (exit {r.returncode}):\n{tail(r.stderr)}")
        try:
            info = json.loads(r.stdout)
            (info,) = info
            filename, integrity, size = info["filename"], info["integrity"], info["size"]
        except (json.JSONDecodeError, ValueError, KeyError, TypeError):
            raise Fail(f"`npm pack {spec} --json` printed unexpected output: {r.stdout[:300]!r}") from None
        if info.get("name") != NPM_PACKAGE or info.get("version") != version:
            raise Fail(f"`npm pack {spec}` packed {info.get('name')}@{info.get('version')} instead")
        src = tmp / filename
        if not src.is_file() or src.stat().st_size != size:
            raise Fail(f"`npm pack {spec}` did not leave {filename} of {size} bytes in {tmp}")
        dest = ddir / filename
        os.replace(src, dest)
        return dest, integrity, "downloaded", None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_wheel(version: str, tag: str, ddir: Path) -> tuple[Path | None, str]:
    """Download (or reuse) one wheel. Returns (path or None when not published, how)."""
    expected = ddir / wheel_file_name(WHEEL_DISTRIBUTION, version, tag)
    if expected.is_file():
        return expected, "reused"
    tmp = Path(tempfile.mkdtemp(prefix=".pip-download-", dir=ddir))
    try:
        req = f"{WHEEL_DISTRIBUTION}=={version}"
        cmd = [
            sys.executable, "-m", "pip", "download",
            "--no-deps", "--only-binary=:all:", "--platform", tag,
            "--no-cache-dir", "--disable-pip-version-check",
            req, "-d", str(tmp),
        ]  # fmt: skip
        r = run(cmd)
        if r.returncode != 0:
            text = r.stdout + r.stderr
            if any(s in text for s in PIP_NOT_FOUND) and not any(s in text for s in PIP_NETWORK):
                return None, "not published"
            raise Fail(f"`pip download {req} --platform {tag}` failed (exit {r.returncode}):\n{tail(text)}")
        wheels = sorted(p for p in tmp.iterdir() if p.name.endswith(".whl"))
        if len(wheels) != 1:
            raise Fail(f"`pip download {req} --platform {tag}` left {[p.name for p in wheels]} instead of one wheel")
        src = wheels[0]
        if src.name != expected.name:
            log(f"note: for {tag} pip chose {src.name}, not {expected.name}")
        dest = ddir / src.name
        os.replace(src, dest)
        return dest, "downloaded"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Looking inside the archives.


@dataclass
class Inspected:
    root: str
    package: dict
    package_raw: bytes
    entrypoint_sha256: str
    entrypoint_size: int
    entries: int
    unpacked_size: int
    # Every regular file under the runtime root, by its path relative to the root: (sha256, size).
    files: dict[str, tuple[str, int]]


@dataclass
class Artifact:
    kind: str  # "npm" or "wheel"
    path: Path
    sha256: str
    size: int
    integrity: str | None
    blocks: list[str]
    inspected: Inspected
    notes: list[str] = field(default_factory=list)


def clean_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def find_root(archive: str, package_files: dict[str, bytes]) -> tuple[str, bytes]:
    if not package_files:
        raise Fail(f"{archive}: no {PACKAGE_JSON} in the archive")
    if len(package_files) > 1:
        raise Fail(f"{archive}: several {PACKAGE_JSON} files: {sorted(package_files)}")
    ((name, raw),) = package_files.items()
    return posixpath.dirname(name), raw


def entrypoint_member(archive: str, root: str, package: dict) -> str:
    ep = package.get("entrypoint")
    if not isinstance(ep, str) or not ep:
        raise Fail(f"{archive}: {PACKAGE_JSON} has no entrypoint")
    norm = posixpath.normpath(ep)
    if ep.startswith("/") or norm.startswith(".."):
        raise Fail(f"{archive}: entrypoint {ep!r} escapes the runtime root")
    return posixpath.join(root, norm) if root else norm


def under_root(root: str, name: str) -> str | None:
    """`name` relative to the runtime root, or None when it lies outside."""
    if not root:
        return name
    prefix = root + "/"
    return name[len(prefix) :] if name.startswith(prefix) else None


def root_files(root: str, digests: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    out = {}
    for name, digest in digests.items():
        rel = under_root(root, name)
        if rel is not None:
            out[rel] = digest
    return out


def inspect_tar(path: Path) -> Inspected:
    """One streaming pass: count members, sum regular-file sizes, hash every regular file."""
    archive = path.name
    entries = 0
    unpacked = 0
    digests: dict[str, tuple[str, int]] = {}
    package_files: dict[str, bytes] = {}
    with tarfile.open(path, mode="r|gz") as tar:
        for m in tar:
            entries += 1
            if not m.isreg():
                continue
            unpacked += m.size
            name = clean_name(m.name)
            f = tar.extractfile(m)
            if posixpath.basename(name) == PACKAGE_JSON and m.size <= CHUNK:
                raw = f.read()
                package_files[name] = raw
                digests[name] = (hashlib.sha256(raw).hexdigest(), len(raw))
            else:
                digests[name] = hash_stream(f)
            if digests[name][1] != m.size:
                raise Fail(f"{archive}: member {name} is truncated")
    root, raw = find_root(archive, package_files)
    package = parse_package(archive, raw)
    member = entrypoint_member(archive, root, package)
    if member not in digests:
        raise Fail(f"{archive}: entrypoint {member} is not a regular file in the archive")
    sha, size = digests[member]
    return Inspected(root, package, raw, sha, size, entries, unpacked, root_files(root, digests))


def inspect_zip(path: Path) -> Inspected:
    archive = path.name
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        entries = len(infos)
        unpacked = 0
        regular: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            mode = info.external_attr >> 16
            if info.is_dir() or stat.S_ISLNK(mode):
                continue
            unpacked += info.file_size
            regular[clean_name(info.filename)] = info
        package_files = {
            name: z.read(info)
            for name, info in regular.items()
            if posixpath.basename(name) == PACKAGE_JSON and info.file_size <= CHUNK
        }
        root, raw = find_root(archive, package_files)
        package = parse_package(archive, raw)
        member = entrypoint_member(archive, root, package)
        if member not in regular:
            raise Fail(f"{archive}: entrypoint {member} is not a regular file in the archive")
        # Stream-hash every regular member under the runtime root (the entrypoint among them).
        digests: dict[str, tuple[str, int]] = {}
        for name, info in regular.items():
            if under_root(root, name) is None:
                continue
            with z.open(info) as f:
                digests[name] = hash_stream(f)
            if digests[name][1] != info.file_size:
                raise Fail(f"{archive}: member {name} is truncated")
        sha, size = digests[member]
    return Inspected(root, package, raw, sha, size, entries, unpacked, root_files(root, digests))


def parse_package(archive: str, raw: bytes) -> dict:
    try:
        package = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Fail(f"{archive}: {PACKAGE_JSON} is not valid JSON ({e})") from None
    if not isinstance(package, dict):
        raise Fail(f"{archive}: {PACKAGE_JSON} is not a JSON object")
    return package


def check_package(a: Artifact, version: str, triple: str, entrypoint: str, expected_root: str) -> None:
    p = a.inspected.package
    name = a.path.name
    if p.get("version") != version:
        raise Fail(f"{name}: {PACKAGE_JSON} says version {p.get('version')!r}, the channel pins {version!r}")
    if p.get("target") != triple:
        raise Fail(f"{name}: {PACKAGE_JSON} says target {p.get('target')!r}, expected {triple!r}")
    if p.get("entrypoint") != entrypoint:
        raise Fail(f"{name}: {PACKAGE_JSON} says entrypoint {p.get('entrypoint')!r}, expected {entrypoint!r}")
    if a.inspected.root != expected_root:
        a.notes.append(f"{name}: runtime root is {a.inspected.root}/, expected {expected_root}/")


# ---------------------------------------------------------------------------------------------
# The jobs and the manifest.


def npm_job(version: str, suffix: str, triple: str, entrypoint: str, ddir: Path) -> Artifact:
    npm_version = f"{version}-{suffix}"
    t0 = time.monotonic()
    path, npm_integrity, how, hashes = fetch_npm(npm_version, ddir)
    t1 = time.monotonic()
    h = hashes or hash_file(path)
    if h.integrity != sha512_of_integrity(npm_integrity):
        raise Fail(f"{path.name}: sha512 is {h.integrity}, npm says {npm_integrity}")
    inspected = inspect_tar(path)
    a = Artifact("npm", path, h.sha256, h.size, h.integrity, h.blocks, inspected)
    check_package(a, version, triple, entrypoint, f"package/vendor/{triple}")
    log(f"npm   {npm_version}: {how} in {t1 - t0:.1f}s, checked in {time.monotonic() - t1:.1f}s")
    return a


def wheel_job(version: str, tag: str, triple: str, entrypoint: str, ddir: Path) -> Artifact | None:
    wversion = pep440(version)
    t0 = time.monotonic()
    path, how = fetch_wheel(wversion, tag, ddir)
    t1 = time.monotonic()
    if path is None:
        log(f"wheel {WHEEL_DISTRIBUTION}=={wversion} {tag}: not published; no wheel for {triple}")
        return None
    h = hash_file(path)
    inspected = inspect_zip(path)
    a = Artifact("wheel", path, h.sha256, h.size, None, h.blocks, inspected)
    check_package(a, version, triple, entrypoint, "codex_cli_bin")
    log(f"wheel {wversion} {tag}: {how} in {t1 - t0:.1f}s, checked in {time.monotonic() - t1:.1f}s")
    return a


def target_entry(channel: str, version: str, triple: str, suffix: str, entrypoint: str,
                 npm: Artifact, wheel: Artifact | None, notes: list[str]) -> dict:  # fmt: skip
    ep_sha, ep_size = npm.inspected.entrypoint_sha256, npm.inspected.entrypoint_size
    if wheel is not None:
        w = wheel.inspected
        if (w.entrypoint_sha256, w.entrypoint_size) != (ep_sha, ep_size):
            raise Fail(
                f"{channel} {triple}: entrypoint {entrypoint} differs between {npm.path.name} "
                f"(sha256 {ep_sha}, {ep_size} bytes) and {wheel.path.name} "
                f"(sha256 {w.entrypoint_sha256}, {w.entrypoint_size} bytes)"
            )
        if w.package != npm.inspected.package:
            notes.append(
                f"{channel} {triple}: {PACKAGE_JSON} differs between npm and wheel: "
                f"{json.dumps(npm.inspected.package)} vs {json.dumps(w.package)}"
            )
    artifacts: dict = {
        "npm": {
            "package": NPM_PACKAGE,
            "version": f"{version}-{suffix}",
            "file": npm.path.name,
            "sha256": npm.sha256,
            "integrity": npm.integrity,
            "size": npm.size,
            "unpacked_size": npm.inspected.unpacked_size,
            "entries": npm.inspected.entries,
            "blocks": {"size": BLOCK_SIZE, "sha256": npm.blocks},
        },
    }
    if wheel is not None:
        artifacts["wheel"] = {
            "distribution": WHEEL_DISTRIBUTION,
            "version": pep440(version),
            "file": wheel.path.name,
            "sha256": wheel.sha256,
            "size": wheel.size,
            "unpacked_size": wheel.inspected.unpacked_size,
            "entries": wheel.inspected.entries,
            "blocks": {"size": BLOCK_SIZE, "sha256": wheel.blocks},
        }
    artifacts["github"] = {
        "tag": f"{GITHUB_TAG_PREFIX}{version}",
        "asset": f"codex-package-{triple}.tar.gz",
        "sha256": None,
        "size": None,
    }
    return {
        "entrypoint": {"path": entrypoint, "sha256": ep_sha, "size": ep_size},
        "artifacts": artifacts,
        "files": union_of_files(channel, triple, [a for a in (npm, wheel) if a is not None]),
    }


def union_of_files(channel: str, triple: str, artifacts: list[Artifact]) -> list[dict]:
    """Every runtime file of the artifacts, sorted by path (byte order), each path once; a file
    two artifacts both carry must be identical in both."""
    union: dict[str, tuple[str, tuple[str, int]]] = {}
    for a in artifacts:
        for path, digest in a.inspected.files.items():
            if not path.isascii():
                raise Fail(f"{a.path.name}: runtime file {path!r} is not an ASCII path")
            first = union.get(path)
            if first is None:
                union[path] = (a.path.name, digest)
            elif first[1] != digest:
                raise Fail(
                    f"{channel} {triple}: {path} differs between {first[0]} (sha256 {first[1][0]}, "
                    f"{first[1][1]} bytes) and {a.path.name} (sha256 {digest[0]}, {digest[1]} bytes)"
                )
    return [
        {"path": path, "sha256": sha, "size": size}
        for path, (_, (sha, size)) in sorted(union.items(), key=lambda kv: kv[0].encode("utf-8"))
    ]


def render(channel: str, version: str, results: dict, notes: list[str]) -> str:
    targets = {}
    for triple, suffix, _tag, entrypoint in TARGETS:
        npm = results[(channel, "npm", triple)]
        wheel = results[(channel, "wheel", triple)]
        targets[triple] = target_entry(channel, version, triple, suffix, entrypoint, npm, wheel, notes)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "channel": channel,
        "version": version,
        "targets": targets,
    }
    return json.dumps(manifest, indent=2) + "\n"


def run_jobs(channels: list[str], ddir: Path, jobs: int) -> dict:
    work = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for channel in channels:
            version = CHANNELS[channel]
            for triple, suffix, tag, entrypoint in TARGETS:
                work[pool.submit(npm_job, version, suffix, triple, entrypoint, ddir)] = (channel, "npm", triple)
                work[pool.submit(wheel_job, version, tag, triple, entrypoint, ddir)] = (channel, "wheel", triple)
        results = {}
        errors = []
        for fut in concurrent.futures.as_completed(work):
            try:
                results[work[fut]] = fut.result()
            except concurrent.futures.CancelledError:
                continue
            except Fail as e:
                errors.append(str(e))
            except Exception as e:  # an unexpected failure still stops the run cleanly
                errors.append(f"{work[fut]}: {type(e).__name__}: {e}")
            if errors:
                for other in work:
                    other.cancel()
    if errors:
        raise Fail("\n".join(errors))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Regenerate channels/*.json from the published npm tarballs and PyPI wheels.",
    )
    ap.add_argument("--channel", choices=[*CHANNELS, "all"], default="all")
    ap.add_argument("--download-dir", type=Path, metavar="DIR",
                    help="keep downloaded artifacts here and reuse them (default: a temporary directory)")  # fmt: skip
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory; exit 1 with a diff if a committed manifest differs")  # fmt: skip
    ap.add_argument("--jobs", type=int, default=4, metavar="N", help="parallel downloads (default 4)")
    args = ap.parse_args()
    channels = list(CHANNELS) if args.channel == "all" else [args.channel]

    started = time.monotonic()
    temp = None
    try:
        if args.download_dir is None:
            temp = Path(tempfile.mkdtemp(prefix="update-channels-"))
            ddir = temp
        else:
            ddir = args.download_dir.resolve()
            ddir.mkdir(parents=True, exist_ok=True)
        results = run_jobs(channels, ddir, max(1, args.jobs))
        notes: list[str] = [n for a in results.values() if a is not None for n in a.notes]
        differs = False
        for channel in channels:
            text = render(channel, CHANNELS[channel], results, notes)
            out = REPO_ROOT / "channels" / f"{channel}.json"
            missing = [t for t, *_ in TARGETS if results[(channel, "wheel", t)] is None]
            if missing:
                log(f"{channel}: no wheel published for {', '.join(missing)}")
            if args.check:
                old = out.read_text(encoding="utf-8") if out.is_file() else ""
                if old != text:
                    differs = True
                    rel = out.relative_to(REPO_ROOT).as_posix()
                    sys.stdout.writelines(
                        difflib.unified_diff(
                            old.splitlines(keepends=True), text.splitlines(keepends=True),
                            fromfile=f"{rel} (committed)", tofile=f"{rel} (regenerated)",
                        )  # fmt: skip
                    )
                    log(f"{channel}: {out} differs from the published artifacts")
                else:
                    log(f"{channel}: {out} is up to date")
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_name(f".{out.name}.tmp")
                tmp.write_text(text, encoding="utf-8", newline="\n")
                os.replace(tmp, out)
                log(f"{channel}: wrote {out}")
        for n in notes:
            log(f"note: {n}")
        log(f"done in {time.monotonic() - started:.1f}s")
        return 1 if differs else 0
    except Fail as e:
        log(f"error: {e}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
