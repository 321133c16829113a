/**
 * `tsnix path-info [--json] [-r] [-s] [-S] [-h] [--sigs] [--derivation] [--all] PATHS`:
 * what `nix path-info` (Nix 2.8) prints, byte for byte.
 *
 * As in Nix, a `.drv` argument stands for its outputs (their paths as the
 * derivation declares them, valid or not; what would have to be built is
 * reported first, as Nix's `printMissing` does), unless `--derivation` is
 * given: then every argument stands for a derivation (an output for a valid
 * derivation listing it). `-r` adds the closure. Paths are printed in reverse
 * topological order (references first); `--json` prints one object per
 * distinct path, sorted, an invalid one as `{"path":…,"valid":false}`.
 *
 * Built on the typed path info of `tsnix/core` (converted from the store's
 * rows once, here) and the Store service's queries.
 *
 * @since 0.1.0
 */
import { Data, Effect, Option } from "effect"
import * as ContentAddress from "../../core/contentAddress.js"
import * as PathInfo from "../../core/pathInfo.js"
import * as StorePathBrand from "../../core/storePathBrand.js"
import { compareStrings, topoSortPaths } from "../../core/topoSort.js"
import type { Derivation } from "../../core/derivation/schema.js"
import { Derivations } from "../../services/Derivations.js"
import type { DerivationsShape } from "../../services/Derivations.js"
import { Store, type StoreShape } from "../../services/Store.js"
import { isDerivationPath } from "../../core/storePath.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli } from "../context.js"
import { notADerivation, withDerivations } from "../derivationArg.js"
import { writeStdout } from "../io.js"
import type { Operation } from "../operation.js"
import { withStore } from "../storeLayers.js"
import { followLinksToStorePath } from "../storePathArg.js"

/** A path-info failure, with Nix's wording. */
export class PathInfoError extends Data.TaggedError("PathInfoError")<{ readonly message: string }> {}

const allowedFlags = ["json", "recursive", "size", "closure-size", "human-readable", "sigs", "derivation", "all"]

const sizeIdents = [" ", "K", "M", "G", "T", "P", "E", "Z", "Y"]

/**
 * One size column as Nix prints it: `\t%11d`, or with `-h` `\t%6.1f%c`
 * (divided by 1024 while above 1024; `%.1f` rounds half to even on the exact
 * quotient, which BigInt arithmetic reproduces).
 */
export const formatSize = (value: number, humanReadable: boolean): string => {
  if (!humanReadable) return `\t${String(value).padStart(11)}`
  const v = BigInt(value)
  let power = 0
  let divisor = 1n
  while (v > divisor * 1024n && power < sizeIdents.length - 1) {
    power++
    divisor *= 1024n
  }
  let tenths = (v * 10n) / divisor
  const twiceRest = ((v * 10n) % divisor) * 2n
  if (twiceRest > divisor || (twiceRest === divisor && tenths % 2n === 1n)) tenths++
  const text = `${tenths / 10n}.${tenths % 10n}`
  return `\t${text.padStart(6)}${sizeIdents[power]}`
}

/** What an argument asks for: a derivation's outputs (all of them), or a path itself. */
type Target =
  | { readonly _tag: "Built"; readonly drvPath: string; readonly outputs: ReadonlyArray<string> }
  | { readonly _tag: "Opaque"; readonly path: string }

const readDerivation = (store: StoreShape, derivations: DerivationsShape, drvPath: string) =>
  Effect.gen(function*() {
    if (!(yield* store.isValidPath(drvPath))) {
      return yield* new PathInfoError({ message: `path '${drvPath}' is not a valid store path` })
    }
    return yield* derivations.read(drvPath).pipe(
      Effect.catchTag("DerivationParseError", (e) => Effect.fail(notADerivation(drvPath, e)))
    )
  })

/** Nix's topological order reversed (references first); invalid paths count as having no references. */
const referencesFirst = (store: StoreShape, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const infos = yield* store.queryPathInfos([...new Set(paths)])
    const refs = new Map<string, ReadonlyArray<string>>(infos.map((i) => [i.path, i.references]))
    return (yield* topoSortPaths(paths, (p) => refs.get(p) ?? [])).reverse()
  })

