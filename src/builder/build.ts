/**
 * One derivation build, as a scoped resource (Nix 2.8's LocalDerivationGoal):
 * the output path locks, temporary roots, the build directory and the
 * builder process all belong to the build's scope. Whatever ends it (success,
 * failure, interruption), the process group is killed, partial (invalid)
 * outputs are removed, the build directory is removed (kept with
 * `keepFailed` after a failure) and the locks are released; outputs are
 * registered in one transaction, or not at all.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Option, Stream } from "effect"
import { Buffer } from "node:buffer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { byteStringToBytes, byteStringToUtf8 } from "../core/derivation/schema.js"
import type { Derivation } from "../core/derivation/schema.js"
import { render as renderCa } from "../core/contentAddress.js"
import { hashBytes, hashEquals, printHash } from "../core/hash.js"
import { toRealPath } from "../core/storeLayout.js"
import type { StoreLayout } from "../core/storeLayout.js"
import { makeStorePath, storePathToString } from "../core/storePath.js"
import type { BuildOptions, BuildStatus } from "../services/Builder.js"
import { BuilderStoreError } from "../services/Builder.js"
import type { LocalStoreShape } from "../services/LocalStore.js"
import type { LockShape } from "../services/Lock.js"
import type { StoreShape } from "../services/Store.js"
import { dumpPath } from "../io/dump.js"
import { removeTree } from "../stores/local/ops/removeTree.js"
import { runChild } from "./child.js"
import type { ChildOutcome } from "./child.js"
import { BuildSetupError, buildEnvironment, type ExportedPathInfo } from "./env.js"
import { writeLog } from "./log.js"
import { OutputCheckError, prepareOutputs } from "./outputs.js"
import { checkOutputs as checkOutputReferences } from "./outputChecks.js"
import { runPostBuildHook } from "./postBuildHook.js"
import { signRegistrations, SigningError, verifiedRegistration } from "./signOutputs.js"
import { makeLogLineSplitter } from "./structuredLog.js"
import type { PathRegistration } from "../services/StoreDb.js"
import { canSandbox, sandboxedCommand } from "./sandboxRun.js"

/** What a build needs from its surroundings. */
export interface BuildContext {
  readonly layout: StoreLayout
  readonly store: StoreShape
  readonly local: LocalStoreShape
  readonly lock: LockShape
  readonly options: BuildOptions
}

/** The outcome of one build: Nix's status, message and exit bits (0x04 failure, 0x01 timeout, 0x02 hash, 0x08 check). */
export interface BuildOutcome {
  readonly status: BuildStatus
  readonly errorMsg: string
  readonly exitBits: number
  readonly timesBuilt: number
  readonly startTime: number
  readonly stopTime: number
}

const storeErr = (operation: string) => (cause: unknown) => new BuilderStoreError({ operation, cause })

const now = () => Math.floor(Date.now() / 1000)

let cpus: number | undefined
/** The number of CPUs (os.cpus() reads /proc each time: asked once). */
const cpuCount = () => (cpus ??= os.cpus().length)

/** The build directory `<tmp>/nix-build-<drv name>-<n>` (mode 0700), as Nix's createTempDir names it. */
const makeBuildDir = (drvBaseName: string): string => {
  const parent = process.env["TMPDIR"] ?? os.tmpdir()
  for (let n = 0;; n++) {
    const p = path.join(parent, `nix-build-${drvBaseName}-${n}`)
    try {
      fs.mkdirSync(p, { mode: 0o700 })
      fs.chmodSync(p, 0o700)
      return p
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
  }
}

/**
 * Removes a directory holding only a few non-directories, at once; false (nothing or part removed)
 * for anything else, left to the caller's general removal.
 */
const removeSmallDir = (dir: string): boolean => {
  try {
    const entries = fs.readdirSync(dir, { withFileTypes: true })
    if (entries.length > 16 || entries.some((e) => e.isDirectory())) return false
    for (const e of entries) fs.unlinkSync(path.join(dir, e.name))
    fs.rmdirSync(dir)
    return true
  } catch {
    return false
  }
}

/** Nix's `makeFallbackPath`: the scratch path of an output rebuilt while it is valid (`--check`). */
const fallbackPath = (storeDir: string, drvPath: string, outputName: string, pathName: string) =>
  storePathToString(
    storeDir,
    makeStorePath(
      storeDir,
      `rewrite:${drvPath}:name:${outputName}`,
      { algo: "sha256", bytes: new Uint8Array(32) },
      pathName
    )
  )

const signalNumbers: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGSEGV: 11,
  SIGABRT: 6
}

