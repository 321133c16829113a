// Child process of bench/nar.mjs: `node _nar-child.mjs hash PATH` prints JSON {hash, narSize, ms, maxRssKiB};
// `node _nar-child.mjs dump PATH` writes the NAR to stdout (no hashing, like nix-store --dump) and that JSON to stderr.
import { Effect } from "effect"
import { dumpPathToWritable, narHashPath } from "../dist/nar/dump.js"

const [mode, path] = process.argv.slice(2)
const t0 = performance.now()
const r = await Effect.runPromise(mode === "dump" ? dumpPathToWritable(path, () => process.stdout, { hash: false }) : narHashPath(path))
const out = JSON.stringify({
  hash: Buffer.from(r.narHash).toString("hex"),
  narSize: r.narSize,
  ms: performance.now() - t0,
  maxRssKiB: process.resourceUsage().maxRSS
})
if (mode === "dump") process.stderr.write(out + "\n")
else console.log(out)
