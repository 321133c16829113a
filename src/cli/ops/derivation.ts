/**
 * `tsnix show-derivation DRV...` (also `tsnix derivation show`) and
 * `tsnix derivation add < drv.json`.
 *
 * show-derivation prints the JSON `nix show-derivation` prints, byte for byte.
 * `derivation add` reads that JSON (the keyed object or one bare
 * derivation), validates it (input derivations must be valid and declared
 * output paths must equal the computed ones), writes the `.drv` into the store
 * as a text path whose references are its input sources and derivations,
 * records its outputs, and prints its path.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { compareStrings } from "../../core/topoSort.js"
import { byteStringToBytes, type Derivation } from "../../core/derivation/schema.js"
import { Derivations } from "../../services/Derivations.js"
import { Store, type StoreShape } from "../../services/Store.js"
import { isDerivationPath } from "../../core/storePath.js"
import { BadInputError } from "../../services/errors/store.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli } from "../context.js"
import {
  DerivationArgError,
  derivationFromPath,
  derivationsLayer,
  notADerivation,
  withDerivations
} from "../derivationArg.js"
import { printLines, readStdinBytes, writeStdout } from "../io.js"
import type { Operation } from "../operation.js"
import { withStore } from "../storeLayers.js"
import { ArgumentStatError, followLinksToStorePath, parseStorePathArg } from "../storePathArg.js"

const unknownFlags = (allowed: ReadonlyArray<string>) =>
  Effect.flatMap(Cli, ({ parsed }) => {
    for (const f of parsed.flags) {
      if (!allowed.includes(f) && !globalFlags.has(f)) {
        return Effect.fail(new UsageError({ message: `unknown flag '--${f}'` }))
      }
    }
    return Effect.void
  })

/**
 * The `.drv` store path a show-derivation argument stands for, as `nix
 * show-derivation` resolves it: a `.drv` must be valid; any other store path
 * stands for its recorded deriver (an invalid one has none).
 */
const storeDerivationOf = (store: StoreShape, p: string) =>
  Effect.gen(function*() {
    const info = yield* store.queryPathInfo(p)
    if (isDerivationPath(p)) {
      if (Option.isNone(info)) {
        return yield* new DerivationArgError({ message: `path '${p}' is not a valid store path` })
      }
      return p
    }
    const deriver = Option.flatMap(info, (i) => i.deriver)
    if (Option.isNone(deriver)) {
      return yield* new DerivationArgError({ message: `'${p}' does not have a known deriver` })
    }
    return deriver.value
  })

/**
 * `show-derivation [-r|--recursive] DRV...`: store paths (a `.drv`, or an
 * output standing for its deriver) and `.drv` files outside the store
 * (keyed by their absolute path). With `--recursive`, every derivation in the
 * references closure of the store derivations (and of the files' inputs) too.
 */
export const showDerivationOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  yield* unknownFlags(["recursive"])
  const args = parsed.args[0] === "show" ? parsed.args.slice(1) : parsed.args
  if (args.length === 0) return yield* new UsageError({ message: "'show-derivation' needs at least one derivation" })
  const storeArgs: Array<string> = []
  const files: Array<string> = []
  for (const a of args) {
    const abs = path.resolve(a)
    const inStore = yield* Effect.either(followLinksToStorePath(layout, a))
    if (inStore._tag === "Right") storeArgs.push(inStore.right)
    else if (inStore.left._tag === "NotInStoreError" && !abs.startsWith(layout.storeDir + "/")) files.push(abs)
    else return yield* inStore.left
  }
  const bytes = yield* withDerivations(Effect.gen(function*() {
    const derivations = yield* Derivations
    const recursive = parsed.flags.has("recursive")
    const entries: Array<readonly [string, Derivation]> = []
    // With --recursive, a file's inputs (which must be valid) lead into the store.
    const fileInputs: Array<string> = []
    for (const file of files) {
      yield* Effect.tryPromise({
        try: () => fs.stat(file),
        catch: (cause) => new ArgumentStatError({ path: file, cause })
      })
      const drv = yield* derivations.read(file).pipe(
        Effect.catchTag("DerivationParseError", (e) => Effect.fail(notADerivation(file, e)))
      )
      entries.push([file, drv])
      if (recursive) fileInputs.push(...drv.inputDrvs.keys(), ...drv.inputSrcs)
    }
    if (storeArgs.length > 0 || fileInputs.length > 0) {
      yield* withStore(Effect.gen(function*() {
        const store = yield* Store
        let drvPaths: Array<string> = []
        for (const p of storeArgs) drvPaths.push(yield* storeDerivationOf(store, p))
        if (recursive) drvPaths = [...(yield* store.computeClosure([...drvPaths, ...fileInputs]))]
        const unique = [...new Set(drvPaths)].filter(isDerivationPath).sort(compareStrings)
        for (const p of unique) entries.push([p, yield* derivationFromPath(store, derivations, p)])
      }))
    }
    return (yield* derivations.toJson(entries)).bytes
  }))
  yield* writeStdout(bytes)
})

