#!/usr/bin/env python3
"""Benchmarks codex-runtime side by side with the tools people use today.

Obtains the real pinned artifacts with the ordinary package clients (`pip download`,
`npm pack`), serves them from a loopback HTTP mirror, and times each case against its peer in
the same run, printing the median wall and CPU times, the ratio, the target and peak resident
memory.

    python3 scripts/bench.py [--runs 5] [--work DIR] [--bin target/release/codex-runtime]

Needs python3 with pip, npm, and a release build (built here unless --bin is given).
"""

import argparse
import http.server
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTS = {
    ("Linux", "x86_64"): "x86_64-unknown-linux-musl",
    ("Linux", "aarch64"): "aarch64-unknown-linux-musl",
    ("Darwin", "x86_64"): "x86_64-apple-darwin",
    ("Darwin", "arm64"): "aarch64-apple-darwin",
}


def run(cmd, env=None):
    """Run a command; return its wall time and CPU time (user + system, its children's
    included) in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(map(str, cmd))}\n{done.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def peak_rss_kib(cmd, env=None):
    """Peak resident memory of a command, by /usr/bin/time (a fork of this Python process would
    report Python's own pages)."""
    with tempfile.NamedTemporaryFile("r") as out:
        run(["/usr/bin/time", "-f", "%M", "-o", out.name] + cmd, env=env)
        return int(out.read().strip().splitlines()[-1])


def compare(runs, ours, peer):
    """Time two cases in alternation, so both see the same machine. Each case is
    (make_cmd, prepare, env); returns one Timing per case."""
    walls = ([], [])
    for i in range(runs):
        for (make_cmd, prepare, env), out in zip((ours, peer), walls):
            if prepare:
                prepare(i)
            os.sync()
            out.append(run(make_cmd(i), env=env))
    result = []
    for (make_cmd, prepare, env), out in zip((ours, peer), walls):
        if prepare:
            prepare(0)
        result.append(Timing(out, peak_rss_kib(make_cmd(0), env=env)))
    return result


def timed(runs, make_cmd, prepare=None, env=None):
    """The Timing of `runs` runs, and the peak RSS of one more run."""
    walls = []
    for i in range(runs):
        if prepare:
            prepare(i)
        # Start every run with no writeback pending from the one before.
        os.sync()
        walls.append(run(make_cmd(i), env=env))
    if prepare:
        prepare(0)
    return Timing(walls, peak_rss_kib(make_cmd(0), env=env))


class Timing:
    """The median wall and CPU time of several runs, and a peak RSS in KiB."""

    def __init__(self, runs, rss):
        self.wall = statistics.median(w for w, _ in runs)
        self.cpu = statistics.median(c for _, c in runs)
        self.rss = rss


class Mirror:
    """A flat mirror on 127.0.0.1 that sends files with sendfile, in its own thread."""

    def __init__(self, directory):
        directory = str(directory)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=directory, **kw)

            def copyfile(self, source, outputfile):
                outputfile.flush()
                self.connection.sendfile(source)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


UV_VERSION = "0.13.8"


def uv_bin(work):
    """uv, installed once under WORK with pip (from your configured index) when missing."""
    found = shutil.which("uv")
    if found:
        return found
    target = work / f"uv-{UV_VERSION}"
    uv = target / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
                        str(target), f"uv=={UV_VERSION}"], check=True)
    return str(uv)


def fetch_artifacts(work, manifest, host):
    """The host's wheel and npm tarball, and all six wheels, via pip and npm."""
    wheels, npm = work / "wheels", work / "npm"
    wheels.mkdir(parents=True, exist_ok=True)
    npm.mkdir(parents=True, exist_ok=True)
    version = manifest["version"]
    for triple, pins in manifest["targets"].items():
        wheel = pins["artifacts"]["wheel"]
        if not (wheels / wheel["file"]).exists():
            tag = wheel["file"].rsplit("-", 1)[1].removesuffix(".whl")
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            "--platform", tag, f"openai-codex-cli-bin=={wheel['version']}", "-d", str(wheels)],
                           check=True)
    tgz = manifest["targets"][host]["artifacts"]["npm"]
    if not (npm / tgz["file"]).exists():
        subprocess.run(["npm", "pack", "-q", f"@openai/codex@{tgz['version']}", "--pack-destination", str(npm)],
                       check=True, stdout=subprocess.DEVNULL)
    return wheels, npm, version


