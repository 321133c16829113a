// Child process of bench/nar.mjs: `node _nar-child.mjs PATH` hashes PATH's NAR with narHashPath
// and prints JSON {hash, narSize, ms, maxRssKiB} (ms: narHashPath's own time, no start-up).
import { Effect } from "effect"
import { narHashPath } from "../dist/io/dump.js"

const [path] = process.argv.slice(2)
const t0 = performance.now()
const r = await Effect.runPromise(narHashPath(path))
console.log(JSON.stringify({
  hash: Buffer.from(r.narHash).toString("hex"),
  narSize: r.narSize,
  ms: performance.now() - t0,
  maxRssKiB: process.resourceUsage().maxRSS
}))
