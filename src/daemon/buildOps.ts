/**
 * The daemon's build and substitution ops, as Nix 2.8's daemon answers them:
 * BuildPaths (9), EnsurePath (10), BuildDerivation (36), QueryMissing (40),
 * BuildPathsWithResults (46), and the substitution queries HasSubstitutes
 * (3), QuerySubstitutablePathInfo (21), QuerySubstitutablePathInfos (30),
 * QueryValidPaths' substitute flag (31) and QuerySubstitutablePaths (32).
 *
 * Builds run on the Builder of the {@link DaemonBuildEnv}, with the daemon's
 * settings adjusted by the session's SetOptions. Each build is an actBuild
 * activity (`building '…'`, fields drvPath, machine "", round 1 of 1) whose
 * builder output goes to the client as resBuildLogLine results, one per
 * line (`\r` returns to the line's start, as Nix's handleChildOutput). Paths
 * a substituter has are substituted before anything is built.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option } from "effect"
import { derivationNameFromPath } from "../core/derivation/aterm.js"
import { derivationType } from "../core/derivation/outputs.js"
import type { Derivation } from "../core/derivation/schema.js"
import { printHash } from "../core/hash.js"
import { parse as parseStorePathBrand } from "../core/storePathBrand.js"
import { isDerivationPath } from "../core/storePath.js"
import { compareStrings } from "../core/topoSort.js"
import { bool, concatBytes, type Decoder, encodeBool, encodePadded, encodeU64, u64 } from "../core/wire/index.js"
import * as W from "../core/wire/worker/index.js"
import type { BuildOptions, BuildResult, BuildStatus } from "../services/Builder.js"
import type { DerivationsShape } from "../services/Derivations.js"
import { Store, type StoreShape } from "../services/Store.js"
import type { BinaryCacheStore } from "../stores/binaryCache/store.js"
import { openSubstituters, substitutePaths } from "../stores/substitute.js"
import { DaemonBuildEnv, type DaemonBuildEnvShape } from "./buildEnv.js"
import { DaemonError, type Handler, type Session } from "./session.js"

const ONE = encodeU64(1)
/** Nix's `log-lines` default: the lines of a failed build's log its error message ends with. */
const LOG_LINES = 10
const ANSI_WARNING = "\x1b[35;1m"
const ANSI_BOLD = "\x1b[1m"
const ANSI_NORMAL = "\x1b[0m"
const fail = (message: string) => Effect.fail(new DaemonError({ message }))

const checkPath = (storeDir: string, s: string) =>
  Either.match(parseStorePathBrand(storeDir, s), {
    onLeft: (e) => fail(s.startsWith(`${storeDir}/`) ? e.message : `path '${s}' is not in the Nix store`),
    onRight: (p): Effect.Effect<string, DaemonError> => Effect.succeed(p)
  })

const buildEnv = Effect.flatMap(
  Effect.serviceOption(DaemonBuildEnv),
  Option.match({
    onNone: () => fail("building is not supported by this store"),
    onSome: (e): Effect.Effect<DaemonBuildEnvShape, DaemonError> => Effect.succeed(e)
  })
)

/** The environment of a daemon that can neither build nor substitute. */
const noBuildEnv: DaemonBuildEnvShape = {
  builder: undefined,
  derivations: undefined,
  buildOptions: {
    maxJobs: 1,
    cores: 0,
    timeout: 0,
    maxSilentTime: 0,
    keepFailed: false,
    keepGoing: false,
    check: false,
    cacheFailure: false,
    sandbox: "false",
    sandboxFallback: true,
    sandboxPaths: [],
    keepBuildLog: false,
    compressBuildLog: false,
    maxLogSize: 0
  },
  substitute: { substituters: [], substitute: false, requireSigs: true, publicKeys: new Map() }
}

/** A DerivedPath: an opaque path, or a derivation and the outputs wanted (empty: all). */
type Target =
  | { readonly _tag: "Opaque"; readonly path: string }
  | { readonly _tag: "Built"; readonly drvPath: string; readonly outputs: ReadonlyArray<string> }

const parseTarget = (storeDir: string, t: string) =>
  Effect.gen(function*() {
    const bang = t.indexOf("!")
    if (bang < 0) return { _tag: "Opaque", path: yield* checkPath(storeDir, t) } as Target
    const drvPath = yield* checkPath(storeDir, t.slice(0, bang))
    const outs = t.slice(bang + 1)
    const outputs = outs === "*" ? [] : [...new Set(outs.split(",").filter((o) => o !== ""))].sort(compareStrings)
    return { _tag: "Built", drvPath, outputs } as Target
  })