def fetch_all(work, manifest):
    """Every artifact of every target (all eight wheels, all six npm tarballs) in one flat
    directory, via pip and npm: what a mirror holds."""
    flat = work / "all"
    flat.mkdir(parents=True, exist_ok=True)
    for pins in manifest["targets"].values():
        for key in ("wheel", "musllinux_wheel"):
            wheel = pins["artifacts"].get(key)
            if wheel and not (flat / wheel["file"]).exists():
                tag = wheel["file"].rsplit("-", 1)[1].removesuffix(".whl")
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                                "--platform", tag, f"openai-codex-cli-bin=={wheel['version']}", "-d", str(flat)],
                               check=True)
        tgz = pins["artifacts"]["npm"]
        if not (flat / tgz["file"]).exists():
            subprocess.run(["npm", "pack", "-q", f"@openai/codex@{tgz['version']}", "--pack-destination", str(flat)],
                           check=True, stdout=subprocess.DEVNULL)
    return flat


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--path-runs", type=int, default=30)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "codex-runtime-bench")
    ap.add_argument("--bin", type=Path)
    # The newest pinned release with wheels on the Python index (the stable head has npm only).
    ap.add_argument("--version", default="0.163.0")
    ap.add_argument("--cases", default="path,wheel,npm,bundle,check,mirror",
                    help="comma-separated: path, wheel, npm, bundle, check, mirror (bundle --format wheel,npm,index"
                         " of all 14 artifacts from a local mirror vs cp -r of them), repack (a wheel re-packed from"
                         " the npm tarball's runtime, and an npm tarball from the musllinux wheel's, against the same"
                         " commands run by --baseline-bin)")
    ap.add_argument("--baseline-bin", type=Path,
                    help="an older build of codex-runtime, the peer of the repack case")
    args = ap.parse_args()
    cases = set(args.cases.split(","))
    # Every command the bench runs selects this version through the environment.
    os.environ["CODEX_RUNTIME_VERSION"] = args.version

    host = HOSTS.get((platform.system(), platform.machine()))
    if host is None:
        sys.exit(f"no benchmark for {platform.system()} {platform.machine()}")
    if args.bin is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "codex-runtime-cli"], cwd=ROOT, check=True)
        args.bin = ROOT / "target" / "release" / "codex-runtime"
    bin_ = str(args.bin)
    manifest = json.loads((ROOT / "channels" / "versions" / f"{args.version}.json").read_text())
    args.work.mkdir(parents=True, exist_ok=True)
    wheels, npm, version = fetch_artifacts(args.work, manifest, host)
    wheel = wheels / manifest["targets"][host]["artifacts"]["wheel"]["file"]
    tgz = npm / manifest["targets"][host]["artifacts"]["npm"]["file"]
    wheel_mirror, npm_mirror = Mirror(wheels), Mirror(npm)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=args.work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_RUNTIME_") or k == "CODEX_RUNTIME_VERSION"}
    rows = []

    def fresh(path):
        shutil.rmtree(path, ignore_errors=True)
        return path

    def install_cmd(cache, mirror, target=host):
        return [bin_, "--cache-dir", str(cache), "-q", "install", "--target", target, "--source", "mirror",
                "--mirror", mirror]

    # 1. path on a cached runtime vs the Python SDK's lookup through the installed wheel.
    cache = scratch / "cache-path"
    run(install_cmd(cache, wheel_mirror.url), env=env)
    if "path" in cases:
        path_case(args, bin_, cache, wheel, scratch, env, rows)
    if "wheel" in cases:
        wheel_case(args, install_cmd, wheel_mirror, wheel, scratch, env, rows, fresh)
    if "npm" in cases:
        npm_case(args, install_cmd, npm_mirror, tgz, scratch, env, rows, fresh)
    if "bundle" in cases:
        bundle_case(args, bin_, manifest, install_cmd, wheel_mirror, scratch, env, rows, fresh)
    if "check" in cases:
        check_case(args, bin_, cache, env, rows)
    if "mirror" in cases:
        mirror_case(args, bin_, manifest, scratch, env, rows, fresh)
    if "repack" in cases:
        repack_case(args, bin_, manifest, host, npm_mirror, scratch, env, rows, fresh)

    shutil.rmtree(scratch, ignore_errors=True)
    wheel_mirror.server.shutdown()
    npm_mirror.server.shutdown()
    report(args, version, host, rows)


