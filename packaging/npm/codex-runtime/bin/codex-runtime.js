#!/usr/bin/env node
"use strict";
// `codex-runtime` for npm and npx: runs this platform's binary with the same arguments and
// passes its exit status (or signal) through.

const { spawnSync } = require("node:child_process");
const { binaryPath } = require("../lib/index.js");

let bin;
try {
  bin = binaryPath();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const child = spawnSync(bin, process.argv.slice(2), { stdio: "inherit" });
if (child.error) {
  console.error(`codex-runtime: cannot run ${bin}: ${child.error.message}`);
  process.exit(1);
}
if (child.signal) {
  process.kill(process.pid, child.signal);
}
process.exit(child.status === null ? 1 : child.status);