/** Nix's DerivedPath::to_string. */
const targetString = (t: Target) =>
  t._tag === "Opaque" ? t.path : `${t.drvPath}!${t.outputs.length === 0 ? "*" : t.outputs.join(",")}`

/** The build options of a session: the daemon's, then the client's SetOptions (as Nix's ClientSettings::apply). */
export const sessionBuildOptions = (s: Session, base: BuildOptions): BuildOptions => {
  const o = s.options
  let options: BuildOptions = {
    ...base,
    keepFailed: o.keepFailed,
    keepGoing: o.keepGoing,
    maxJobs: Math.max(1, o.maxBuildJobs),
    maxSilentTime: o.maxSilentTime,
    cores: o.buildCores
  }
  const uint = (v: string) => /^[0-9]+$/.test(v) ? Number(v) : undefined
  for (const [name, value] of o.overrides) {
    // Untrusted clients may set only the restricted subset (as Nix 2.8's apply).
    if (!s.trusted && name !== "timeout" && name !== "build-timeout") continue
    const n = uint(value)
    if ((name === "timeout" || name === "build-timeout") && n !== undefined) options = { ...options, timeout: n }
    else if (name === "max-silent-time" && n !== undefined) options = { ...options, maxSilentTime: n }
    else if (name === "keep-failed") options = { ...options, keepFailed: value === "true" }
    else if (name === "keep-going") options = { ...options, keepGoing: value === "true" }
    else if (name === "cores" && n !== undefined) options = { ...options, cores: n }
    else if (name === "max-build-log-size" && n !== undefined) options = { ...options, maxLogSize: n }
  }
  return options
}

/**
 * The builder hooks that send a session's builds to its client: an actBuild
 * activity per build and a resBuildLogLine per line of builder output.
 */
export const sessionLogHooks = (s: Session) => {
  const builds = new Map<string, { readonly id: bigint; line: Array<number>; pos: number }>()
  // The last `log-lines` (10) lines of each build, for its error message.
  const tails = new Map<string, Array<string>>()
  const flush = (drvPath: string, b: { id: bigint; line: Array<number>; pos: number }) => {
    const line = Buffer.from(b.line).toString("utf8")
    s.result(b.id, W.ResultType.BuildLogLine, [line])
    const tail = tails.get(drvPath) ?? []
    tail.push(line)
    if (tail.length > LOG_LINES) tail.shift()
    tails.set(drvPath, tail)
    b.line = []
    b.pos = 0
  }
  /**
   * A builder failure's message as Nix 2.8's daemon words it (its logger is not verbose):
   * the path highlighted, then the last log lines and where the full log is (and a
   * fixed-output hash mismatch's values highlighted).
   */
  const decorate = (msg: string): string => {
    const hm = /^hash mismatch in fixed-output derivation '([^']+)':\n {2}specified: (\S+)\n {5}got: {4}(\S+)$/.exec(
      msg
    )
    if (hm !== null) {
      const [, d, spec, got] = hm.map((x) => `${ANSI_WARNING}${x}${ANSI_NORMAL}`)
      return `hash mismatch in fixed-output derivation '${d}':\n  specified: ${spec}\n     got:    ${got}`
    }
    const m = /^builder for '([^']+)' (failed (?:with exit code \d+|due to signal .*))$/.exec(msg)
    if (m === null) return msg
    const drvPath = m[1]!
    let out = `builder for '${ANSI_WARNING}${drvPath}${ANSI_NORMAL}' ${m[2]}`
    const tail = tails.get(drvPath) ?? []
    if (tail.length > 0) {
      out += `;\nlast ${tail.length} log lines:\n${tail.map((l) => `> ${l}\n`).join("")}`
      out += `For full logs, run '${ANSI_BOLD}nix log ${drvPath}${ANSI_NORMAL}'.`
    }
    return out
  }
  return {
    decorate,
    onBuildStart: (drvPath: string, check: boolean) => {
      const text = check ? `checking outputs of '${drvPath}'` : `building '${drvPath}'`
      const id = s.startActivity(W.ActivityType.Build, text, [drvPath, "", 1, 1])
      builds.set(drvPath, { id, line: [], pos: 0 })
    },
    onLog: (chunk: Uint8Array, drvPath: string) => {
      const b = builds.get(drvPath)
      if (b === undefined) return
      for (const c of chunk) {
        if (c === 0x0d) b.pos = 0
        else if (c === 0x0a) flush(drvPath, b)
        else b.line[b.pos++] = c
      }
    },
    onBuildEnd: (drvPath: string) => {
      const b = builds.get(drvPath)
      if (b === undefined) return
      if (b.line.length > 0) flush(drvPath, b)
      builds.delete(drvPath)
      s.stopActivity(b.id)
    },
    onInfo: (line: string) => s.log(W.Verbosity.Info, line),
    onError: (message: string) => s.log(W.Verbosity.Error, `error: ${decorate(message)}`)
  }
}

