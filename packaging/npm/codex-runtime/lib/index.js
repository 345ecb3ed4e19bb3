"use strict";
// The codex-runtime npm package: finds the binary of this platform's package (an optional
// dependency, as esbuild ships its binaries) and runs it. `codexBin()` returns the pinned,
// verified codex runtime's entrypoint.

const { execFileSync } = require("node:child_process");
const path = require("node:path");

const { version: VERSION } = require("../package.json");

/** An environment variable naming a codex-runtime binary to run instead of the platform package's. */
const BINARY_ENV = "CODEX_RUNTIME_BINARY";

/** The platform packages, by `${process.platform} ${process.arch}` (and the C library on Linux). */
const PLATFORM_PACKAGES = {
  "linux x64 glibc": "@codex-runtime/linux-x64-gnu",
  "linux arm64 glibc": "@codex-runtime/linux-arm64-gnu",
  "linux x64 musl": "@codex-runtime/linux-x64-musl",
  "linux arm64 musl": "@codex-runtime/linux-arm64-musl",
  "darwin x64": "@codex-runtime/darwin-x64",
  "darwin arm64": "@codex-runtime/darwin-arm64",
  "win32 x64": "@codex-runtime/win32-x64",
  "win32 arm64": "@codex-runtime/win32-arm64",
};

class CodexRuntimeError extends Error {
  /**
   * @param {string} message what codex-runtime said (or why it could not run)
   * @param {number} exitCode its documented exit code (3 not installed, 4 verification failed, 5 no source)
   * @param {string} stderr everything it wrote on stderr
   */
  constructor(message, exitCode, stderr = "") {
    super(message);
    this.name = "CodexRuntimeError";
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** "glibc" or "musl": a glibc Node reports the glibc it runs on. */
function libc() {
  const header = process.report && process.report.getReport().header;
  return header && header.glibcVersionRuntime ? "glibc" : "musl";
}

/** The platform packages that can run here, preferred first (a static musl build runs on glibc too). */
function candidatePackages() {
  const base = `${process.platform} ${process.arch}`;
  if (process.platform !== "linux") {
    return PLATFORM_PACKAGES[base] ? [PLATFORM_PACKAGES[base]] : [];
  }
  const keys = libc() === "glibc" ? [`${base} glibc`, `${base} musl`] : [`${base} musl`];
  return keys.map((key) => PLATFORM_PACKAGES[key]).filter(Boolean);
}

/** The codex-runtime binary: `$CODEX_RUNTIME_BINARY`, else the one in this platform's package. */
function binaryPath() {
  if (process.env[BINARY_ENV]) {
    return process.env[BINARY_ENV];
  }
  const exe = process.platform === "win32" ? "codex-runtime.exe" : "codex-runtime";
  const packages = candidatePackages();
  for (const name of packages) {
    try {
      return path.join(path.dirname(require.resolve(`${name}/package.json`)), "bin", exe);
    } catch {
      // Not installed: try the next one.
    }
  }
  const here = `${process.platform} ${process.arch}` + (process.platform === "linux" ? ` ${libc()}` : "");
  if (packages.length === 0) {
    throw new CodexRuntimeError(
      `codex-runtime has no binary for this platform (${here}); the supported ones are: ` +
        `${Object.keys(PLATFORM_PACKAGES).join(", ")}. Install codex-runtime another way ` +
        `(cargo install) and set ${BINARY_ENV} to its path.`,
      1,
    );
  }
  throw new CodexRuntimeError(
    `codex-runtime: the platform package ${packages[0]} is not installed (this is ${here}).\n` +
      `npm installs it as an optional dependency of codex-runtime, and leaves it out when optional ` +
      `dependencies are omitted (--no-optional, --omit=optional, omit=optional in .npmrc) or when a ` +
      `lockfile made on another platform is installed with npm ci.\n` +
      `Install it with: npm install --include=optional codex-runtime, or name it: ` +
      `npm install ${packages[0]}@${VERSION}\n` +
      `Or set ${BINARY_ENV} to a codex-runtime binary installed elsewhere.`,
    1,
  );
}

/**
 * The pinned, verified codex runtime's entrypoint (installed first when not cached):
 * `codex-runtime path --json` with `--version`, `--channel`, `--version-from` when given.
 * The cache, mirror and registries come from the environment as for the command.
 *
 * @param {{version?: string, channel?: string, versionFrom?: string}} [options]
 * @returns {string}
 * @throws {CodexRuntimeError} with the tool's message and exit code
 */
function codexBin({ version, channel, versionFrom } = {}) {
  const args = ["path", "--json"];
  if (version !== undefined) args.push("--version", String(version));
  if (channel !== undefined) args.push("--channel", String(channel));
  if (versionFrom !== undefined) args.push("--version-from", String(versionFrom));
  const bin = binaryPath();
  let stdout;
  try {
    stdout = execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (typeof e.status !== "number") {
      throw new CodexRuntimeError(`cannot run ${bin}: ${e.message}`, 127);
    }
    const stderr = String(e.stderr || "");
    let message = stderr.trim();
    try {
      message = JSON.parse(e.stdout).error.message;
    } catch {
      // Not the JSON error document: stderr is the message.
    }
    throw new CodexRuntimeError(message, e.status, stderr);
  }
  return JSON.parse(stdout).path;
}

module.exports = { BINARY_ENV, CodexRuntimeError, PLATFORM_PACKAGES, binaryPath, codexBin };