/**
 * Nix's `printMissing` after `queryMissing` for these targets, in a store
 * without substituters: derivations with an invalid wanted output will be
 * built (and their input derivations are looked at in turn), invalid
 * non-derivation paths (and invalid `.drv` files) are unknown.
 */
const printMissing = (
  store: StoreShape,
  derivations: DerivationsShape,
  targets: ReadonlyArray<Target>,
  drvCache: Map<string, Derivation>
) =>
  Effect.gen(function*() {
    const willBuild = new Set<string>()
    const unknown = new Set<string>()
    const done = new Set<string>()
    const queue: Array<Target> = [...targets]
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
      const key = t._tag === "Opaque" ? t.path : `${t.drvPath}!${[...t.outputs].sort(compareStrings).join(",")}`
      if (done.has(key)) continue
      done.add(key)
      if (t._tag === "Opaque") {
        if (!(yield* store.isValidPath(t.path))) unknown.add(t.path)
        continue
      }
      if (!(yield* store.isValidPath(t.drvPath))) {
        unknown.add(t.drvPath)
        continue
      }
      const drv = drvCache.get(t.drvPath) ?? (yield* readDerivation(store, derivations, t.drvPath))
      drvCache.set(t.drvPath, drv)
      const wanted = [...drv.outputs].filter(([name]) => t.outputs.length === 0 || t.outputs.includes(name))
      const known = [...drv.outputs.values()].every((o) => o.path !== "")
      const valid = new Set(yield* store.queryValidPaths(wanted.map(([, o]) => o.path).filter((p) => p !== "")))
      if (known && wanted.every(([, o]) => valid.has(o.path))) continue
      willBuild.add(t.drvPath)
      for (const [input, outputs] of drv.inputDrvs) queue.push({ _tag: "Built", drvPath: input, outputs })
    }
    if (willBuild.size > 0) {
      yield* Effect.logInfo(
        willBuild.size === 1 ? "this derivation will be built:" : `these ${willBuild.size} derivations will be built:`
      )
      for (const d of yield* referencesFirst(store, [...willBuild])) yield* Effect.logInfo(`  ${d}`)
    }
    if (unknown.size > 0) {
      yield* Effect.logInfo("don't know how to build these paths:")
      for (const u of [...unknown].sort(compareStrings)) yield* Effect.logInfo(`  ${u}`)
    }
  })

/** The store paths the arguments stand for (before `-r`), as Nix's `toBuiltPaths`. */
const resolveArguments = (
  store: StoreShape,
  derivations: DerivationsShape,
  args: ReadonlyArray<string>,
  derivation: boolean
) =>
  Effect.gen(function*() {
    const drvCache = new Map<string, Derivation>()
    const out: Array<string> = []
    if (derivation) {
      for (const p of args) {
        if (isDerivationPath(p)) {
          yield* readDerivation(store, derivations, p)
          out.push(p)
        } else {
          const derivers = yield* store.queryValidDerivers(p)
          const first = derivers[0]
          if (first === undefined) return yield* new PathInfoError({ message: `'${p}' does not have a known deriver` })
          out.push(first)
        }
      }
      return out
    }
    const targets: Array<Target> = []
    for (const p of args) {
      if (isDerivationPath(p)) {
        const drv = yield* readDerivation(store, derivations, p)
        drvCache.set(p, drv)
        targets.push({ _tag: "Built", drvPath: p, outputs: [...drv.outputs.keys()] })
      } else targets.push({ _tag: "Opaque", path: p })
    }
    yield* printMissing(store, derivations, targets, drvCache)
    for (const t of targets) {
      if (t._tag === "Opaque") out.push(t.path)
      else {
        const drv = drvCache.get(t.drvPath)
        for (const o of drv?.outputs.values() ?? []) if (o.path !== "") out.push(o.path)
      }
    }
    return out
  })

/** The typed path infos of the valid ones of `paths`, by path (the store's rows converted once, here). */
const typedInfos = (store: StoreShape, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out = new Map<string, PathInfo.ValidPathInfo>()
    for (const info of yield* store.queryPathInfos(paths)) out.set(info.path, info)
    return out
  })