/** The session's substitution options (off when the client said `useSubstitutes = false`). */
const substituteOptions = (s: Session, env: DaemonBuildEnvShape) => ({
  ...env.substitute,
  substitute: env.substitute.substitute && s.options.useSubstitutes,
  onCopy: (p: string, from: string) =>
    Effect.sync(() => s.log(W.Verbosity.Info, `copying path '${p}' from '${from}'...`))
})

/** Substitutes what it can of `paths` (the invalid ones) for the session. */
const substitute = (s: Session, env: DaemonBuildEnvShape, store: StoreShape, paths: ReadonlyArray<string>) =>
  substitutePaths(store, paths, substituteOptions(s, env))

/** One target's outcome, on the wire. */
interface TargetResult {
  readonly target: Target
  readonly status: number
  readonly errorMsg: string
  readonly timesBuilt: number
  readonly startTime: number
  readonly stopTime: number
  /** Output name → path (of the wanted outputs, when valid). */
  readonly outputs: Readonly<Record<string, string>>
}

const now = () => Math.floor(Date.now() / 1000)

/** The status of a failure the builder reported only as an exit status (the first failure without keep-going). */
const statusOfExit = (exitStatus: number): BuildStatus =>
  (exitStatus & 0x08) !== 0
    ? "NotDeterministic"
    : (exitStatus & 0x01) !== 0
    ? "TimedOut"
    : (exitStatus & 0x02) !== 0
    ? "OutputRejected"
    : exitStatus === 1
    ? "MiscFailure"
    : "PermanentFailure"

/** What realising the targets did: a result per target, and the builder's messages when something failed. */
interface Realised {
  readonly results: ReadonlyArray<TargetResult>
  /** Nix's error messages (the last is the error; earlier ones were logged), empty on success. */
  readonly messages: ReadonlyArray<string>
}

const success = (st: number) =>
  st === W.BuildStatus.Built || st === W.BuildStatus.Substituted || st === W.BuildStatus.AlreadyValid

