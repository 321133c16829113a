// Lock service figures: uncontended path lock/release, temp-root appends, temp-roots reading,
// and contended hand-over between processes-like fibers. Usage: npm run bench -- lock [N]
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LiveLock from "../dist/stores/local/lock/layer.js"
import { makeStoreLayout } from "../dist/core/storeLayout.js"

const n = Number(process.argv[2] ?? 2000)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-lockbench-"))
const sp = (name) => `/nix/store/${"0".repeat(32)}-${name}`
const rate = (count, t0) => `${(count / ((performance.now() - t0) / 1000)).toFixed(0)}/s`

await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const layout = makeStoreLayout(dir)
  const lock = yield* LiveLock.make(layout)
  let t = performance.now()
  for (let i = 0; i < n; i++) yield* Effect.scoped(lock.lockPaths([sp(`p${i % 10}`)]))
  console.log(`lockPaths + release, 1 path, uncontended: ${rate(n, t)}`)
  t = performance.now()
  for (let i = 0; i < n; i++) yield* Effect.scoped(lock.bigLock("shared"))
  console.log(`bigLock shared + release: ${rate(n, t)}`)
  t = performance.now()
  for (let i = 0; i < n; i++) yield* lock.addTempRoot(sp(`r${i}`))
  console.log(`addTempRoot: ${rate(n, t)}`)
  t = performance.now()
  const roots = yield* lock.readTempRoots()
  console.log(`readTempRoots (${roots.roots.size} roots): ${(performance.now() - t).toFixed(1)} ms`)
  // Two instances (separate file descriptions) handing one exclusive lock back and forth.
  const other = yield* LiveLock.make(layout)
  const m = Math.max(1, Math.floor(n / 10))
  t = performance.now()
  yield* Effect.all(
    [lock, other].map((l) =>
      Effect.forEach(
        Array.from({ length: m }),
        () => Effect.scoped(Effect.zipRight(l.gcLock("exclusive"), Effect.yieldNow()))
      )
    ),
    { concurrency: "unbounded" }
  )
  console.log(`contended gcLock exclusive, 2 fibers x ${m}: ${rate(2 * m, t)}`)
})))
fs.rmSync(dir, { recursive: true, force: true })
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