const describeExit = (o: ChildOutcome & { _tag: "Exited" }) =>
  o.signal !== null
    ? `failed due to signal ${signalNumbers[o.signal] ?? o.signal} (${o.signal})`
    : `failed with exit code ${o.code ?? 1}`

/** Builds one derivation whose inputs are valid. Never fails with a build failure: that is the outcome's status. */
export const buildDerivation = (
  ctx: BuildContext,
  drvPath: string,
  drv: Derivation,
  wanted: ReadonlyArray<string>
): Effect.Effect<BuildOutcome, BuilderStoreError> =>
  Effect.scoped(Effect.gen(function*() {
    const { layout, store, local, lock, options } = ctx
    const startTime = now()
    const outcome = (status: BuildStatus, errorMsg: string, exitBits: number, timesBuilt = 0): BuildOutcome => ({
      status,
      errorMsg,
      exitBits,
      timesBuilt,
      startTime,
      stopTime: now()
    })
    const outputs = [...drv.outputs].map(([name, o]) => ({ name, path: o.path, o }))
    const outPaths = outputs.map((o) => o.path)
    const fixed = outputs.some((o) => o.o.hash !== "")
    const drvBase = path.posix.basename(drvPath).slice(33)
    const allWanted = wanted.length === outputs.length
    const goalName = `building of '${drvPath}!${allWanted ? "*" : [...wanted].sort().join(",")}' from .drv file`

    const cachedFailure = Effect.gen(function*() {
      if (!options.cacheFailure) return false
      for (const p of outPaths) if (yield* local.isFailedPath(p)) return true
      return false
    }).pipe(Effect.mapError(storeErr("querying failed paths")))
    const cachedMsg = `builder for '${drvPath}' failed previously (cached)`
    if (yield* cachedFailure) return outcome("CachedFailure", cachedMsg, 0x04)

    yield* lock.lockPaths(outPaths, { waitMessage: `waiting for lock on ${outPaths.map((p) => `'${p}'`).join(", ")}` })
      .pipe(
        // As Nix: the lock files go when the build is over.
        Effect.tap((locks) => locks.setDeletion(true)),
        Effect.mapError(storeErr("locking the outputs"))
      )
    const validNow = new Set(yield* store.queryValidPaths(outPaths).pipe(Effect.mapError(storeErr("querying"))))
    if (!options.check && outputs.filter((o) => wanted.includes(o.name)).every((o) => validNow.has(o.path))) {
      return outcome("AlreadyValid", "", 0)
    }
    if (yield* cachedFailure) return outcome("CachedFailure", cachedMsg, 0x04)
    // One append for all of them (the store's temp roots are its Lock's).
    yield* lock.addTempRoots([drvPath, ...outPaths]).pipe(Effect.mapError(storeErr("adding a temporary root")))

    // The input closure: sources and the outputs of input derivations.
    const inputs: Array<string> = [...drv.inputSrcs]
    for (const [inDrv, outs] of drv.inputDrvs) {
      const map = yield* store.queryDerivationOutputMap(inDrv).pipe(Effect.mapError(storeErr("querying outputs")))
      for (const o of outs) if (map[o] !== undefined) inputs.push(map[o])
    }
    const inputPaths = yield* store.computeClosure(inputs).pipe(
      Effect.mapError(storeErr("computing the input closure"))
    )
    // The store closures of sandbox-paths sources in the store are bound in too (as Nix does).
    const sandboxStorePaths: Array<string> = []
    for (const entry of options.sandboxPaths) {
      const source = entry.replace(/\?$/, "").split("=").pop() ?? ""
      if (!source.startsWith(layout.storeDir + "/")) continue
      const top = source.split("/").slice(0, layout.storeDir.split("/").length + 1).join("/")
      if (yield* store.isValidPath(top).pipe(Effect.orElseSucceed(() => false))) sandboxStorePaths.push(top)
    }
    const sandboxClosure = sandboxStorePaths.length === 0
      ? []
      : yield* store.computeClosure(sandboxStorePaths).pipe(
        Effect.mapError(storeErr("computing the sandbox-paths closure"))
      )

    const chrootStore = layout.storeDir !== layout.realStoreDir
    const noChroot = drv.env.get("__noChroot") === "1"
    const wantSandbox = chrootStore ||
      options.sandbox === "true" ||
      (options.sandbox === "relaxed" && !fixed && !noChroot)
    // sandbox-fallback: without bubblewrap a store whose logical and real directories agree builds unsandboxed.
    const useSandbox = wantSandbox && (chrootStore || !options.sandboxFallback || (yield* canSandbox))
    if (options.sandbox === "true" && noChroot && !chrootStore) {
      return outcome(
        "MiscFailure",
        `derivation '${drvPath}' has '__noChroot' set, but that's not allowed when 'sandbox' is 'true'`,
        0
      )
    }
    if (!useSandbox && fs.existsSync("/homeless-shelter")) {
      return outcome(
        "MiscFailure",
        "home directory '/homeless-shelter' exists; please remove it to assure purity of builds without sandboxing",
        0
      )
    }

    // Where the builder writes each output: the output path, or a scratch path when it is valid (--check, unsandboxed).
    const scratch = new Map<string, string>()
    for (const o of outputs) {
      const pathName = o.path.slice(layout.storeDir.length + 34)
      scratch.set(
        o.name,
        !useSandbox && validNow.has(o.path) ? fallbackPath(layout.storeDir, drvPath, o.name, pathName) : o.path
      )
    }
    // Stale invalid outputs (an interrupted build, Nix's or ours) are removed first; valid ones never.
    // Before the build, `validNow` (read under the locks) tells which are valid; afterwards the
    // database does, unless this build has registered them all.
    let registered = false
    const removeInvalidOutputs = (before: boolean) =>
      Effect.gen(function*() {
        if (registered) return
        for (const o of outputs) {
          const p = scratch.get(o.name)!
          if (p === o.path && validNow.has(p)) continue
          if (!before && p === o.path && (yield* store.isValidPath(p).pipe(Effect.orElseSucceed(() => true)))) {
            continue
          }
          yield* Effect.ignore(removeTree(toRealPath(layout, p)))
        }
      })
    yield* Effect.orDie(removeInvalidOutputs(true))

    const buildDir = yield* Effect.try({
      try: () => makeBuildDir(drvBase),
      catch: storeErr("creating the build directory")
    })
    let keepBuildDir = false
    yield* Effect.addFinalizer((exit) =>
      Effect.gen(function*() {
        if (keepBuildDir && Exit.isSuccess(exit)) {
          yield* Effect.sync(() => fs.chmodSync(buildDir, 0o755)).pipe(Effect.ignore)
          options.onInfo?.(`note: keeping build directory '${buildDir}'`)
        } else {
          // A few files (the usual case) at once; a tree off the event loop (a large /tmp makes rmdir
          // slow), or the synchronous walk if that fails (a directory the builder made read-only).
          if (!removeSmallDir(buildDir)) {
            yield* Effect.tryPromise(() => fs.promises.rm(buildDir, { recursive: true, force: true })).pipe(
              Effect.orElse(() => Effect.ignore(removeTree(buildDir)))
            )
          }
        }
        // Nothing half-made stays in the store: partial outputs of an unregistered build go.
        yield* Effect.ignore(removeInvalidOutputs(false))
      })
    )
    const buildTop = useSandbox ? "/build" : buildDir
    const hashPart = (p: string) => p.slice(layout.storeDir.length + 1, layout.storeDir.length + 33)

    const exportReferences = (paths: ReadonlyArray<string>): ReadonlyArray<ExportedPathInfo> | BuildSetupError => {
      for (const p of paths) {
        if (!inputPaths.includes(p)) {
          return new BuildSetupError({
            message: `cannot export references of path '${p}' because it is not in the input closure of the derivation`
          })
        }
      }
      return Effect.runSync(Effect.orDie(exportInfos(store, paths)))
    }
    const envResult = buildEnvironment({
      drv,
      storeDir: layout.storeDir,
      buildTop,
      hostBuildDir: buildDir,
      cores: options.cores > 0 ? options.cores : cpuCount(),
      outputPaths: scratch,
      hashRewrites: new Map(
        outputs.filter((o) => scratch.get(o.name) !== o.path).map((
          o
        ) => [hashPart(o.path), hashPart(scratch.get(o.name)!)])
      ),
      exportReferences,
      hostEnv: process.env
    })
    if (envResult instanceof BuildSetupError) return outcome("MiscFailure", envResult.message, 0)
    const writeBuildFiles = Effect.try({
      try: () => {
        for (const [name, contents] of envResult.files) {
          fs.writeFileSync(path.join(buildDir, name), byteStringToBytes(contents), { mode: 0o644 })
        }
      },
      catch: storeErr("writing the build directory")
    })
    yield* writeBuildFiles
    const env: Record<string, string> = {}
    for (const [k, v] of envResult.env) env[byteStringToUtf8(k)] = byteStringToUtf8(v)
    const args = envResult.args.map(byteStringToUtf8)
    const builder = byteStringToUtf8(drv.builder)

    const command = useSandbox
      ? yield* sandboxedCommand({
        layout,
        inputPaths: [...new Set([...inputPaths, ...sandboxClosure])],
        outputPaths: [...scratch.values()],
        hostBuildDir: buildDir,
        sandboxPaths: options.sandboxPaths,
        network: fixed,
        builder,
        args,
        env
      })
      : {
        command: builder,
        args,
        argv0: path.posix.basename(builder),
        env,
        cwd: buildDir,
        outputHostPath: (p: string) => toRealPath(layout, p)
      }
    if (command instanceof BuildSetupError) return outcome("MiscFailure", command.message, 0)

    // Rounds (`--repeat`): each round builds afresh; the last registers (Nix's nrRounds/curRound).
    const rounds = options.check || fixed ? 1 : Math.max(0, options.repeat ?? 0) + 1
    let previous: ReadonlyArray<PathRegistration> | undefined
    let timesBuilt = 0
    const wantedPaths = outputs.filter((o) => wanted.includes(o.name)).map((o) => o.path)
    // A caller that reports builds itself (the daemon's activities) is told when the build starts and ends.
    const onBuildEnd = options.onBuildEnd
    if (options.onBuildStart !== undefined && onBuildEnd !== undefined) {
      yield* Effect.addFinalizer(() => Effect.sync(() => onBuildEnd(drvPath)))
    }
    for (let round = 1; round <= rounds; round++) {
      if (round > 1) {
        // A new round starts as the first did: no stale outputs, a fresh build directory.
        yield* Effect.orDie(removeInvalidOutputs(true))
        yield* Effect.try({
          try: () => {
            fs.rmSync(buildDir, { recursive: true, force: true })
            fs.mkdirSync(buildDir, { mode: 0o700 })
          },
          catch: storeErr("creating the build directory")
        })
        yield* writeBuildFiles
      }
      if (options.onBuildStart !== undefined) {
        if (round === 1) options.onBuildStart(drvPath, options.check)
      } else {
        options.onInfo?.(
          options.check
            ? `checking outputs of '${drvPath}'...`
            : rounds > 1
            ? `building '${drvPath}' (round ${round}/${rounds})...`
            : `building '${drvPath}'...`
        )
      }
      const logChunks: Array<Uint8Array> = []
      const lines = makeLogLineSplitter({
        onLine: (line) => options.onLogLine?.(line),
        onMessage: (text) => options.onInfo?.(text),
        onStructured: options.onStructuredLog,
        verbosity: options.verbosity ?? 3
      })
      const child = yield* runChild({
        command: command.command,
        args: command.args,
        argv0: command.argv0,
        env: command.env,
        cwd: command.cwd,
        timeout: options.timeout,
        maxSilentTime: options.maxSilentTime,
        maxLogSize: options.maxLogSize,
        onOutput: (chunk) => {
          logChunks.push(Buffer.from(chunk))
          options.onLog?.(chunk, drvPath)
          lines.write(chunk)
        }
      })
      lines.end()
      timesBuilt++
      if (options.keepBuildLog) {
        yield* writeLog(layout.logDir, drvPath, Buffer.concat(logChunks), options.compressBuildLog)
      }
      const failed = (status: BuildStatus, msg: string, bits: number) =>
        Effect.gen(function*() {
          if (options.keepFailed) keepBuildDir = true
          if (options.cacheFailure && !fixed && status !== "TimedOut") {
            yield* local.registerFailedPaths(outPaths).pipe(Effect.mapError(storeErr("recording failed paths")))
          }
          return outcome(status, msg, bits, round)
        })
      switch (child._tag) {
        case "TimedOut":
          return yield* failed(
            "TimedOut",
            child.silence
              ? `${goalName} timed out after ${options.maxSilentTime} seconds of silence`
              : `${goalName} timed out after ${options.timeout} seconds`,
            0x01
          )
        case "LogLimit":
          return yield* failed(
            "LogLimitExceeded",
            `${goalName} killed after writing more than ${options.maxLogSize} bytes of log output`,
            0
          )
        case "SpawnFailed":
          return yield* failed("PermanentFailure", `builder for '${drvPath}' failed: ${child.reason}`, 0x04)
        case "Exited":
          if (child.code !== 0) {
            return yield* failed("PermanentFailure", `builder for '${drvPath}' ${describeExit(child)}`, 0x04)
          }
      }

      const toRegister = outputs
        .filter((o) => options.check || !validNow.has(o.path))
        .map((o) => ({
          name: o.name,
          path: scratch.get(o.name)!,
          hostPath: command.outputHostPath(scratch.get(o.name)!),
          fixed: o.o.hash !== "" ? { hashAlgo: o.o.hashAlgo, hash: o.o.hash } : undefined
        }))

      // The post-build hook: after the build, before the next round; a failing hook fails the goal (exit 1).
      const postBuildHook = (built: ReadonlyArray<string>) =>
        options.postBuildHook === undefined || options.postBuildHook === ""
          ? Effect.succeed(undefined)
          : runPostBuildHook({
            hook: options.postBuildHook,
            drvPath,
            outPaths: built,
            nixConfig: options.hookNixConfig ?? "",
            onInfo: (line) => options.onInfo?.(line)
          }).pipe(
            Effect.as(undefined),
            Effect.catchTag("PostBuildHookError", (e) => Effect.succeed(outcome("MiscFailure", e.message, 0, round)))
          )

      if (options.check) {
        const checked = yield* checkOutputs(ctx, drvPath, outputs, scratch, toRegister, command.outputHostPath, () => {
          keepBuildDir = options.keepFailed
        }, outcome)
        if (checked.status !== "Built") return checked
        // Verified outputs that were not built here (substituted) become ultimate, and are signed (Nix 2.8).
        const notUltimate: Array<PathRegistration> = []
        for (const o of outputs) {
          const info = yield* store.queryPathInfo(o.path).pipe(Effect.mapError(storeErr("querying")))
          if (Option.isSome(info) && !info.value.ultimate) notUltimate.push(verifiedRegistration(info.value))
        }
        if (notUltimate.length > 0) {
          const signedInfos = signRegistrations(options.secretKeyFiles ?? [], notUltimate)
          if (signedInfos instanceof SigningError) return outcome("MiscFailure", signedInfos.message, 0, 1)
          yield* local.registerValidPaths(signedInfos).pipe(Effect.mapError(storeErr("registering the outputs")))
        }
        return (yield* postBuildHook(wantedPaths)) ?? checked
      }

      const prepared = yield* prepareOutputs({ layout, drvPath, outputs: toRegister, inputPaths }).pipe(
        Effect.catchTag("OutputCheckError", (e) =>
          Effect.gen(function*() {
            if (e.registerAnyway !== undefined) {
              yield* local.registerValidPaths([e.registerAnyway]).pipe(
                Effect.mapError(storeErr("registering the output"))
              )
            }
            return e
          }))
      )
      if (prepared instanceof OutputCheckError) {
        return yield* failed(
          prepared.exitBits === 0x02 ? "OutputRejected" : "OutputRejected",
          prepared.message,
          prepared.exitBits
        )
      }
      // allowedReferences & co (Nix's checkOutputs), before anything is registered.
      const byName = new Map<string, PathRegistration>()
      for (const o of toRegister) {
        const reg = prepared.find((r) => r.path === o.path)
        if (reg !== undefined) byName.set(o.name, reg)
      }
      const rejected = yield* Effect.flip(checkOutputReferences({
        storeDir: layout.storeDir,
        drvPath,
        drv,
        outputs: byName,
        queryInfo: (p) =>
          store.queryPathInfo(p).pipe(
            Effect.mapError(storeErr("querying")),
            Effect.map((i) =>
              Option.match(i, {
                onNone: () => ({ narSize: 0, references: [] }),
                onSome: (v) => ({ narSize: v.narSize, references: v.references })
              })
            )
          )
      })).pipe(Effect.option)
      if (Option.isSome(rejected)) {
        const e = rejected.value
        if (e._tag !== "OutputCheckError") return yield* e
        return yield* failed("OutputRejected", e.message, 0)
      }
      // Compare with the previous round (path, NAR hash, references: Nix's ValidPathInfo ==).
      if (previous !== undefined) {
        const differing = prepared.find((r) => {
          const p = previous!.find((q) => q.path === r.path)
          return p === undefined || p.narHash !== r.narHash ||
            [...p.references].sort().join(" ") !== [...r.references].sort().join(" ")
        })
        if (differing !== undefined) {
          const prevPath = `${differing.path}.check`
          const prevExists = options.keepFailed && fs.existsSync(toRealPath(layout, differing.path) + ".check")
          const msg = prevExists
            ? `output '${differing.path}' of '${drvPath}' differs from '${prevPath}' from previous round`
            : `output '${differing.path}' of '${drvPath}' differs from previous round`
          if (options.enforceDeterminism ?? true) return yield* failed("NotDeterministic", msg, 0)
          options.onInfo?.(msg)
          round = rounds
        }
      }
      if (round < rounds) {
        // Not the last round: the outputs stay unregistered (kept as `.check` with keep-failed).
        if (options.keepFailed) {
          for (const r of prepared) {
            const real = toRealPath(layout, r.path)
            yield* Effect.ignore(removeTree(real + ".check"))
            yield* Effect.try({
              try: () => fs.renameSync(real, real + ".check"),
              catch: storeErr("keeping the output")
            })
          }
        }
        previous = prepared
        const hookFailed = yield* postBuildHook([])
        if (hookFailed !== undefined) return hookFailed
        continue
      }
      if (rounds > 1) {
        for (const o of outputs) yield* Effect.ignore(removeTree(toRealPath(layout, o.path) + ".check"))
      }
      const signed = signRegistrations(options.secretKeyFiles ?? [], prepared)
      if (signed instanceof SigningError) return yield* failed("MiscFailure", signed.message, 0)
      yield* local.registerValidPaths(signed).pipe(Effect.mapError(storeErr("registering the outputs")))
      registered = true
      const hookFailed = yield* postBuildHook(wantedPaths)
      if (hookFailed !== undefined) return hookFailed
      return outcome("Built", "", 0, timesBuilt)
    }
    return outcome("Built", "", 0, rounds)
  }))