/** Realises the targets as Nix's `buildPathsWithResults`: substitution first, then the builder. */
const realiseTargets = (s: Session, targets: ReadonlyArray<Target>, mode: W.BuildModeValue) =>
  Effect.gen(function*() {
    // As Nix's primeCache (a queryMissing first): its debug-level activity.
    s.stopActivity(s.startActivity(W.ActivityType.Unknown, "querying info about missing paths", [], W.Verbosity.Debug))
    // Without a build environment (a store served without builder), valid paths are still "built".
    const env: DaemonBuildEnvShape = Option.getOrElse(yield* Effect.serviceOption(DaemonBuildEnv), () => noBuildEnv)
    const store = yield* Store
    if (mode === W.BuildMode.Repair) return yield* fail("repairing is not supported by tsnix's builder")
    const check = mode === W.BuildMode.Check
    const start = now()
    const results = new Map<Target, TargetResult>()
    const done = (
      t: Target,
      status: number,
      errorMsg = "",
      outputs: Readonly<Record<string, string>> = {}
    ) => results.set(t, { target: t, status, errorMsg, timesBuilt: 0, startTime: start, stopTime: now(), outputs })
    const messages: Array<string> = []

    // Opaque paths: valid, or substituted, or nothing can make them.
    const opaque = targets.filter((t): t is Target & { _tag: "Opaque" } => t._tag === "Opaque")
    const validBefore = new Set(yield* store.queryValidPaths(opaque.map((t) => t.path)))
    const subbed = yield* substitute(s, env, store, opaque.map((t) => t.path).filter((p) => !validBefore.has(p)))
    for (const t of opaque) {
      if (validBefore.has(t.path)) done(t, W.BuildStatus.AlreadyValid)
      else if (subbed.substituted.includes(t.path)) done(t, W.BuildStatus.Substituted)
      else {
        const msg = `path '${t.path}' is required, but there is no substituter that can build it`
        done(t, W.BuildStatus.NoSubstituters, msg)
        messages.push(msg)
      }
    }

    // Derivations: the .drv must be valid (or substituted); outputs a substituter has are substituted.
    const built = targets.filter((t): t is Target & { _tag: "Built" } => t._tag === "Built")
    const requests: Array<{ readonly t: Target & { _tag: "Built" }; readonly outs: Record<string, string> }> = []
    for (const t of built) {
      if (!(yield* store.isValidPath(t.drvPath))) yield* substitute(s, env, store, [t.drvPath])
      if (!(yield* store.isValidPath(t.drvPath))) {
        const msg = `cannot build missing derivation '${t.drvPath}'`
        done(t, W.BuildStatus.MiscFailure, msg)
        messages.push(msg)
        continue
      }
      const map = yield* store.queryDerivationOutputMap(t.drvPath)
      const missing = t.outputs.filter((o) => map[o] === undefined)
      if (missing.length > 0) {
        return yield* fail(
          `derivation '${t.drvPath}' does not have wanted outputs ${missing.map((o) => `'${o}'`).join(", ")}`
        )
      }
      const wanted = t.outputs.length === 0 ? Object.keys(map).sort(compareStrings) : t.outputs
      const outs = Object.fromEntries(wanted.map((o) => [o, map[o] ?? ""]))
      const outPaths = Object.values(outs)
      const valid = new Set(yield* store.queryValidPaths(outPaths))
      if (check) {
        if (valid.size < outPaths.length) {
          return yield* fail(`some outputs of '${t.drvPath}' are not valid, so checking is not possible`)
        }
        requests.push({ t, outs })
        continue
      }
      if (valid.size === outPaths.length) {
        done(t, W.BuildStatus.AlreadyValid, "", outs)
        continue
      }
      const sub = yield* substitute(s, env, store, outPaths.filter((p) => !valid.has(p)))
      if (sub.missing.length === 0) {
        done(t, W.BuildStatus.Substituted, "", outs)
        continue
      }
      requests.push({ t, outs })
    }
    if (requests.length > 0) {
      if (env.builder === undefined) {
        for (const r of requests) {
          const msg = `cannot build '${targetString(r.t)}': this store has no builder`
          done(r.t, W.BuildStatus.MiscFailure, msg)
          messages.push(msg)
        }
      } else {
        const hooks = sessionLogHooks(s)
        const options: BuildOptions = { ...sessionBuildOptions(s, env.buildOptions), ...hooks, check }
        const r = yield* Effect.either(
          env.builder.buildDerivations(requests.map(({ t }) => ({ drvPath: t.drvPath, outputs: t.outputs })), options)
        )
        const byDrv = new Map<string, BuildResult>()
        let failure: { messages: ReadonlyArray<string>; exitStatus: number } | undefined
        if (Either.isRight(r)) {
          for (const b of r.right) byDrv.set(b.drvPath, { ...b, errorMsg: hooks.decorate(b.errorMsg) })
        } else if (r.left._tag === "BuilderStoreError") return yield* fail(r.left.message)
        else {
          failure = { exitStatus: r.left.exitStatus, messages: r.left.messages.map(hooks.decorate) }
          for (const b of r.left.results) byDrv.set(b.drvPath, { ...b, errorMsg: hooks.decorate(b.errorMsg) })
          messages.push(...failure.messages)
        }
        for (const { t, outs } of requests) {
          const b = byDrv.get(t.drvPath)
          if (b !== undefined) {
            results.set(t, {
              target: t,
              status: W.BuildStatus[b.status],
              errorMsg: b.errorMsg,
              timesBuilt: b.timesBuilt,
              startTime: b.startTime,
              stopTime: b.stopTime,
              outputs: b.outputs
            })
            continue
          }
          // The first failure stopped the others (no keep-going): only the builder's messages are known.
          const validNow = yield* store.queryValidPaths(Object.values(outs))
          if (validNow.length === Object.keys(outs).length) done(t, W.BuildStatus.Built, "", outs)
          else {
            done(
              t,
              W.BuildStatus[statusOfExit(failure?.exitStatus ?? 1)],
              failure?.messages[failure.messages.length - 1] ?? ""
            )
          }
        }
      }
    }
    return { results: targets.map((t) => results.get(t)!), messages } satisfies Realised
  })

/** Nix's Realisation JSON (`nlohmann::json`, keys sorted) of one built output. */
const realisationJson = (storeDir: string, id: string, outPath: string) =>
  `{"dependentRealisations":{},"id":${JSON.stringify(id)},"outPath":${
    JSON.stringify(outPath.slice(storeDir.length + 1))
  },"signatures":[]}`