def path_case(args, bin_, cache, wheel, scratch, env, rows):
    site = scratch / "site"
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", str(site), str(wheel)])
    ours = timed(args.path_runs, lambda i: [bin_, "--cache-dir", str(cache), "path"], env=env)
    py_env = dict(env, PYTHONPATH=str(site))
    peer = timed(args.path_runs, lambda i: [sys.executable, "-c",
                    "from codex_cli_bin import bundled_codex_path; print(bundled_codex_path())"], env=py_env)
    rows.append(("path (cached)", ours, peer, "python3 bundled_codex_path()", "<= 0.1, and < 5 ms", ours.wall <= peer.wall / 10 and ours.wall < 0.005))
    true = timed(args.path_runs, lambda i: ["/bin/true"], env=env)
    rows.append(("path (cached)", ours, true, "/bin/true, started the same way", "<= 2", ours.wall <= true.wall * 2))


def wheel_case(args, install_cmd, wheel_mirror, wheel, scratch, env, rows, fresh):
    # 2. install of the wheel from the loopback mirror vs pip, then uv, installing it from local disk.
    ours_case = (lambda i: install_cmd(scratch / "cache-w", wheel_mirror.url), lambda i: fresh(scratch / "cache-w"), env)
    ours, peer = compare(
        args.runs, ours_case,
        (lambda i: [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target",
                    str(scratch / "pip"), str(wheel)], lambda i: fresh(scratch / "pip"), None))
    rows.append(("install wheel (loopback)", ours, peer, "pip install --target (local)", "<= 0.5", ours.wall <= peer.wall / 2))
    uv = uv_bin(args.work)
    uv_env = dict(os.environ, UV_NO_CONFIG="1")
    ours, peer = compare(
        args.runs, ours_case,
        (lambda i: [uv, "pip", "install", "-q", "--no-deps", "--no-cache", "--target", str(scratch / "uv"), str(wheel)],
         lambda i: fresh(scratch / "uv"), uv_env))
    rows.append(("install wheel (loopback)", ours, peer, "uv pip install --no-cache --target (local)", "<= 0.7",
                 ours.wall <= peer.wall * 0.7))
    for d in ("pip", "uv", "cache-w"):
        fresh(scratch / d)


def npm_case(args, install_cmd, npm_mirror, tgz, scratch, env, rows, fresh):
    # 3. install of the npm tarball from the loopback mirror vs tar xzf of it from local disk.
    def untar_dir(i):
        fresh(scratch / "tar").mkdir()
    ours_case = (lambda i: install_cmd(scratch / "cache-n", npm_mirror.url), lambda i: fresh(scratch / "cache-n"), env)
    ours, peer = compare(args.runs, ours_case, (lambda i: ["tar", "xzf", str(tgz), "-C", str(scratch / "tar")], untar_dir, None))
    rows.append(("install npm (loopback)", ours, peer, "tar xzf (local)", "<= 0.35", ours.wall <= peer.wall * 0.35))
    # npm itself, installing the same local tarball into an empty project with an empty cache.
    def npm_project(i):
        project = fresh(scratch / "npm-project")
        project.mkdir()
        (project / "package.json").write_text('{"name":"bench","version":"1.0.0"}')
        fresh(scratch / "npm-cache")
    npm_cmd = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save", "--offline",
               "--prefix", str(scratch / "npm-project"), "--cache", str(scratch / "npm-cache"), str(tgz)]
    ours, peer = compare(args.runs, ours_case, (lambda i: npm_cmd, npm_project, None))
    rows.append(("install npm (loopback)", ours, peer, "npm install of the tarball (local)", "", True))
    for d in ("tar", "cache-n", "npm-project", "npm-cache"):
        fresh(scratch / d)


