/**
 * Concurrency through the daemon client: 16 clients (each its own store
 * layer, so its own connection) add and query while another client collects
 * garbage in a loop: every path a client added stays valid while it runs
 * (the daemon holds it as a temporary root of that client's connection),
 * and no failure (BUSY or other) surfaces. And while one client adds a
 * large tree, another's queries keep being answered. Against tsnix daemon
 * (always) and Nix 2.8's nix-daemon (when installed).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { GcStore } from "../../../src/services/GcStore.js"
import { Store } from "../../../src/services/Store.js"
import * as StoreFromUri from "../../../src/stores/fromUri.js"
import { haveNixDaemon, nixDaemon, type NixDaemon, tsnixDaemon } from "./nixDaemon.js"

const clients = 16
const perClient = 10

const addersAndCollector = (start: Effect.Effect<NixDaemon, never, Scope.Scope>) =>
  Effect.gen(function*() {
    const d = yield* start
    const uri = `unix://${d.socket}?root=${d.root}`
    const stop = yield* Ref.make(false)
    let collections = 0
    const collector = yield* Effect.fork(Effect.provide(
      Effect.gen(function*() {
        const gc = yield* GcStore
        while (!(yield* Ref.get(stop))) {
          yield* gc.collectGarbage()
          collections++
        }
      }),
      StoreFromUri.storeLayer(uri)
    ))
    const adders = Array.from({ length: clients }, (_, c) =>
      Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          const mine: Array<string> = []
          for (let i = 0; i < perClient; i++) {
            const prev = mine.length > 0 ? [mine[mine.length - 1] as string] : []
            const p = yield* store.addTextToStore(`c${c}-${i}`, `client ${c} item ${i} ${prev.join("")}\n`, prev)
            mine.push(p)
            // Everything this client added is still there (and its closure), while the collector runs.
            expect(yield* store.queryValidPaths(mine)).toEqual(mine)
            expect((yield* store.computeClosure([p])).length).toBe(i + 1)
          }
          return mine.length
        }),
        StoreFromUri.storeLayer(uri)
      ))
    const added = yield* Effect.all(adders, { concurrency: "unbounded" })
    yield* Ref.set(stop, true)
    yield* Fiber.join(collector)
    expect(added.reduce((a, b) => a + b, 0)).toBe(clients * perClient)
    expect(collections).toBeGreaterThan(0)
  }).pipe(Effect.scoped)

const queriesDuringLargeAdd = (start: Effect.Effect<NixDaemon, never, Scope.Scope>) =>
  Effect.gen(function*() {
    const d = yield* start
    const uri = `unix://${d.socket}?root=${d.root}`
    const tree = path.join(d.dir, "big")
    fs.mkdirSync(tree)
    const block = Buffer.alloc(1 << 20, 7)
    for (let i = 0; i < 48; i++) {
      fs.writeFileSync(path.join(tree, `f${i}`), Buffer.concat([block, Buffer.from(String(i))]))
    }
    const small = yield* Effect.provide(
      Effect.flatMap(Store, (s) => s.addTextToStore("small", "x\n", [])),
      StoreFromUri.storeLayer(uri)
    )
    const adding = yield* Effect.fork(Effect.provide(
      Effect.flatMap(Store, (s) => s.addToStore(tree)),
      StoreFromUri.storeLayer(uri)
    ))
    const latencies: Array<number> = []
    yield* Effect.provide(
      Effect.gen(function*() {
        const store = yield* Store
        for (let i = 0; i < 40; i++) {
          const t0 = performance.now()
          expect(yield* store.isValidPath(small)).toBe(true)
          latencies.push(performance.now() - t0)
        }
      }),
      StoreFromUri.storeLayer(uri)
    )
    const big = yield* Fiber.join(adding)
    expect(big.startsWith("/nix/store/")).toBe(true)
    // Answered throughout (the machine is loaded: a generous bound on the slowest answer).
    expect(Math.max(...latencies)).toBeLessThan(3000)
  }).pipe(Effect.scoped)

describe("daemon client concurrency", () => {
  it.live("tsnix daemon: 16 clients add and query while a GC runs", () => addersAndCollector(tsnixDaemon), 90_000)
  it.live.skipIf(!haveNixDaemon)(
    "nix-daemon: 16 clients add and query while a GC runs",
    () => addersAndCollector(nixDaemon),
    90_000
  )
  it.live(
    "tsnix daemon: queries are answered while another client adds a large tree",
    () => queriesDuringLargeAdd(tsnixDaemon),
    90_000
  )
  it.live.skipIf(!haveNixDaemon)(
    "nix-daemon: queries are answered while another client adds a large tree",
    () => queriesDuringLargeAdd(nixDaemon),
    90_000
  )
})
