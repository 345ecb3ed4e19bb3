import { execFileSync } from "node:child_process";

// The pinned, verified codex runtime; installed on first use, then answered from the cache.
const { path: codexBin } = JSON.parse(
  execFileSync("codex-runtime", ["path", "--json"], { encoding: "utf8" }),
);

// Hand codexBin to the SDK as its codex executable; here we just run it.
console.log(execFileSync(codexBin, ["--version"], { encoding: "utf8" }).trim());
