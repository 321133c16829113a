/**
 * Builds and substitution through tsnix's daemon, with tsnix's client (runs
 * without Nix): an in-process daemon over an unsandboxed temp store with its
 * Builder, and the daemon Store/BuildStore layers as the client. Real
 * builder processes (busybox), real sockets, a real file:// cache.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Logger, LogLevel } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { withOutputPaths } from "../../src/core/derivation/outputs.js"
import type { Derivation } from "../../src/core/derivation/schema.js"
import { localStoreLayout } from "../../src/core/storeLayout.js"
import { encodePadded, encodeStrings, encodeU64 } from "../../src/core/wire/index.js"
import * as W from "../../src/core/wire/worker/index.js"
import { DaemonBuildEnv } from "../../src/daemon/buildEnv.js"
import { serveSocket } from "../../src/daemon/server.js"
import { daemonSettings } from "../../src/daemon/settings.js"
import { Builder } from "../../src/services/Builder.js"
import { BuildStore } from "../../src/services/BuildStore.js"
import { Derivations } from "../../src/services/Derivations.js"
import { LocalStore } from "../../src/services/LocalStore.js"
import { Store } from "../../src/services/Store.js"
import { openBinaryCache } from "../../src/stores/binaryCache/open.js"
import * as DaemonStore from "../../src/stores/daemon/layer.js"
import { copyClosure } from "../../src/stores/generic/copy.js"
import {
  addBusybox,
  addShellDerivation,
  builderLayers,
  defaultOptions,
  makeTempLayout,
  wipe
} from "../builder/helpers.js"
import { Client } from "./helpers.js"

const hasBusybox = fs.existsSync("/usr/bin/busybox")

const publicKeys = new Map()

/** A daemon (with builder) on a fresh temp store, and a client layer for it; `body` runs with both. */
const withBuildDaemon = <A, E>(
  body: (
    d: {
      readonly socket: string
      readonly top: string
      readonly client: (timeout?: number) => Layer.Layer<Store | BuildStore>
    }
  ) => Effect.Effect<A, E, Store | LocalStore | Builder | Derivations>,
  opts: { readonly cacheFailure?: boolean; readonly substituters?: ReadonlyArray<string> } = {}
) => {
  const { top, layout } = makeTempLayout("tsnix-daemon-build-")
  const socket = path.join(top, "daemon.sock")
  return Effect.gen(function*() {
    const builder = yield* Builder
    const derivations = yield* Derivations
    const ready = yield* Deferred.make<void>()
    const settings = daemonSettings([{ name: "trusted-users", value: "*", append: false, line: 0 }])
    yield* Effect.forkScoped(
      serveSocket({ _tag: "Path", path: socket }, settings, () => Deferred.unsafeDone(ready, Effect.void)).pipe(
        Effect.provideService(DaemonBuildEnv, {
          builder,
          derivations,
          buildOptions: { ...defaultOptions, cacheFailure: opts.cacheFailure ?? false },
          substitute: {
            substituters: opts.substituters ?? [],
            substitute: true,
            requireSigs: false,
            publicKeys
          }
        })
      )
    )
    yield* Deferred.await(ready)
    const client = (timeout = 0) =>
      DaemonStore.layer({
        uri: {
          uri: `unix://${socket}`,
          transport: { _tag: "unix", socketPath: socket },
          maxConnections: 1,
          directories: {}
        },
        layout,
        clientOptions: { ...W.defaultClientOptions, overrides: timeout > 0 ? [["timeout", String(timeout)]] : [] }
      })
    return yield* body({ socket, top, client })
  }).pipe(
    Effect.scoped,
    Effect.provide(builderLayers(layout)),
    Effect.ensuring(Effect.sync(() => wipe(top)))
  )
}

/** Runs `e` collecting the log lines the client logs (the daemon's STDERR messages). */
const collectingLogs = <A, E, R>(e: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => {
      lines.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
    })
    const a = yield* e.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
    return { a, lines }
  })

const outOf = (drvPath: string) =>
  Effect.flatMap(Derivations, (d) => Effect.map(d.read(drvPath), (drv) => drv.outputs.get("out")!.path))