/** Sum of the NAR sizes of the closure of `path` (Nix's `getClosureSize`); `sizes` caches NAR sizes by path. */
const closureSize = (store: StoreShape, path: string, sizes: Map<string, number>) =>
  Effect.gen(function*() {
    const closure = yield* store.computeClosure([path])
    const unknown = closure.filter((p) => !sizes.has(p))
    if (unknown.length > 0) { for (const i of yield* store.queryPathInfos(unknown)) sizes.set(i.path, i.narSize) }
    return closure.reduce((n, p) => n + (sizes.get(p) ?? 0), 0)
  })

/** The `path-info` operation. */
export const pathInfoOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  for (const f of parsed.flags) {
    if (!allowedFlags.includes(f) && !globalFlags.has(f)) {
      return yield* new UsageError({ message: `unrecognised flag '--${f}'` })
    }
  }
  const flag = (name: string) => parsed.flags.has(name)
  if (flag("all") && parsed.args.length > 0) {
    return yield* new UsageError({ message: "'--all' does not expect arguments" })
  }
  if (!flag("all") && parsed.args.length === 0) {
    return yield* new UsageError({
      message: "'path-info' needs store paths (tsnix has no flakes; --all means every valid path)"
    })
  }
  const args: Array<string> = []
  for (const a of parsed.args) args.push(yield* followLinksToStorePath(layout, a))
  const output = yield* withStore(withDerivations(Effect.gen(function*() {
    const store = yield* Store
    const derivations = yield* Derivations
    let roots: ReadonlyArray<string>
    if (flag("all")) roots = (yield* store.queryPathInfos()).map((i) => i.path)
    else roots = yield* resolveArguments(store, derivations, args, flag("derivation"))
    const set = new Set(roots)
    if (flag("recursive") && !flag("all")) { for (const p of yield* store.computeClosure([...set])) set.add(p) }
    const paths = [...set]
    const infos = yield* typedInfos(store, paths)
    const sizes = new Map([...infos.values()].map((i) => [i.path, i.narSize] as const))

    if (flag("json")) {
      const entries: Array<PathInfo.PathInfoJsonEntry> = []
      for (const p of paths.sort(compareStrings)) {
        const info = infos.get(p)
        if (info === undefined) {
          entries.push({ _tag: "Invalid", path: yield* StorePathBrand.parse(layout.storeDir, p) })
          continue
        }
        const size = flag("closure-size") ? Option.some(yield* closureSize(store, p, sizes)) : Option.none<number>()
        entries.push({ _tag: "Valid", info, closureSize: size })
      }
      return { text: PathInfo.printJson(layout.storeDir, entries), failure: Option.none<PathInfoError>() }
    }

    const sorted = yield* referencesFirst(store, paths)
    const pathLen = sorted.reduce((n, p) => Math.max(n, p.length), 0)
    const human = flag("human-readable")
    const lines: Array<string> = []
    for (const p of sorted) {
      const info = infos.get(p)
      if (info === undefined) {
        return {
          text: lines.join(""),
          failure: Option.some(new PathInfoError({ message: `path '${p}' is not valid` }))
        }
      }
      let line: string = info.path
      if (flag("size") || flag("closure-size") || flag("sigs")) {
        line += " ".repeat(Math.max(0, pathLen - info.path.length))
      }
      if (flag("size")) line += formatSize(info.narSize, human)
      if (flag("closure-size")) line += formatSize(yield* closureSize(store, p, sizes), human)
      if (flag("sigs")) {
        const ss: Array<string> = []
        if (info.ultimate) ss.push("ultimate")
        if (Option.isSome(info.ca)) ss.push(`ca:${ContentAddress.render(info.ca.value)}`)
        ss.push(...info.sigs)
        line += `\t${ss.join(" ")}`
      }
      lines.push(line + "\n")
    }
    return { text: lines.join(""), failure: Option.none<PathInfoError>() }
  })))
  yield* writeStdout(output.text)
  if (Option.isSome(output.failure)) return yield* output.failure.value
})
