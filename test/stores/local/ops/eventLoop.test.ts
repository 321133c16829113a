/**
 * Long store operations never block the event loop (issue 12): while a
 * ~200 MB tree (20k small files, a few large ones, symlinks, executables) is
 * added, dumped (narFromPath, hashing in the same process), restored from its
 * NAR, canonicalised, optimised, deleted and collected, a self-rescheduling
 * 10 ms timer in this process is never more than 50 ms late. What is measured
 * is the lag itself (each timer firing against when it was due), not the
 * wall time; the number of firings shows the loop kept turning all along.
 * Set TSNIX_LAG_REPORT=1 to print the figures.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { monitorEventLoopDelay, performance, PerformanceObserver } from "node:perf_hooks"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Option, Stream } from "effect"
import * as GcLive from "../../../../src/stores/local/gc/layer.js"
import * as StoreLive from "../../../../src/stores/local/layer.js"
import { dumpPathToWritable, narHashPath } from "../../../../src/io/dump.js"
import { restorePath } from "../../../../src/io/restore.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"
import { Store } from "../../../../src/services/Store.js"
import { canonicalisePath } from "../../../../src/stores/local/ops/canonicalise.js"
import { removeTreeSync } from "../../../../src/stores/local/ops/removeTree.js"

/** The requirement: a 10 ms timer is never more than this late. */
const MAX_LAG_MS = 50
const TIMER_MS = 10

const SMALL_FILES = 20_000
const FILES_PER_DIR = 250
const LARGE_FILES_MB = [20, 30, 40, 50]

let base = ""
let src = ""
let root = ""
let treeBytes = 0

/** Writes the tree: small files of 0-6 KiB in directories of 250, large files, symlinks, executables. */
const generateTree = (dir: string): number => {
  let total = 0
  fs.mkdirSync(dir)
  const block = Buffer.alloc(1 << 20)
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24
  for (let i = 0; i < SMALL_FILES; i++) {
    const sub = path.join(dir, `d${Math.floor(i / FILES_PER_DIR)}`)
    if (i % FILES_PER_DIR === 0) fs.mkdirSync(sub)
    const size = (i * 7919) % 6144
    const bytes = Buffer.concat([Buffer.from(`file ${i}\n`), block.subarray(i % 4096, (i % 4096) + size)])
    fs.writeFileSync(path.join(sub, `f${i}`), bytes, { mode: i % 50 === 0 ? 0o755 : 0o644 })
    total += bytes.length
    if (i % 1000 === 0) fs.symlinkSync(`f${i}`, path.join(sub, `l${i}`))
  }
  const big = path.join(dir, "big")
  fs.mkdirSync(big)
  for (const [k, mb] of LARGE_FILES_MB.entries()) {
    const fd = fs.openSync(path.join(big, `large${k}`), "w")
    for (let j = 0; j < mb; j++) {
      block.writeUInt32LE(j + k * 1000, 0)
      fs.writeSync(fd, block)
    }
    fs.closeSync(fd)
    total += mb << 20
  }
  return total
}

interface Lag {
  /** The latest firing against its due time, in ms. */
  readonly maxLateMs: number
  /**
   * The same, less the time this thread spent waiting for a CPU meanwhile
   * (Linux's run-queue delay, /proc/self/task/PID/schedstat): the part of the
   * lateness that is this process's doing, not the machine's load.
   */
  readonly maxOwnLateMs: number
  /** Firings during the operation. */
  readonly ticks: number
  /** The operation's wall time, in ms. */
  readonly wallMs: number
  /** monitorEventLoopDelay's maximum, in ms (another view of the raw lateness). */
  readonly histogramMaxMs: number
  /** Firings more than 25 ms late (without run-queue waits): [ms since the start, ms late]. */
  readonly lateFirings: ReadonlyArray<readonly [number, number]>
  /** V8 garbage collections of more than 10 ms meanwhile: [ms since the start, ms]. */
  readonly gcPauses: ReadonlyArray<readonly [number, number]>
}

const schedstatFile = `/proc/self/task/${process.pid}/schedstat`
const hasSchedstat = fs.existsSync(schedstatFile)

/** This (main) thread's total run-queue delay so far, in ms (0 where Linux's schedstat is missing). */
const runQueueMs = (): number => {
  if (!hasSchedstat) return 0
  const fields = fs.readFileSync(schedstatFile, "latin1").split(" ")
  return Number(fields[1]) / 1e6
}