describe.skipIf(!hasBusybox)("builds through tsnix's daemon (tsnix client)", () => {
  it.scopedLive("a build: Built, the output valid, its log lines and activity reach the client", () =>
    withBuildDaemon(({ client }) =>
      Effect.gen(function*() {
        const bb = yield* addBusybox
        const drv = yield* addShellDerivation(bb, "hello", "echo line-one; echo line-two >&2; echo hi > $out")
        const out = yield* outOf(drv)
        const { a: results, lines } = yield* collectingLogs(
          Effect.flatMap(BuildStore, (b) => b.buildPaths([`${drv}!*`], "normal")).pipe(Effect.provide(client()))
        )
        expect(results.map((r) => [r.path, r.status, r.timesBuilt])).toEqual([[`${drv}!*`, "Built", 1]])
        expect(lines).toContain(`building '${drv}'...`)
        expect(lines).toContain("line-one")
        expect(lines).toContain("line-two")
        expect(yield* (yield* Store).isValidPath(out)).toBe(true)
        // Again: AlreadyValid; QueryMissing has nothing to do.
        const again = yield* Effect.flatMap(BuildStore, (b) =>
          Effect.all([b.buildPaths([`${drv}!out`], "normal"), b.queryMissing([`${drv}!*`])])).pipe(
            Effect.provide(client())
          )
        expect(again[0].map((r) =>
          r.status
        )).toEqual(["AlreadyValid"])
        expect(again[1]).toEqual({ willBuild: [], willSubstitute: [], unknown: [], downloadSize: 0, narSize: 0 })
      })
    ))

  it.scopedLive("QueryMissing lists what will be built (inputs too) and what is unknown", () =>
    withBuildDaemon(({ client, top }) =>
      Effect.gen(function*() {
        const bb = yield* addBusybox
        const dep = yield* addShellDerivation(bb, "dep", "echo > $out")
        const top1 = yield* addShellDerivation(bb, "top", "cat $dep > $out", { dep: yield* outOf(dep) }, [dep])
        const store = yield* Store
        const bogus = `${store.storeDir}/${"a".repeat(32)}-nothing`
        const m = yield* Effect.flatMap(BuildStore, (b) => b.queryMissing([`${top1}!*`, bogus])).pipe(
          Effect.provide(client())
        )
        expect([...m.willBuild].sort()).toEqual([dep, top1].sort())
        expect(m.unknown).toEqual([bogus])
        void top
      })
    ))

  it.scopedLive("a failing build: PermanentFailure with Nix's message; a cached failure the second time", () =>
    withBuildDaemon(({ client }) =>
      Effect.gen(function*() {
        const bb = yield* addBusybox
        const drv = yield* addShellDerivation(bb, "fails", "echo oops; exit 3")
        const build = Effect.flatMap(BuildStore, (b) => b.buildPaths([`${drv}!*`], "normal")).pipe(
          Effect.provide(client())
        )
        const first = yield* build
        // As Nix 2.8's daemon words it: the last log lines and where the full log is.
        expect(first.map((r) => [r.status, r.errorMsg])).toEqual([[
          "PermanentFailure",
          `builder for '${drv}' failed with exit code 3;\nlast 1 log lines:\n> oops\nFor full logs, run 'nix log ${drv}'.`
        ]])
        const second = yield* build
        expect(second.map((r) => [r.status, r.errorMsg])).toEqual([[
          "CachedFailure",
          `builder for '${drv}' failed previously (cached)`
        ]])
        expect(yield* (yield* LocalStore).isFailedPath(yield* outOf(drv))).toBe(true)
      }), { cacheFailure: true }))

  it.scopedLive(
    "the client's timeout (a SetOptions override) is the daemon's: TimedOut",
    () =>
      withBuildDaemon(({ client }) =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const drv = yield* addShellDerivation(bb, "slow", "sleep 20; echo > $out")
          const t0 = Date.now()
          const r = yield* Effect.flatMap(BuildStore, (b) => b.buildPaths([`${drv}!*`], "normal")).pipe(
            Effect.provide(client(1))
          )
          expect(r.map((x) => x.status)).toEqual(["TimedOut"])
          expect(r[0]!.errorMsg).toContain("timed out after 1 seconds")
          expect(Date.now() - t0).toBeLessThan(10_000)
        })
      ),
    20_000
  )

  it.scopedLive(
    "a client that hangs up mid-build kills the build: no process, output, lock or temp root left",
    () =>
      withBuildDaemon(({ socket, top }) =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const pidFile = path.join(top, "builder.pid")
          const drv = yield* addShellDerivation(bb, "hang", `echo $$ > ${pidFile}; echo started; sleep 30; echo > $out`)
          const out = yield* outOf(drv)
          const c = yield* Effect.promise(() => Client.connect(socket))
          c.raw.write(encodeU64(W.Op.BuildPathsWithResults), encodeStrings([`${drv}!*`]), encodeU64(0))
          // Wait for the builder to run.
          const deadline = Date.now() + 10_000
          while (!fs.existsSync(pidFile) && Date.now() < deadline) yield* Effect.sleep(50)
          const pid = Number(fs.readFileSync(pidFile, "utf8").trim())
          expect(pidAlive(pid)).toBe(true)
          c.close()
          const gone = Date.now() + 10_000
          while (pidAlive(pid) && Date.now() < gone) yield* Effect.sleep(50)
          expect(pidAlive(pid)).toBe(false)
          const { layout } = yield* LocalStore
          // Give the finalizers a moment, then nothing is left of the build.
          yield* Effect.sleep(300)
          expect(fs.existsSync(out)).toBe(false)
          expect(fs.readdirSync(layout.realStoreDir).filter((n) => n.endsWith(".lock"))).toEqual([])
          const tempRoots = path.join(layout.stateDir, "temproots")
          const roots = fs.existsSync(tempRoots)
            ? fs.readdirSync(tempRoots).map((f) => fs.readFileSync(path.join(tempRoots, f), "utf8")).join("")
            : ""
          expect(roots).not.toContain(out)
          expect(yield* (yield* Store).isValidPath(out)).toBe(false)
        })
      ),
    30_000
  )

  it.scopedLive("BuildDerivation from an untrusted client: an input-addressed derivation is refused, a fixed-output one built", () =>
    Effect.gen(function*() {
      const { top, layout } = makeTempLayout("tsnix-daemon-build-untrusted-")
      const socket = path.join(top, "daemon.sock")
      yield* Effect.gen(function*() {
        const ready = yield* Deferred.make<void>()
        const settings = daemonSettings([{ name: "trusted-users", value: "nobody-here", append: false, line: 0 }])
        yield* Effect.forkScoped(
          serveSocket({ _tag: "Path", path: socket }, settings, () => Deferred.unsafeDone(ready, Effect.void)).pipe(
            Effect.provideService(DaemonBuildEnv, {
              builder: yield* Builder,
              derivations: yield* Derivations,
              buildOptions: defaultOptions,
              substitute: { substituters: [], substitute: false, requireSigs: false, publicKeys }
            })
          )
        )
        yield* Deferred.await(ready)
        const bb = yield* addBusybox
        const drvPath = yield* addShellDerivation(bb, "ia", "echo > $out")
        const drv = yield* (yield* Derivations).read(drvPath)
        const buildDerivationOp = (p: string, d: Derivation) =>
          Effect.promise(async () => {
            const c = await Client.connect(socket)
            const outs = [...d.outputs]
            const r = await c.op(
              W.Op.BuildDerivation,
              encodePadded(p),
              encodeU64(outs.length),
              ...outs.flatMap((
                [n, o]
              ) => [encodePadded(n), encodePadded(o.path), encodePadded(o.hashAlgo), encodePadded(o.hash)]),
              encodeStrings([...d.inputSrcs]),
              encodePadded(d.system),
              encodePadded(d.builder),
              encodeStrings([...d.args]),
              W.encodeStringMap([...d.env]),
              encodeU64(0)
            )
            const reply = r.error === undefined ? await c.raw.read(W.buildDerivationReply(c.daemonVersion)) : undefined
            c.close()
            return { error: r.error, reply }
          })
        const r = yield* buildDerivationOp(drvPath, drv)
        expect(r.error).toContain("you are not privileged to build input-addressed derivations")
        expect(yield* (yield* Store).isValidPath(drv.outputs.get("out")!.path)).toBe(false)
        // A fixed-output derivation is built, from the derivation sent (its .drv written by the daemon).
        const derivations = yield* Derivations
        const blank: Derivation = {
          name: "fod",
          outputs: new Map([["out", {
            path: "",
            hashAlgo: "sha256",
            hash: createHash("sha256").update("fixed").digest("hex")
          }]]),
          inputDrvs: new Map(),
          inputSrcs: [bb.slice(0, bb.lastIndexOf("/"))],
          system: "x86_64-linux",
          builder: bb,
          args: ["sh", "-c", "echo -n fixed > $out"],
          env: new Map([["builder", bb], ["name", "fod"], ["out", ""], ["system", "x86_64-linux"]])
        }
        const fodOut = (yield* derivations.outputPaths(blank)).get("out")!
        const fod = withOutputPaths(blank, new Map([["out", fodOut]]))
        // The client sends a wrong path for the fixed output: the daemon computes it from the hash.
        const sent: Derivation = {
          ...fod,
          outputs: new Map([["out", { ...blank.outputs.get("out")!, path: `${fodOut.slice(0, -3)}bad` }]])
        }
        const withPath: Derivation = {
          ...fod,
          outputs: new Map([["out", { ...blank.outputs.get("out")!, path: fodOut }]])
        }
        const fodPath = (yield* derivations.storePath(withPath)).path
        const built = yield* buildDerivationOp(fodPath, sent)
        expect(built.error).toBeUndefined()
        expect(built.reply?.status).toBe(W.BuildStatus.Built)
        expect(built.reply?.builtOutputs.map(([k]) => k.replace(/^sha256:[0-9a-f]{64}/, "H"))).toEqual(["H!out"])
        expect(yield* (yield* Store).isValidPath(fodOut)).toBe(true)
        expect(yield* (yield* Store).isValidPath(`${fodOut.slice(0, -3)}bad`)).toBe(false)
        expect(yield* (yield* Store).isValidPath(fodPath)).toBe(true)
      }).pipe(Effect.scoped, Effect.provide(builderLayers(layout)), Effect.ensuring(Effect.sync(() => wipe(top))))
    }))

  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-daemon-sub-cache-"))
  it.scopedLive(
    "substitution through the daemon from a file:// cache: QueryMissing, QuerySubstitutablePaths, builds",
    () =>
      withBuildDaemon(({ client, socket }) =>
        Effect.gen(function*() {
          const store = yield* Store
          // Paths made in another store with the same logical directory, copied to a file:// cache.
          const otherTop = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-daemon-sub-src-"))
          const made = yield* Effect.gen(function*() {
            const other = yield* Store
            const dep = yield* other.addTextToStore("dep.txt", new TextEncoder().encode("dep\n"), [])
            const top = yield* other.addTextToStore("top.txt", new TextEncoder().encode(`uses ${dep}\n`), [dep])
            const ensured = yield* other.addTextToStore("ensured.txt", new TextEncoder().encode("e\n"), [])
            const cache = yield* openBinaryCache(`file://${cacheDir}?compression=none`, other.storeDir)
            yield* copyClosure(other, cache, [top, ensured], { checkSigs: false, publicKeys })
            // QuerySubstitutablePaths asks only caches that want mass queries (as Nix).
            fs.appendFileSync(path.join(cacheDir, "nix-cache-info"), "WantMassQuery: 1\n")
            return { dep, top, ensured }
          }).pipe(
            Effect.scoped,
            Effect.provide(builderLayers(localStoreLayout({
              storeDir: store.storeDir,
              realStoreDir: path.join(otherTop, "store"),
              stateDir: path.join(otherTop, "state"),
              logDir: path.join(otherTop, "log")
            }))),
            Effect.ensuring(Effect.sync(() => wipe(otherTop)))
          )
          expect(yield* store.isValidPath(made.top)).toBe(false)
          const { a, lines } = yield* collectingLogs(
            Effect.gen(function*() {
              const b = yield* BuildStore
              const missing = yield* b.queryMissing([made.top])
              const subs = yield* Effect.promise(async () => {
                const c = await Client.connect(socket)
                const m = await c.op(W.Op.QuerySubstitutablePaths, encodeStrings([made.top, made.ensured]))
                const r = m.error === undefined ? await c.raw.read(W.pathSet) : [m.error]
                c.close()
                return r
              })
              const results = yield* b.buildPaths([made.top], "normal")
              yield* b.ensurePath(made.ensured)
              return { missing, subs, results }
            }).pipe(Effect.provide(client()))
          )
          expect(a.missing.willBuild).toEqual([])
          expect([...a.missing.willSubstitute].sort()).toEqual([made.dep, made.top].sort())
          expect(a.missing.unknown).toEqual([])
          expect(a.missing.narSize).toBeGreaterThan(0)
          expect(a.subs).toEqual([made.ensured, made.top].sort())
          expect(a.results.map((r) => r.status)).toEqual(["Substituted"])
          expect(lines.some((l) => l.startsWith(`copying path '${made.top}' from 'file://`))).toBe(true)
          expect(yield* store.queryValidPaths([made.dep, made.top, made.ensured])).toEqual(
            [made.dep, made.top, made.ensured]
          )
        }), { substituters: [`file://${cacheDir}`] }).pipe(
          Effect.ensuring(Effect.sync(() => fs.rmSync(cacheDir, { recursive: true, force: true })))
        ),
    30_000
  )
})

/** True while the process exists and is not a zombie. */
const pidAlive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}
