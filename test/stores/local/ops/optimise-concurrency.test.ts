/**
 * Real processes: adders (auto-optimise-store on, and one with it off) add,
 * root and un-root trees sharing contents, while a collector collects in a
 * loop (deleting unused `.links` entries) and `tsnix --optimise` runs again
 * and again. Every adder checks its paths' contents after every add; at the
 * end `--verify --check-contents` finds every path and every link intact, no
 * temporary link is left, and identical files share one inode.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { linkName } from "../../../../src/stores/local/ops/optimiseFs.js"
import { Store } from "../../../../src/services/Store.js"
import { runTsnix } from "../../../cli/helpers.js"
import { storeLayers, tempBase } from "../gc/helpers.js"
import { runFixture } from "../gc/procs.js"
import { isTempName } from "../../../../src/stores/local/ops/tempPath.js"

/**
 * stderr without lock-wait notices: under load a collector may hold the lock of a stale
 * temp-roots file named after a reused pid while it examines it, and the command says it waits.
 */
const withoutLockWaits = (stderr: string): string =>
  stderr.split("\n").filter((l) => !l.startsWith("waiting for ")).join("\n")

describe("optimise vs concurrent adds and collections (processes)", () => {
  it.live("loses no file; links and paths verify; no temporary link left", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* tempBase
      const root = path.join(base, "root")
      const layout = makeStoreLayout(root)
      yield* Effect.scoped(Effect.provide(Effect.flatMap(Store, (s) => s.queryAllValidPaths), storeLayers(layout)))
      const [collector, adders, optimisers] = yield* Effect.promise(() => {
        let running = true
        // The collector first adds 300 paths of its own that nothing roots once it has added them, so its
        // first collection deletes something whatever the adders' timing; then it loops beside them.
        const collector = runFixture("gc-collector.mjs", [root, "6000", "300"])
        const adders = (async () => {
          const out = []
          for (let round = 0; round < 2; round++) {
            out.push(
              ...await Promise.all([
                runFixture("optimise-adder.mjs", [root, `a${round}`, "18", "auto"]),
                runFixture("optimise-adder.mjs", [root, `b${round}`, "18", "auto"]),
                runFixture("optimise-adder.mjs", [root, `p${round}`, "12", "plain"])
              ])
            )
          }
          running = false
          return out
        })()
        const optimisers = (async () => {
          const out = []
          while (running) out.push(await runTsnix(["--store", root, "--optimise"]))
          return out
        })()
        return Promise.all([collector, adders, optimisers])
      })
      for (const a of adders) expect(a.stderr + `status ${a.status}`).toBe("status 0")
      expect(collector.status, collector.stderr).toBe(0)
      expect(optimisers.length).toBeGreaterThan(0)
      for (const o of optimisers) {
        expect(o.status, o.stderr).toBe(0)
        expect(withoutLockWaits(o.stderr)).toMatch(/^\d+\.\d\d MiB freed by hard-linking \d+ files\n$/)
      }
      // The collector deleted paths meanwhile (at least its own 300).
      const collected = collector.stdout.split("\n").filter((l) => l.startsWith("collected ")).reduce(
        (n, l) => n + Number(l.split(" ")[1]),
        0
      )
      expect(collected).toBeGreaterThan(0)
      // One more optimisation, then one more collection: what is left is linked and verifies.
      const last = yield* Effect.promise(() => runTsnix(["--store", root, "--optimise"]))
      expect(last.status, last.stderr).toBe(0)
      const finalGc = yield* Effect.promise(() =>
        runTsnix(["--store", root, "--option", "gc-runtime-roots", "false", "--gc"])
      )
      expect(finalGc.status, finalGc.stderr).toBe(0)
      expect(finalGc.stderr).toContain("deleting unused links...\nnote: currently hard linking saves ")
      const verify = yield* Effect.promise(() => runTsnix(["--store", root, "--verify", "--check-contents"]))
      expect(verify.stderr).toBe(
        "reading the Nix store...\nchecking path existence...\nchecking link hashes...\nchecking store hashes...\n"
      )
      expect(verify.status).toBe(0)
      const store = path.join(root, "nix/store")
      expect(fs.readdirSync(store).filter((n) => n.startsWith(".tmp-link-") || isTempName(n))).toEqual([])
      // Every remaining file shares its inode with a .links entry, and that entry is still used.
      const linkInodes = new Set(
        fs.readdirSync(path.join(store, ".links")).map((n) => {
          const st = fs.lstatSync(path.join(store, ".links", n))
          expect(st.nlink, n).toBeGreaterThan(1)
          return st.ino
        })
      )
      let files = 0
      const walk = (p: string) => {
        const st = fs.lstatSync(p)
        if (st.isDirectory()) { for (const n of fs.readdirSync(p)) walk(path.join(p, n)) }
        else {
          files++
          expect(linkInodes.has(st.ino), p).toBe(true)
        }
      }
      yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const s = yield* Store
          const valid = yield* s.queryAllValidPaths
          expect(valid.length).toBeGreaterThan(0)
          for (const p of valid) walk(path.join(root, p))
        }),
        storeLayers(layout)
      ))
      expect(files).toBeGreaterThan(0)
    })), 120000)

  it.live(
    "links that vanish under it (and temporary links deleted as garbage) are retried, not fatal",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const base = yield* tempBase
        const root = path.join(base, "root")
        const layout = makeStoreLayout(root)
        const shared: Array<readonly [string, string, boolean]> = [
          ["s0", "shared zero\n", false],
          ["s1", "shared one\n".repeat(500), false],
          ["s2", "shared two\n", true],
          ["s3", "", false]
        ]
        const src = path.join(base, "src")
        const trees: Array<string> = []
        for (let i = 0; i < 60; i++) {
          const dir = path.join(src, `t${i}`)
          fs.mkdirSync(path.join(dir, "sub"), { recursive: true })
          for (const [n, c, x] of shared) {
            fs.writeFileSync(path.join(dir, i % 2 === 0 ? n : `sub/${n}`), c, { mode: x ? 0o755 : 0o644 })
          }
          fs.writeFileSync(path.join(dir, "id"), `tree ${i}\n`)
          trees.push(dir)
        }
        const added = yield* Effect.scoped(Effect.provide(
          Effect.gen(function*() {
            const s = yield* Store
            const out: Array<string> = []
            for (const t of trees) out.push(yield* s.addToStore(t))
            return out
          }),
          storeLayers(layout)
        ))
        // The .links names of the shared contents, from a tsnix-computed hash of a copy of each.
        const seeds: Array<[string, string, boolean]> = []
        for (const [n, c, x] of shared) {
          const p = path.join(src, "t0", n)
          seeds.push([yield* Effect.promise(() => linkName(Buffer.from(p), fs.lstatSync(p, { bigint: true }))), c, x])
        }
        const seedsFile = path.join(base, "seeds.json")
        fs.writeFileSync(seedsFile, JSON.stringify(seeds))
        const store = path.join(root, "nix/store")
        fs.mkdirSync(path.join(store, ".links"), { recursive: true })
        const [reaper, runs] = yield* Effect.promise(() => {
          const reaper = runFixture("links-reaper.mjs", [store, "5000", seedsFile])
          const runs = (async () => {
            const out = []
            const until = Date.now() + 4500
            while (Date.now() < until) out.push(await runTsnix(["--store", root, "--optimise"]))
            return out
          })()
          return Promise.all([reaper, runs])
        })
        expect(reaper.status, reaper.stderr).toBe(0)
        expect(Number(reaper.stdout.split(" ")[1])).toBeGreaterThan(0)
        for (const r of runs) {
          expect(r.status, r.stderr).toBe(0)
          expect(withoutLockWaits(r.stderr)).toMatch(/^\d+\.\d\d MiB freed by hard-linking \d+ files\n$/)
        }
        // Every file still has its contents and mode; the store verifies.
        for (const [i, p] of added.entries()) {
          for (const [n, c, x] of shared) {
            const f = path.join(root, p, i % 2 === 0 ? n : `sub/${n}`)
            expect(fs.readFileSync(f, "utf8"), f).toBe(c)
            expect((fs.statSync(f).mode & 0o111) !== 0, f).toBe(x)
          }
          expect(fs.readFileSync(path.join(root, p, "id"), "utf8")).toBe(`tree ${i}\n`)
        }
        expect(fs.readdirSync(store).filter((n) => n.startsWith(".tmp-link-"))).toEqual([])
        const verify = yield* Effect.promise(() => runTsnix(["--store", root, "--verify", "--check-contents"]))
        expect(verify.stderr).toBe(
          "reading the Nix store...\nchecking path existence...\nchecking link hashes...\nchecking store hashes...\n"
        )
      })),
    120000
  )
})