/** builtOutputs of a successful derivation result: `sha256:<modulo hash>!out` → Realisation JSON. */
const builtOutputs = (storeDir: string, env: DaemonBuildEnvShape, drv: Derivation, outputs: Record<string, string>) =>
  Effect.gen(function*() {
    if (env.derivations === undefined) return []
    const hm = yield* Effect.either(env.derivations.hashModulo(drv, { maskOutputs: true }))
    if (Either.isLeft(hm)) return []
    const out: Array<readonly [string, string]> = []
    for (const name of Object.keys(outputs).sort(compareStrings)) {
      const h = hm.right.hashes.get(name)
      if (h === undefined) continue
      const id = `sha256:${printHash(h, "base16")}!${name}`
      out.push([id, realisationJson(storeDir, id, outputs[name] ?? "")])
    }
    return out.sort((a, b) => compareStrings(a[0], b[0]))
  })

const readMode = (s: Session) => s.conn.read(W.buildMode)

/** BuildDerivation's drvPath and BasicDerivation (Nix's `readDerivation`: no input derivations). */
const basicDerivation: Decoder<{ readonly drvPath: string; readonly drv: Omit<Derivation, "name"> }> = (input) => {
  const drvPath = W.pathString(input)
  const nOut = Number(u64(input))
  if (nOut > W.MAX_COUNT) throw new W.WorkerValueError({ offset: input.offset, what: "outputs", reason: "too many" })
  const outputs = new Map<string, { path: string; hashAlgo: string; hash: string }>()
  for (let i = 0; i < nOut; i++) {
    const name = W.shortString(input)
    const path = W.shortString(input)
    const hashAlgo = W.shortString(input)
    outputs.set(name, { path, hashAlgo, hash: W.shortString(input) })
  }
  const inputSrcs = W.pathSet(input)
  const system = W.shortString(input)
  const builder = W.shortString(input)
  const args = W.shortStrings(input)
  const env = new Map(W.stringMap(input))
  return { drvPath, drv: { outputs, inputDrvs: new Map(), inputSrcs, system, builder, args, env } }
}

/** Strings from the wire are UTF-8; derivation fields are byte strings (latin1 of the bytes). */
const toByteString = (s: string) => Buffer.from(s, "utf8").toString("latin1")

const byteStringDrv = (drv: Omit<Derivation, "name">, name: string): Derivation => ({
  name,
  outputs: new Map(
    [...drv.outputs].map(([k, o]) => [
      toByteString(k),
      { path: toByteString(o.path), hashAlgo: toByteString(o.hashAlgo), hash: toByteString(o.hash) }
    ])
  ),
  inputDrvs: new Map(),
  inputSrcs: drv.inputSrcs.map(toByteString),
  system: toByteString(drv.system),
  builder: toByteString(drv.builder),
  args: drv.args.map(toByteString),
  env: new Map([...drv.env].map(([k, v]) => [toByteString(k), toByteString(v)]))
})

/** `drv` with the paths of its fixed outputs computed from their hashes (as Nix's parser does). */
const fixedPathsComputed = (drv: Derivation, derivations: DerivationsShape) =>
  Effect.gen(function*() {
    if (![...drv.outputs.values()].some((o) => o.hashAlgo !== "" && o.hash !== "")) return drv
    const paths = yield* derivations.outputPaths(drv).pipe(
      Effect.mapError((e) => new DaemonError({ message: e.message }))
    )
    const outputs = new Map(
      [...drv.outputs].map(([name, o]) => [name, o.hash !== "" ? { ...o, path: paths.get(name) ?? o.path } : o])
    )
    return { ...drv, outputs }
  })