/** Nix's `shellEscape`: single quotes around, each `'` as `'\''`. */
const shellEscape = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

/** `--print-env DRV`: the derivation's environment as shell assignments, then `_args` (as nix-store prints it). */
export const printEnvOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  if ([...parsed.flags].some((f) => !globalFlags.has(f))) return yield* new UsageError({ message: "unknown flag" })
  if (parsed.args.length !== 1) {
    return yield* new UsageError({ message: "'--print-env' requires one derivation store path" })
  }
  const drvPath = yield* parseStorePathArg(layout, parsed.args[0] as string)
  const drv = yield* withStore(withDerivations(Effect.gen(function*() {
    return yield* derivationFromPath(yield* Store, yield* Derivations, drvPath)
  })))
  const lines: Array<string> = []
  const env = [...drv.env].sort(([a], [b]) => compareStrings(a, b))
  for (const [name, value] of env) lines.push(`export ${name}; ${name}=${shellEscape(value)}\n`)
  lines.push(`export _args; _args='${drv.args.map(shellEscape).join(" ")}'\n`)
  yield* writeStdout(byteStringToBytes(lines.join("")))
})

/** `derivation add`: JSON on stdin → `.drv` in the store. */
export const derivationAddOperation: Operation = Effect.gen(function*() {
  // Bytes, not text: env values may be non-UTF-8, and the JSON carries them raw.
  const bytes = yield* readStdinBytes
  const layer = yield* derivationsLayer
  yield* withStore(Effect.provide(
    Effect.gen(function*() {
      const derivations = yield* Derivations
      const store = yield* Store
      const drvs = yield* derivations.fromJson(bytes)
      const out: Array<string> = []
      for (const { drv } of drvs) {
        const inputs = [...drv.inputSrcs, ...drv.inputDrvs.keys()]
        const valid = new Set(yield* store.queryValidPaths(inputs))
        const missing = inputs.find((p) => !valid.has(p))
        if (missing !== undefined) {
          const kind = drv.inputDrvs.has(missing) ? "derivation" : "source"
          return yield* new BadInputError({ reason: `input ${kind} '${missing}' is not valid` })
        }
        yield* derivations.validate(drv)
        const info = yield* derivations.storePath(drv)
        const name = info.path.slice(store.storeDir.length + 34)
        const added = yield* store.addTextToStore(name, info.bytes, info.references)
        out.push(added)
      }
      yield* printLines(out)
    }),
    layer
  ))
})

/** `derivation show|add ...`. */
export const derivationOperation: Operation = Effect.gen(function*() {
  const { parsed } = yield* Cli
  const sub = parsed.args[0]
  if (sub === "show") return yield* showDerivationOperation
  if (sub === "add") return yield* derivationAddOperation
  return yield* new UsageError({
    message: "expected 'tsnix derivation show DRV...' or 'tsnix derivation add < FILE.json'"
  })
})