/** Runs `effect` while a 10 ms timer measures how late the event loop lets it fire. */
const withLagMeter = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<[A, Lag], E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const hist = monitorEventLoopDelay({ resolution: 10 })
      hist.enable()
      const gcPauses: Array<readonly [number, number]> = []
      const t0 = performance.now()
      const gcObserver = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.duration > 10) gcPauses.push([Math.round(e.startTime - t0), Math.round(e.duration)])
        }
      })
      gcObserver.observe({ entryTypes: ["gc"] })
      const state = {
        maxLateMs: 0,
        maxOwnLateMs: 0,
        lateFirings: [] as Array<readonly [number, number]>,
        gcPauses,
        gcObserver,
        ticks: 0,
        start: t0,
        due: performance.now() + TIMER_MS,
        runQueue: runQueueMs(),
        timer: undefined as NodeJS.Timeout | undefined,
        hist
      }
      /** Takes a firing (or the end) at `now` into account. */
      const record = (now: number) => {
        const late = Math.max(0, now - state.due)
        const rq = runQueueMs()
        state.maxLateMs = Math.max(state.maxLateMs, late)
        const own = late - Math.min(late, rq - state.runQueue)
        if (own > 25) state.lateFirings.push([Math.round(now - state.start), Math.round(own)])
        state.maxOwnLateMs = Math.max(state.maxOwnLateMs, own)
        state.runQueue = rq
      }
      const tick = () => {
        const now = performance.now()
        record(now)
        state.ticks++
        state.due = now + TIMER_MS
        state.timer = setTimeout(tick, TIMER_MS)
      }
      state.timer = setTimeout(tick, TIMER_MS)
      return { state, record }
    }),
    ({ record, state }) =>
      Effect.map(effect, (a): [A, Lag] => {
        // The pending firing counts too: the operation may end in the middle of a long block.
        const now = performance.now()
        record(now)
        return [a, {
          maxLateMs: state.maxLateMs,
          maxOwnLateMs: state.maxOwnLateMs,
          ticks: state.ticks,
          wallMs: now - state.start,
          histogramMaxMs: state.hist.max / 1e6,
          lateFirings: state.lateFirings,
          gcPauses: state.gcPauses
        }]
      }),
    ({ state }) =>
      Effect.sync(() => {
        clearTimeout(state.timer)
        state.hist.disable()
        state.gcObserver.disconnect()
      })
  )

const quiet = Logger.minimumLogLevel(LogLevel.Warning)
const storeLayers = (storeRoot = root) =>
  GcLive.layer({ gcRuntimeRoots: false }).pipe(
    Layer.provideMerge(StoreLive.layer({ layout: makeStoreLayout(storeRoot), fsyncMetadata: false })),
    Layer.provideMerge(quiet)
  )

/** Checks the lag figures of one operation (and prints them with TSNIX_LAG_REPORT). */
const expectResponsive = (what: string, lag: Lag) => {
  if (process.env.TSNIX_LAG_REPORT !== undefined) {
    process.stderr.write(
      `${what}: wall ${lag.wallMs.toFixed(0)} ms, ${lag.ticks} ticks, timer late by at most ${
        lag.maxLateMs.toFixed(1)
      } ms` +
        ` (${lag.maxOwnLateMs.toFixed(1)} ms without run-queue waits; histogram max ${
          lag.histogramMaxMs.toFixed(1)
        } ms)` +
        (lag.lateFirings.length > 0 ? `; late firings [at, ms] ${JSON.stringify(lag.lateFirings)}` : "") +
        (lag.gcPauses.length > 0 ? `; V8 GC pauses [at, ms] ${JSON.stringify(lag.gcPauses)}` : "") + "\n"
    )
  }
  expect(lag.maxOwnLateMs, `${what}: the 10 ms timer was late by ${lag.maxOwnLateMs.toFixed(1)} ms`).toBeLessThan(
    MAX_LAG_MS
  )
}

/** The NAR file of the tree, and the paths the operations share. */
let narFile = ""
let added = ""
let addedForGc = ""
let restored = ""

/** A file read with synchronous reads, 1 MiB per pull: a source that never yields by itself. */
const readNarSync = (file: string): Stream.Stream<Uint8Array> =>
  Stream.unwrapScoped(Effect.map(
    Effect.acquireRelease(Effect.sync(() => fs.openSync(file, "r")), (fd) => Effect.sync(() => fs.closeSync(fd))),
    (fd) =>
      Stream.repeatEffectOption(Effect.suspend(() => {
        const buf = Buffer.allocUnsafe(1 << 20)
        const n = fs.readSync(fd, buf, 0, buf.length, null)
        return n === 0 ? Effect.fail(Option.none()) : Effect.succeed(buf.subarray(0, n))
      }))
  ))