/** What `paths` would need, as Nix's `queryMissing` (see the QueryMissing handler). */
const queryMissing = (s: Session, targets: ReadonlyArray<Target>) =>
  Effect.gen(function*() {
    const store = yield* Store
    const env = Option.getOrUndefined(yield* Effect.serviceOption(DaemonBuildEnv))
    const subOpts = env === undefined ? undefined : substituteOptions(s, env)
    const subs: ReadonlyArray<BinaryCacheStore> = subOpts === undefined || !subOpts.substitute
      ? []
      : yield* openSubstituters(subOpts.substituters, store.storeDir)
    const willBuild = new Set<string>()
    const willSubstitute = new Set<string>()
    const unknown = new Set<string>()
    let downloadSize = 0
    let narSize = 0
    const seen = new Set<string>()
    /** The narinfo of `p` in the first substituter that has it. */
    const substitutable = (p: string) =>
      Effect.gen(function*() {
        for (const sub of subs) {
          const ni = yield* Effect.either(sub.queryNarInfo(p))
          if (Either.isRight(ni) && Option.isSome(ni.right)) return Option.some(ni.right.value)
        }
        return Option.none()
      })
    /** Adds `p` and its invalid references to willSubstitute, or says it cannot be substituted. */
    const trySubstitute = (p: string): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        if (willSubstitute.has(p)) return true
        const ni = yield* substitutable(p)
        if (Option.isNone(ni)) return false
        willSubstitute.add(p)
        downloadSize += ni.value.fileSize
        narSize += ni.value.narSize
        for (const r of ni.value.references) {
          if (r === p || (yield* Effect.orElseSucceed(store.isValidPath(r), () => false))) continue
          yield* doPath(r)
        }
        return true
      })
    const doPath = (p: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (seen.has(p)) return
        seen.add(p)
        if (yield* Effect.orElseSucceed(store.isValidPath(p), () => false)) return
        if (!(yield* trySubstitute(p))) unknown.add(p)
      })
    const doDrv = (drvPath: string, outputs: ReadonlyArray<string>): Effect.Effect<void> =>
      Effect.gen(function*() {
        const key = `${drvPath}!${outputs.join(",")}`
        if (seen.has(key)) return
        seen.add(key)
        if (!(yield* Effect.orElseSucceed(store.isValidPath(drvPath), () => false))) {
          // A .drv a substituter has is fetched first; what it then needs is not known yet (as Nix).
          if (!(yield* trySubstitute(drvPath))) unknown.add(drvPath)
          return
        }
        if (env?.derivations === undefined) return
        const drv = yield* Effect.either(env.derivations.read(drvPath))
        if (Either.isLeft(drv)) {
          unknown.add(drvPath)
          return
        }
        const wanted = outputs.length === 0 ? [...drv.right.outputs.keys()] : outputs
        const outPaths = wanted.map((o) => drv.right.outputs.get(o)?.path ?? "").filter((o) => o !== "")
        const valid = new Set(yield* Effect.orElseSucceed(store.queryValidPaths(outPaths), () => []))
        const invalid = outPaths.filter((o) => !valid.has(o))
        if (invalid.length === 0) return
        // All invalid outputs substitutable: substitute them; else build (and look at the inputs).
        const infos = []
        for (const o of invalid) infos.push(yield* substitutable(o))
        if (subs.length > 0 && infos.every(Option.isSome)) {
          for (const o of invalid) yield* trySubstitute(o)
          return
        }
        willBuild.add(drvPath)
        for (const src of drv.right.inputSrcs) yield* doPath(src)
        for (const [inDrv, outs] of drv.right.inputDrvs) yield* doDrv(inDrv, [...outs].sort(compareStrings))
      })
    for (const t of targets) {
      if (t._tag === "Opaque") yield* doPath(t.path)
      else yield* doDrv(t.drvPath, t.outputs)
    }
    return W.encodeMissingReply({
      willBuild: [...willBuild],
      willSubstitute: [...willSubstitute],
      unknown: [...unknown],
      downloadSize,
      narSize
    })
  }).pipe(Effect.scoped)

/** The substitutes of `paths` (Nix's querySubstitutablePathInfos): deriver, references, sizes. */
const substitutableInfos = (s: Session, paths: ReadonlyArray<string>, massQuery: boolean) =>
  Effect.gen(function*() {
    const store = yield* Store
    const env = Option.getOrUndefined(yield* Effect.serviceOption(DaemonBuildEnv))
    if (env === undefined) return []
    const opts = substituteOptions(s, env)
    if (!opts.substitute) return []
    const subs = (yield* openSubstituters(opts.substituters, store.storeDir)).filter((c) =>
      !massQuery || c.cacheInfo.wantMassQuery
    )
    const infos: Array<W.SubstitutableInfo> = []
    for (const p of paths) {
      for (const sub of subs) {
        const ni = yield* Effect.either(sub.queryNarInfo(p))
        if (Either.isLeft(ni) || Option.isNone(ni.right)) continue
        const i = ni.right.value
        infos.push({
          path: p,
          deriver: Option.getOrElse(i.deriver, () => ""),
          references: i.references,
          downloadSize: i.fileSize,
          narSize: i.narSize
        })
        break
      }
    }
    return infos
  }).pipe(Effect.scoped)