def bundle_case(args, bin_, manifest, install_cmd, wheel_mirror, scratch, env, rows, fresh):
    # 4. bundle of all six wheels vs the sum of six single installs.
    targets = list(manifest["targets"])
    help_text = subprocess.run([bin_, "--help"], capture_output=True, text=True).stdout
    if " bundle " in help_text:
        def six_installs(i):
            return ["sh", "-c", " && ".join(" ".join(install_cmd(scratch / "cache-s", wheel_mirror.url, t))
                                            for t in targets)]
        def bundle_cmd(i):
            return [bin_, "--cache-dir", str(scratch / "cache-b"), "-q", "bundle", "--all-platforms", "--format", "dir",
                    "--out", str(scratch / "bundle"), "--source", "mirror", "--mirror", wheel_mirror.url]
        ours, peer = compare(
            max(1, args.runs // 2),
            (bundle_cmd, lambda i: (fresh(scratch / "cache-b"), fresh(scratch / "bundle")), env),
            (six_installs, lambda i: fresh(scratch / "cache-s"), env))
        rows.append(("bundle 6 wheels --format dir", ours, peer, "6 single installs", "<= 0.6", ours.wall <= peer.wall * 0.6))
        for d in ("cache-b", "bundle", "cache-s"):
            fresh(scratch / d)


def check_case(args, bin_, cache, env, rows):
    # 5. check on the real runtime vs a bare handshake.
    entrypoint = subprocess.run([bin_, "--cache-dir", str(cache), "path"], capture_output=True, text=True,
                                check=True).stdout.strip()
    bare = ("import json,subprocess,sys,tempfile\n"
            "p=subprocess.Popen([sys.argv[1],'app-server'],stdin=subprocess.PIPE,stdout=subprocess.PIPE,"
            "stderr=subprocess.DEVNULL,env={'PATH':'/usr/bin:/bin','CODEX_HOME':tempfile.mkdtemp()})\n"
            "p.stdin.write(b'{\"id\":1,\"method\":\"initialize\",\"params\":{\"clientInfo\":{\"name\":\"bare\","
            "\"title\":\"bare\",\"version\":\"0\"},\"capabilities\":{\"experimentalApi\":false}}}\\n');p.stdin.flush()\n"
            "for line in p.stdout:\n"
            "    if json.loads(line).get('id')==1: break\n"
            "p.stdin.close();p.wait()\n")
    ours = timed(args.runs * 2, lambda i: [bin_, "--cache-dir", str(cache), "check"], env=env)
    peer = timed(args.runs * 2, lambda i: [sys.executable, "-c", bare, entrypoint])
    rows.append(("check (real runtime)", ours, peer, "bare handshake script", "<= 1.1", ours.wall <= peer.wall * 1.1))


def mirror_case(args, bin_, manifest, scratch, env, rows, fresh):
    # 6. a mirror-grade bundle of every target's upstream artifacts (8 wheels, 6 tarballs) from a
    # local mirror, verified against the pins and indexed, vs cp -r of the same files.
    flat = fetch_all(args.work, manifest)
    def bundle_cmd(i):
        return [bin_, "--cache-dir", str(scratch / "cache-m"), "-q", "bundle", "--version", args.version, "--all-platforms",
                "--format", "wheel,npm,index", "--base-url", "http://127.0.0.1:1/", "--out", str(scratch / "site"),
                "--source", "mirror", "--mirror", str(flat)]
    ours, peer = compare(
        args.runs,
        (bundle_cmd, lambda i: (fresh(scratch / "cache-m"), fresh(scratch / "site")), env),
        (lambda i: ["cp", "-r", str(flat), str(scratch / "copy")], lambda i: fresh(scratch / "copy"), None))
    rows.append(("mirror: 14 artifacts + index", ours, peer, "cp -r of the 14 files", "<= 2", ours.wall <= peer.wall * 2))
    for d in ("cache-m", "site", "copy"):
        fresh(scratch / d)


def repack_case(args, bin_, manifest, host, npm_mirror, scratch, env, rows, fresh):
    # 7. re-packs with the runtime already in the cache, so only the re-pack is timed: the wheel
    # from the npm tarball's runtime, the npm tarball from the musllinux wheel's (which carries
    # every file the tarball does); against the same commands run by an older build.
    if args.baseline_bin is None:
        print("repack: skipped, it needs --baseline-bin (the build to compare with)", file=sys.stderr)
        return
    musl = manifest["targets"][host]["artifacts"].get("musllinux_wheel")
    if musl is None:
        print(f"repack: skipped, {args.version} has no musllinux wheel for {host}", file=sys.stderr)
        return
    flat = fetch_all(args.work, manifest)
    musl_dir = fresh(scratch / "musl-mirror")
    musl_dir.mkdir()
    os.link(flat / musl["file"], musl_dir / musl["file"])
    cases = [("wheel", npm_mirror.url, "wheel from npm's runtime"), ("npm", str(musl_dir), "npm from musllinux's")]
    for fmt, mirror, name in cases:
        def cmd(binary, side):
            return [str(binary), "--cache-dir", str(scratch / f"cache-rp-{side}-{fmt}"), "-q", "bundle", "--version", args.version, "--target", host,
                    "--format", fmt, "--out", str(scratch / f"rp-{side}"), "--source", "mirror", "--mirror", mirror]
        for binary, side in ((bin_, "ours"), (args.baseline_bin, "base")):
            # The runtime is installed (and its artifact kept) once, before the timed runs.
            run(cmd(binary, side), env=env)
        ours, peer = compare(
            args.runs,
            (lambda i: cmd(bin_, "ours"), lambda i: fresh(scratch / "rp-ours"), env),
            (lambda i: cmd(args.baseline_bin, "base"), lambda i: fresh(scratch / "rp-base"), env))
        rows.append((f"re-pack {name}", ours, peer, f"the same, {args.baseline_bin.name}", "<= 1/1.8",
                     ours.wall * 1.8 <= peer.wall))
        for side in ("ours", "base"):
            fresh(scratch / f"cache-rp-{side}-{fmt}")
            fresh(scratch / f"rp-{side}")


def report(args, version, host, rows):
    print(f"\ncodex-runtime {version} on {host}, {os.cpu_count()} cores; median of {args.runs} runs"
          f" ({args.path_runs} for path)\n")
    print(f"{'case':<30} {'ours':>10} {'ours CPU':>10} {'peer':>10} {'peer CPU':>10} {'ratio':>7}  {'target':<18}"
          f" {'met':<4} {'peak RSS':>9}  peer")
    for name, ours, peer, peer_name, target, met in rows:
        print(f"{name:<30} {fmt(ours.wall):>10} {fmt(ours.cpu):>10} {fmt(peer.wall):>10} {fmt(peer.cpu):>10}"
              f" {ours.wall / peer.wall:>7.3f}  {target:<18} {'yes' if met else 'NO':<4} {ours.rss / 1024:>6.1f} MiB"
              f"  {peer_name}")
    for name, ours, peer, *_ in rows:
        if name.startswith("bundle"):
            # The bundle installs every target as a single install does, so it needs at least
            # their CPU time, and N cores cannot spend it in less than 1/N of the time.
            floor = peer.cpu / os.cpu_count()
            print(f"\nbundle floor: the six single installs take {fmt(peer.cpu)} of CPU; {os.cpu_count()} cores"
                  f" need at least {fmt(floor)} for that work, a ratio of {floor / peer.wall:.3f}")


def fmt(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
