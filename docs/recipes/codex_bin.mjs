import { execFileSync } from "node:child_process";
import { codexBin } from "codex-runtime"; // npm install codex-runtime: the tool for this platform

// The pinned, verified codex runtime; installed on first use, then answered from the cache.
// codexBin({ version: "0.163.0" }), codexBin({ versionFrom: "package.json" }) pin another.
const codexPath = codexBin();

// Hand it to the SDK as its codex executable (codexPathOverride); here we just run it.
console.log(execFileSync(codexPath, ["--version"], { encoding: "utf8" }).trim());