/** The registered infos of the closure of `paths` (and of derivations' outputs in it), for exportReferencesGraph. */
const exportInfos = (store: StoreShape, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const closure = new Set(yield* store.computeClosure(paths))
    for (const p of [...closure]) {
      if (p.endsWith(".drv")) {
        const outs = yield* store.queryDerivationOutputs(p)
        const valid = yield* store.queryValidPaths(outs)
        for (const p2 of yield* store.computeClosure(valid)) closure.add(p2)
      }
    }
    const sorted = [...closure].sort()
    const infos = yield* store.queryPathInfos(sorted)
    const sizes = new Map<string, number>(infos.map((i) => [i.path, i.narSize]))
    const result: Array<ExportedPathInfo> = []
    for (const i of infos) {
      const cl = yield* store.computeClosure([i.path])
      let closureSize = 0
      for (const c of cl) closureSize += sizes.get(c) ?? 0
      result.push({
        path: i.path,
        narHashBase16: printHash(i.narHash, "base16"),
        narHashNix32: "sha256:" + printHash(i.narHash, "nix32"),
        narSize: i.narSize,
        references: [...i.references].sort(),
        ca: Option.getOrUndefined(Option.map(i.ca, renderCa)),
        closureSize
      })
    }
    return result
  })

/** `--check`: compares the rebuilt outputs' NAR hashes (scratch hash parts rewritten back) with the registered ones. */
const checkOutputs = (
  ctx: BuildContext,
  drvPath: string,
  outputs: ReadonlyArray<{ readonly name: string; readonly path: string }>,
  scratch: ReadonlyMap<string, string>,
  built: ReadonlyArray<{ readonly name: string; readonly path: string; readonly hostPath: string }>,
  hostPathOf: (p: string) => string,
  keepOnFailure: () => void,
  outcome: (status: BuildStatus, msg: string, bits: number, times?: number) => BuildOutcome
) =>
  Effect.gen(function*() {
    const { layout, store } = ctx
    const sd = layout.storeDir
    const hashPart = (p: string) => p.slice(sd.length + 1, sd.length + 33)
    for (const o of outputs) {
      const b = built.find((x) => x.name === o.name)
      if (b === undefined) continue
      const host = hostPathOf(b.path)
      if (!fs.existsSync(host)) {
        return outcome(
          "OutputRejected",
          `builder for '${drvPath}' failed to produce output path for output '${o.name}' at '${o.path}'`,
          0,
          1
        )
      }
      const info = yield* store.queryPathInfo(o.path).pipe(Effect.mapError(storeErr("querying")))
      if (Option.isNone(info)) continue
      // Rewrite the scratch hash parts back to the real ones before hashing (as Nix's rewriteOutput).
      const from = hashPart(scratch.get(o.name)!)
      const to = hashPart(o.path)
      const nar: Array<Uint8Array> = []
      yield* Stream.runForEach(dumpPath(host), (c) => Effect.sync(() => nar.push(Buffer.from(c)))).pipe(
        Effect.mapError(storeErr("serialising the output"))
      )
      let bytes = Buffer.concat(nar)
      if (from !== to) bytes = Buffer.from(bytes.toString("latin1").split(from).join(to), "latin1")
      if (!hashEquals(hashBytes("sha256", bytes), info.value.narHash)) {
        keepOnFailure()
        const kept = ctx.options.keepFailed
        if (kept) {
          const dst = toRealPath(layout, o.path) + ".check"
          yield* Effect.ignore(removeTree(dst))
          yield* Effect.try({ try: () => fs.renameSync(host, dst), catch: storeErr("keeping the output") })
        }
        return outcome(
          "NotDeterministic",
          kept
            ? `derivation '${drvPath}' may not be deterministic: output '${o.path}' differs from '${o.path}.check'`
            : `derivation '${drvPath}' may not be deterministic: output '${o.path}' differs`,
          0x08,
          1
        )
      }
    }
    return outcome("Built", "", 0, 1)
  })