describe("long operations yield to the event loop", () => {
  let rt: ManagedRuntime.ManagedRuntime<Store | LocalStore | GarbageCollector, unknown>

  beforeAll(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-evloop-"))
    src = path.join(base, "tree")
    root = path.join(base, "root")
    narFile = path.join(base, "tree.nar")
    restored = path.join(base, "restored")
    treeBytes = generateTree(src)
    rt = ManagedRuntime.make(storeLayers())
  }, 120_000)

  afterAll(async () => {
    await rt?.dispose()
    if (base !== "") removeTreeSync(base)
  })

  it("the tree is about 200 MB", () => {
    expect(treeBytes).toBeGreaterThan(190 << 20)
  })

  it("addToStore", async () => {
    const [p, lag] = await rt.runPromise(
      withLagMeter(Effect.flatMap(Store, (s) => s.addToStore(src, { name: "tree" })))
    )
    added = p
    expectResponsive("addToStore", lag)
    const mine = await Effect.runPromise(narHashPath(path.join(root, added)))
    const info = await rt.runPromise(Effect.flatMap(Store, (s) => s.queryPathInfo(added))).then(Option.getOrThrow)
    expect(info.narSize).toBe(mine.narSize)
  }, 120_000)

  it("narFromPath (hashed in this process)", async () => {
    const [size, lag] = await rt.runPromise(
      withLagMeter(
        Effect.flatMap(Store, (s) => Stream.runFold(s.narFromPath(added), 0, (n, chunk) => n + chunk.length))
      )
    )
    expectResponsive("narFromPath", lag)
    const info = await rt.runPromise(Effect.flatMap(Store, (s) => s.queryPathInfo(added))).then(Option.getOrThrow)
    expect(size).toBe(info.narSize)
  }, 120_000)

  it("narHashPath and dumpPathToWritable", async () => {
    const [h, lag] = await Effect.runPromise(withLagMeter(narHashPath(path.join(root, added))))
    expectResponsive("narHashPath", lag)
    const [d, lag2] = await Effect.runPromise(withLagMeter(
      dumpPathToWritable(path.join(root, added), () => fs.createWriteStream(narFile), { end: true })
    ))
    expectResponsive("dumpPathToWritable", lag2)
    expect(d.narHash).toEqual(h.narHash)
    expect(fs.statSync(narFile).size).toBe(h.narSize)
  }, 120_000)

  // The dump worker runs compiled JavaScript: this case uses the build in dist/ (`npm test` builds first).
  const distDump = path.resolve(__dirname, "../../../../dist/io/dump.js")
  it.skipIf(!fs.existsSync(distDump))("narHashPath with the walk on the dump worker (dist build)", async () => {
    const dump = (await import(pathToFileURL(distDump).href)) as typeof import("../../../../src/io/dump.js")
    const [h, lag] = await Effect.runPromise(withLagMeter(dump.narHashPath(path.join(root, added))))
    expectResponsive("narHashPath (dump worker)", lag)
    const mine = await Effect.runPromise(narHashPath(path.join(root, added)))
    expect(h).toEqual(mine)
  }, 120_000)

  it("restore of its NAR (a synchronous source), then canonicalise", async () => {
    const [r, lag] = await Effect.runPromise(withLagMeter(restorePath(restored, readNarSync(narFile))))
    expectResponsive("restorePath", lag)
    expect(r.narSize).toBe(fs.statSync(narFile).size)
    const [, lag2] = await Effect.runPromise(withLagMeter(canonicalisePath(restored)))
    expectResponsive("canonicalisePath", lag2)
    const st = fs.statSync(path.join(restored, "d0"))
    expect([st.mode & 0o777, st.mtimeMs]).toEqual([0o555, 1000])
  }, 120_000)

  it("exportPaths, and importPaths into another store (from a synchronous source)", async () => {
    const exportFile = path.join(base, "tree.export")
    const [, lag] = await rt.runPromise(withLagMeter(Effect.flatMap(Store, (s) =>
      Effect.acquireUseRelease(
        Effect.sync(() => fs.openSync(exportFile, "w")),
        (fd) => Stream.runForEach(s.exportPaths([added]), (chunk) => Effect.sync(() => void fs.writeSync(fd, chunk))),
        (fd) => Effect.sync(() => fs.closeSync(fd))
      ))))
    expectResponsive("exportPaths", lag)
    const other = ManagedRuntime.make(storeLayers(path.join(base, "other")))
    try {
      const [paths, lag2] = await other.runPromise(
        withLagMeter(Effect.flatMap(Store, (s) => s.importPaths(readNarSync(exportFile))))
      )
      expectResponsive("importPaths", lag2)
      expect(paths).toEqual([added])
    } finally {
      await other.dispose()
      fs.rmSync(exportFile)
    }
  }, 120_000)

  it("optimiseStore, after a second add", async () => {
    const [p, lag] = await rt.runPromise(
      withLagMeter(Effect.flatMap(Store, (s) => s.addToStore(src, { name: "tree-gc" })))
    )
    addedForGc = p
    expectResponsive("addToStore (second copy)", lag)
    const [stats, lag2] = await rt.runPromise(withLagMeter(Effect.flatMap(LocalStore, (s) => s.optimiseStore())))
    expectResponsive("optimiseStore", lag2)
    expect(stats.filesLinked).toBeGreaterThan(SMALL_FILES)
  }, 120_000)

  it("deletePaths and the collector", async () => {
    // A fresh store instance: the first one holds temporary roots on what it added.
    await rt.dispose()
    rt = ManagedRuntime.make(storeLayers())
    const [del, lag] = await rt.runPromise(withLagMeter(Effect.flatMap(LocalStore, (s) => s.deletePaths([added]))))
    expectResponsive("deletePaths", lag)
    expect(del.deleted).toEqual([added])
    expect(fs.existsSync(path.join(root, added))).toBe(false)
    const [gc, lag2] = await rt.runPromise(withLagMeter(Effect.flatMap(GarbageCollector, (g) => g.collectGarbage())))
    expectResponsive("collectGarbage", lag2)
    expect(gc.paths).toContain(addedForGc)
    expect(fs.existsSync(path.join(root, addedForGc))).toBe(false)
  }, 120_000)
})
