/**
 * The Builder's scheduling and resources, with real processes in an
 * unsandboxed temp store: max-jobs parallelism, the failed-build cache,
 * interruption (process group killed, no partial output, no lock file, no
 * build directory), keep-going, log files.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { logFilePath } from "../../src/builder/log.js"
import { Builder } from "../../src/services/Builder.js"
import { Derivations } from "../../src/services/Derivations.js"
import { LocalStore } from "../../src/services/LocalStore.js"
import { Store } from "../../src/services/Store.js"
import {
  addBusybox,
  addShellDerivation,
  builderLayers,
  defaultOptions,
  makeTempLayout,
  sameBusybox,
  wipe
} from "./helpers.js"

const hasBusybox = fs.existsSync("/usr/bin/busybox")
void sameBusybox

const withStore = <A, E>(
  prefix: string,
  body: (
    layout: ReturnType<typeof makeTempLayout>["layout"]
  ) => Effect.Effect<A, E, Builder | Store | LocalStore | Derivations>
) => {
  const { top, layout } = makeTempLayout(prefix)
  return body(layout).pipe(Effect.provide(builderLayers(layout)), Effect.ensuring(Effect.sync(() => wipe(top))))
}

const outOf = (drvPath: string) =>
  Effect.flatMap(Derivations, (d) => Effect.map(d.read(drvPath), (drv) => drv.outputs.get("out")!.path))

/** True while the process exists and is not a zombie (a killed orphan may wait for init to reap it). */
const pidAlive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}