/** The handlers of this module's ops, by op code, for a store in `storeDir`. */
export const makeBuildHandlers = (storeDir: string): ReadonlyMap<number, Handler<Store>> => {
  const h = new Map<number, Handler<Store>>()
  const def = (op: number, handler: Handler<Store>) => h.set(op, handler)
  const readTargets = (s: Session) =>
    Effect.gen(function*() {
      const strings = yield* s.conn.read(W.shortStrings)
      const out: Array<Target> = []
      for (const t of strings) out.push(yield* parseTarget(storeDir, t))
      return out
    })
  const refuseRepair = (s: Session, mode: number) =>
    mode === W.BuildMode.Repair && !s.trusted
      ? fail("repairing is not allowed because you are not in 'trusted-users'")
      : Effect.void

  def(W.Op.BuildPaths, (s) =>
    Effect.gen(function*() {
      const targets = yield* readTargets(s)
      const mode = s.minor >= 15 ? yield* readMode(s) : W.BuildMode.Normal
      yield* refuseRepair(s, mode)
      const r = yield* realiseTargets(s, targets, mode)
      const failed = r.results.filter((x) => !success(x.status))
      if (failed.length === 0) return ONE
      // As Nix's buildPaths: one failure is its own error; several, "build of … failed".
      const msgs = r.messages.length > 0 ? r.messages : failed.map((x) => x.errorMsg)
      if (failed.length === 1) {
        for (const m of msgs.slice(0, -1)) s.log(W.Verbosity.Error, `error: ${m}`)
        return yield* fail(msgs[msgs.length - 1] ?? failed[0]!.errorMsg)
      }
      for (const m of msgs) s.log(W.Verbosity.Error, `error: ${m}`)
      return yield* fail(`build of ${failed.map((x) => `'${targetString(x.target)}'`).join(", ")} failed`)
    }))
  def(W.Op.BuildPathsWithResults, (s) =>
    Effect.gen(function*() {
      const targets = yield* readTargets(s)
      const mode = yield* readMode(s)
      yield* refuseRepair(s, mode)
      const env = Option.getOrElse(yield* Effect.serviceOption(DaemonBuildEnv), () => noBuildEnv)
      const r = yield* realiseTargets(s, targets, mode)
      const parts: Array<Uint8Array> = [encodeU64(r.results.length)]
      for (const x of r.results) {
        let outs: ReadonlyArray<readonly [string, string]> = []
        if (success(x.status) && x.target._tag === "Built" && env.derivations !== undefined) {
          const drv = yield* Effect.either(env.derivations.read(x.target.drvPath))
          if (Either.isRight(drv)) outs = yield* builtOutputs(storeDir, env, drv.right, { ...x.outputs })
        }
        parts.push(W.encodeBuildResult({
          path: targetString(x.target),
          status: x.status,
          errorMsg: x.errorMsg,
          timesBuilt: x.timesBuilt,
          isNonDeterministic: false,
          startTime: x.startTime,
          stopTime: x.stopTime,
          builtOutputs: outs
        }))
      }
      return concatBytes(parts)
    }))
  def(W.Op.BuildDerivation, (s) =>
    Effect.gen(function*() {
      const req = yield* s.conn.read(basicDerivation)
      const mode = yield* readMode(s)
      const drvPath0 = yield* checkPath(storeDir, req.drvPath)
      if (!isDerivationPath(drvPath0)) return yield* fail(`path '${drvPath0}' is not a derivation`)
      const env = yield* buildEnv
      const store = yield* Store
      const drv0 = byteStringDrv(req.drv, derivationNameFromPath(drvPath0))
      // As Nix's parser, a fixed output's path is not taken from the wire: it is computed from its hash.
      const drv = env.derivations === undefined ? drv0 : yield* fixedPathsComputed(drv0, env.derivations)
      const type = derivationType(drv)
      const ca = Either.isRight(type) && (type.right === "Fixed" || type.right === "Floating")
      if (!ca && !s.trusted) return yield* fail("you are not privileged to build input-addressed derivations")
      let drvPath = drvPath0
      if (!s.trusted && env.derivations !== undefined) {
        // Recompute the derivation path when the client is not trusted (Nix writes the derivation).
        const sp = yield* env.derivations.storePath(drv).pipe(
          Effect.mapError((e) => new DaemonError({ message: e.message }))
        )
        drvPath = yield* store.addTextToStore(`${drv.name}.drv`, sp.bytes, sp.references)
      }
      if (mode === W.BuildMode.Repair) return yield* fail("repairing is not supported by tsnix's builder")
      const start = now()
      const reply = (r: W.BuildResult) => W.encodeBuildDerivationReply(s.version, r)
      // The inputs must be valid: substituted if a substituter has them.
      const invalidInputs = drv.inputSrcs.filter((p) => p !== "")
      const validInputs = new Set(yield* store.queryValidPaths(invalidInputs))
      const needed = invalidInputs.filter((p) => !validInputs.has(p))
      if (needed.length > 0) {
        const sub = substituteOptions(s, env)
        if (!sub.substitute) {
          return reply({
            path: "",
            status: W.BuildStatus.MiscFailure,
            errorMsg: `dependency '${needed[0]}' of '${drvPath}' does not exist, and substitution is disabled`,
            timesBuilt: 0,
            isNonDeterministic: false,
            startTime: start,
            stopTime: now(),
            builtOutputs: []
          })
        }
        const got = yield* substitutePaths(store, needed, sub)
        if (got.missing.length > 0) {
          return reply({
            path: "",
            status: W.BuildStatus.DependencyFailed,
            errorMsg:
              `cannot build derivation '${drvPath}': ${got.missing.length} dependencies couldn't be substituted`,
            timesBuilt: 0,
            isNonDeterministic: false,
            startTime: start,
            stopTime: now(),
            builtOutputs: []
          })
        }
      }
      if (env.builder === undefined) return yield* fail("building is not supported by this store")
      const hooks = sessionLogHooks(s)
      const options: BuildOptions = {
        ...sessionBuildOptions(s, env.buildOptions),
        ...hooks,
        check: mode === W.BuildMode.Check
      }
      const r = yield* env.builder.buildDerivation(drvPath, drv, options).pipe(
        Effect.mapError((e) => new DaemonError({ message: e.message }))
      )
      const code = W.BuildStatus[r.status]
      return reply({
        path: "",
        status: code,
        errorMsg: hooks.decorate(r.errorMsg),
        timesBuilt: r.timesBuilt,
        isNonDeterministic: r.status === "NotDeterministic",
        startTime: r.startTime,
        stopTime: r.stopTime,
        builtOutputs: success(code) ? yield* builtOutputs(storeDir, env, drv, { ...r.outputs }) : []
      })
    }))
  def(W.Op.EnsurePath, (s) =>
    Effect.gen(function*() {
      const p = yield* checkPath(storeDir, yield* s.conn.read(W.pathString))
      const store = yield* Store
      if (yield* store.isValidPath(p)) return ONE
      const env = Option.getOrUndefined(yield* Effect.serviceOption(DaemonBuildEnv))
      if (env !== undefined) yield* substitute(s, env, store, [p])
      if (yield* store.isValidPath(p)) return ONE
      return yield* fail(`path '${p}' is required, but there is no substituter that can build it`)
    }))
  def(W.Op.QueryMissing, (s) =>
    Effect.gen(function*() {
      const targets = yield* readTargets(s)
      // As Nix 2.8's queryMissing: a debug-level activity around the work.
      const act = s.startActivity(W.ActivityType.Unknown, "querying info about missing paths", [], W.Verbosity.Debug)
      return yield* Effect.ensuring(queryMissing(s, targets), Effect.sync(() => s.stopActivity(act)))
    }))
  def(W.Op.QueryValidPaths, (s) =>
    Effect.gen(function*() {
      const paths = yield* s.conn.read(W.pathSet)
      const sub = s.minor >= 27 ? yield* s.conn.read(bool) : false
      const checked: Array<string> = []
      for (const p of paths) checked.push(yield* checkPath(storeDir, p))
      const store = yield* Store
      if (sub) {
        const env = Option.getOrUndefined(yield* Effect.serviceOption(DaemonBuildEnv))
        if (env !== undefined) yield* substitute(s, env, store, checked)
      }
      return W.encodeSet(yield* store.queryValidPaths(checked))
    }))
  def(W.Op.HasSubstitutes, (s) =>
    Effect.gen(function*() {
      const p = yield* checkPath(storeDir, yield* s.conn.read(W.pathString))
      return encodeBool((yield* substitutableInfos(s, [p], true)).length > 0)
    }))
  def(W.Op.QuerySubstitutablePaths, (s) =>
    Effect.gen(function*() {
      const paths = yield* s.conn.read(W.pathSet)
      const checked: Array<string> = []
      for (const p of paths) checked.push(yield* checkPath(storeDir, p))
      return W.encodeSet((yield* substitutableInfos(s, checked, true)).map((i) => i.path))
    }))
  def(W.Op.QuerySubstitutablePathInfo, (s) =>
    Effect.gen(function*() {
      const p = yield* checkPath(storeDir, yield* s.conn.read(W.pathString))
      const infos = yield* substitutableInfos(s, [p], false)
      const i = infos[0]
      if (i === undefined) return encodeU64(0)
      return concatBytes([
        ONE,
        encodePadded(i.deriver),
        W.encodeSet(i.references),
        encodeU64(i.downloadSize),
        encodeU64(i.narSize)
      ])
    }))
  def(W.Op.QuerySubstitutablePathInfos, (s) =>
    Effect.gen(function*() {
      const paths = yield* s.conn.read(W.substitutablePathInfosRequest(s.version))
      const checked: Array<string> = []
      for (const p of paths) checked.push(yield* checkPath(storeDir, p))
      return W.encodeSubstitutableInfos(yield* substitutableInfos(s, checked, false))
    }))
  return h
}