describe.skipIf(!hasBusybox)("Builder", () => {
  it.scoped(
    "max-jobs 4: four 1-second builds finish in under 2 s plus overhead",
    () =>
      withStore("tsnix-jobs-", () =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const drvs: Array<string> = []
          for (let i = 0; i < 4; i++) drvs.push(yield* addShellDerivation(bb, `sleep${i}`, "sleep 1; echo done > $out"))
          const builder = yield* Builder
          const start = Date.now()
          const results = yield* builder.buildDerivations(drvs.map((drvPath) => ({ drvPath })), {
            ...defaultOptions,
            maxJobs: 4
          })
          const elapsed = Date.now() - start
          expect(results.map((r) => r.status)).toEqual(["Built", "Built", "Built", "Built"])
          expect(elapsed).toBeLessThan(3000)
          expect(elapsed).toBeGreaterThanOrEqual(1000)
        })),
    20_000
  )

  it.scoped(
    "inputs first; a dependency is built once for two dependents; logs are kept bzip2'd",
    () =>
      withStore("tsnix-deps-", (layout) =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const marker = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-marker-"))
          const base = yield* addShellDerivation(bb, "base", `echo run >> ${marker}/runs; echo base > $out`)
          const a = yield* addShellDerivation(bb, "a", "echo $base > $out", { base: yield* outOf(base) }, [base])
          const b = yield* addShellDerivation(bb, "b", "echo $base > $out", { base: yield* outOf(base) }, [base])
          const builder = yield* Builder
          yield* builder.buildDerivations([{ drvPath: a }, { drvPath: b }], { ...defaultOptions, maxJobs: 2 })
          expect(fs.readFileSync(`${marker}/runs`, "utf8")).toBe("run\n")
          const store = yield* Store
          expect(yield* store.queryReferences(yield* outOf(a))).toEqual([yield* outOf(base)])
          expect(fs.existsSync(logFilePath(layout.logDir, base) + ".bz2")).toBe(true)
          fs.rmSync(marker, { recursive: true, force: true })
        })),
    20_000
  )

  it.scoped(
    "build-cache-failure: a failure is recorded, then refused as cached until cleared",
    () =>
      withStore("tsnix-failed-", () =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const marker = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-marker-"))
          const drv = yield* addShellDerivation(bb, "failing", `echo run >> ${marker}/runs; exit 1`)
          const builder = yield* Builder
          const local = yield* LocalStore
          const options = { ...defaultOptions, cacheFailure: true }
          const first = yield* Effect.flip(builder.buildDerivations([{ drvPath: drv }], options))
          expect(first._tag === "BuildFailedError" && first.exitStatus).toBe(100)
          expect((yield* local.queryFailedPaths).map((f) => f.path)).toEqual([yield* outOf(drv)])
          const second = yield* Effect.flip(builder.buildDerivations([{ drvPath: drv }], options))
          expect(second._tag === "BuildFailedError" && second.exitStatus).toBe(100)
          expect(second.message).toBe(`builder for '${drv}' failed previously (cached)`)
          expect(fs.readFileSync(`${marker}/runs`, "utf8")).toBe("run\n")
          yield* local.clearFailedPaths([drv])
          expect(yield* local.queryFailedPaths).toEqual([])
          yield* Effect.flip(builder.buildDerivations([{ drvPath: drv }], options))
          expect(fs.readFileSync(`${marker}/runs`, "utf8")).toBe("run\nrun\n")
          fs.rmSync(marker, { recursive: true, force: true })
        })),
    20_000
  )

  it.scoped(
    "keep-going: an independent build goes on after a failure; without it, it is interrupted",
    () =>
      withStore("tsnix-keepgoing-", () =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const bad = yield* addShellDerivation(bb, "bad", "exit 2")
          const slow = yield* addShellDerivation(bb, "slow", "sleep 1; echo ok > $out")
          const builder = yield* Builder
          const store = yield* Store
          const e = yield* Effect.flip(
            builder.buildDerivations([{ drvPath: bad }, { drvPath: slow }], { ...defaultOptions, maxJobs: 2 })
          )
          expect(e.message).toContain("failed with exit code 2")
          expect(yield* store.isValidPath(yield* outOf(slow))).toBe(false)
          const e2 = yield* Effect.flip(
            builder.buildDerivations([{ drvPath: bad }, { drvPath: slow }], {
              ...defaultOptions,
              maxJobs: 2,
              keepGoing: true
            })
          )
          // One failed goal: its own error only (several: "build of '…', '…' failed", as Nix).
          expect(e2._tag === "BuildFailedError" && e2.messages).toEqual([
            `builder for '${bad}' failed with exit code 2`
          ])
          expect(yield* store.isValidPath(yield* outOf(slow))).toBe(true)
        })),
    20_000
  )

  it.scopedLive(
    "interruption kills the process group and leaves no output, lock or build directory",
    () =>
      withStore("tsnix-interrupt-", (layout) =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const marker = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-marker-"))
          // The builder leaves a partial output and a grandchild behind, then waits.
          const drv = yield* addShellDerivation(
            bb,
            "hang",
            `mkdir $out; echo partial > $out/f; sleep 60 & echo $! > ${marker}/child; echo $$ > ${marker}/pid; echo started; wait`
          )
          const out = yield* outOf(drv)
          const builder = yield* Builder
          let started = false
          const fiber = yield* Effect.fork(builder.buildDerivations([{ drvPath: drv }], {
            ...defaultOptions,
            onLog: () => {
              started = true
            }
          }))
          while (!started) yield* Effect.sleep(Duration.millis(10))
          const pid = Number(fs.readFileSync(`${marker}/pid`, "utf8"))
          const child = Number(fs.readFileSync(`${marker}/child`, "utf8"))
          expect(fs.existsSync(out)).toBe(true)
          const exit = yield* Fiber.interrupt(fiber)
          expect(Exit.isInterrupted(exit)).toBe(true)
          expect(pidAlive(pid)).toBe(false)
          expect(pidAlive(child)).toBe(false)
          expect(fs.existsSync(out)).toBe(false)
          expect(fs.existsSync(out + ".lock")).toBe(false)
          expect(fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith("nix-build-hang.drv-"))).toEqual([])
          expect(yield* (yield* Store).isValidPath(out)).toBe(false)
          expect(Option.isNone(yield* (yield* Builder).readLog(drv))).toBe(true)
          void layout
          fs.rmSync(marker, { recursive: true, force: true })
        })),
    20_000
  )
})
