/**
 * nix-store's operations on the store's contents and database: `--add`,
 * `--add-fixed`, `--export`, `--import`, `--verify`, `--verify-path`,
 * `--check-validity`, `--dump-db`, `--load-db`, `--register-validity`,
 * `--query-failed-paths`, `--clear-failed-paths`, `--optimise`. Output and exit statuses
 * follow nix-store's.
 *
 * @since 0.1.0
 */
import { Effect, Either, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseHashAlgo } from "../../core/hash.js"
import { showBytes } from "../../core/printf.js"
import { makeValidityParser, printDumpDb, type ValidityParseError } from "../../core/validityFormat.js"
import { LocalStore, type ValidityRegistration } from "../../services/LocalStore.js"
import { Store } from "../../services/Store.js"
import type { DerivationsShape } from "../../services/Derivations.js"
import { isDerivationPath } from "../../core/storePath.js"
import { BadInputError } from "../../services/errors/store.js"
import { nixPrintError } from "../../core/nixLog.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli, ExitWith } from "../context.js"
import { Derivations, notADerivation, withDerivations } from "../derivationArg.js"
import { inNixWords } from "../fsErrors.js"
import { printLines, stdinStream, streamToStdout } from "../io.js"
import { enlargeStdoutPipe } from "../pipeBuffer.js"
import type { Operation } from "../operation.js"
import { withLocalStoreOnly, withStore } from "../storeLayers.js"
import { ArgumentStatError, followLinksToStorePaths } from "../storePathArg.js"

const noFlags = (allowed: ReadonlyArray<string> = []) =>
  Effect.flatMap(Cli, ({ parsed }) => {
    for (const f of parsed.flags) {
      if (!allowed.includes(f) && !globalFlags.has(f)) {
        return Effect.fail(new UsageError({ message: `unknown flag '--${f}'` }))
      }
    }
    return Effect.void
  })

const noArgs = Effect.flatMap(
  Cli,
  ({ parsed }) =>
    parsed.args.length > 0 ? Effect.fail(new UsageError({ message: "no arguments expected" })) : Effect.void
)

/** Nix's `baseNameOf`: the text after the last `/`, ignoring one trailing `/`. */
export const nixBaseNameOf = (p: string): string => {
  if (p === "") return ""
  let last = p.length - 1
  if (p[last] === "/" && last > 0) last--
  const slash = p.lastIndexOf("/", last)
  return p.slice(slash + 1, last + 1)
}

/**
 * The name nix-store gives the path it adds for the argument `arg`:
 * `baseNameOf(arg)` as written. Where that is `.`, `..` or empty (Nix 2.8
 * makes `…-.` and `…-..` paths, names tsnix refuses everywhere, and fails on
 * an empty one), the base name of the absolute, canonical path instead.
 */
export const addedName = (arg: string): string => {
  const name = nixBaseNameOf(arg)
  return name === "" || name === "." || name === ".." ? path.basename(path.resolve(arg)) : name
}

/** The source of an add must exist: Nix's lstat message, naming `shown` (as Nix names it). */
const statSource = (file: string, shown: string) =>
  Effect.tryPromise({
    try: () => fs.promises.lstat(file),
    catch: (cause) => new ArgumentStatError({ path: shown, cause })
  })

/** `--add PATHS`: add each path (recursive, sha256) and print its store path. */
export const addOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  const { parsed } = yield* Cli
  yield* withStore(Effect.gen(function*() {
    const store = yield* Store
    for (const p of parsed.args) {
      // nix-store --add names the absolute path in its errors.
      yield* statSource(p, path.resolve(p))
      yield* printLines([yield* store.addToStore(p, { name: addedName(p) }).pipe(inNixWords(true))])
    }
  }))
})

/** `--add-fixed [--recursive] ALGO PATHS`. */
export const addFixedOperation: Operation = Effect.gen(function*() {
  yield* noFlags(["recursive"])
  const { parsed } = yield* Cli
  const [algoText, ...paths] = parsed.args
  if (algoText === undefined) return yield* new UsageError({ message: "first argument must be hash algorithm" })
  const algo = yield* Either.mapLeft(parseHashAlgo(algoText), (e) => new UsageError({ message: e.message }))
  const method = parsed.flags.has("recursive") ? "recursive" as const : "flat" as const
  yield* withStore(Effect.gen(function*() {
    const store = yield* Store
    for (const p of paths) {
      // nix-store --add-fixed names the argument as given in its errors.
      yield* statSource(p, p)
      yield* printLines([yield* store.addToStore(p, { method, algo, name: addedName(p) }).pipe(inNixWords(false))])
    }
  }))
})

/** `--export PATHS`: the export stream on standard output. */
export const exportOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  const { parsed, layout } = yield* Cli
  const paths = yield* followLinksToStorePaths(layout, parsed.args)
  yield* enlargeStdoutPipe
  yield* withStore(Effect.flatMap(Store, (store) => streamToStdout(store.exportPaths(paths))))
})

/** `--import`: read an export stream from standard input, print the imported paths. */
export const importOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  yield* noArgs
  yield* withStore(Effect.gen(function*() {
    const store = yield* Store
    const paths = yield* store.importPaths(stdinStream)
    yield* printLines(paths)
  }))
})

/** `--verify [--check-contents]`: exit 1 when a problem remains. */
export const verifyOperation: Operation = Effect.gen(function*() {
  yield* noFlags(["check-contents", "repair"])
  yield* noArgs
  const { parsed, settings } = yield* Cli
  const checkContents = parsed.flags.has("check-contents")
  // --repair: from the substituters (ops/repair.ts, loaded only then), in a local store
  const report = yield* parsed.flags.has("repair")
    ? withLocalStoreOnly("--verify --repair")(Effect.gen(function*() {
      const { verifyRepair } = yield* Effect.promise(() => import("./repair.js"))
      const store = yield* Store
      const repair = yield* verifyRepair(store, yield* LocalStore, settings)
      return yield* store.verifyStore({ checkContents, repair })
    }))
    : withStore(Effect.flatMap(Store, (s) => s.verifyStore({ checkContents })))
  if (report.errors) {
    yield* Effect.logWarning("not all store errors were fixed")
    return yield* new ExitWith({ status: 1 })
  }
})

/** `--verify-path PATHS`: report each modified path; exit 1 if any. */
export const verifyPathOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  const { parsed, layout } = yield* Cli
  const paths = yield* followLinksToStorePaths(layout, parsed.args)
  const status = yield* withStore(Effect.gen(function*() {
    const store = yield* Store
    let status = 0
    for (const p of paths) {
      const r = yield* Effect.either(store.verifyPath(p))
      if (Either.isLeft(r)) {
        if (r.left._tag !== "HashMismatchError") return yield* Effect.fail(r.left)
        yield* nixPrintError(r.left.message)
        status = 1
      }
    }
    return status
  }))
  if (status !== 0) return yield* new ExitWith({ status })
})

/** `--check-validity [--print-invalid] PATHS`. */
export const checkValidityOperation: Operation = Effect.gen(function*() {
  yield* noFlags(["print-invalid"])
  const { parsed, layout } = yield* Cli
  const paths = yield* followLinksToStorePaths(layout, parsed.args)
  yield* withStore(Effect.gen(function*() {
    const store = yield* Store
    for (const p of paths) {
      if (!(yield* store.isValidPath(p))) {
        if (parsed.flags.has("print-invalid")) yield* printLines([p])
        else return yield* new BadInputError({ reason: `path '${p}' is not valid` })
      }
    }
  }))
})

/** `--dump-db [PATHS]`. */
export const dumpDbOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  const { parsed, layout } = yield* Cli
  const paths = yield* followLinksToStorePaths(layout, parsed.args)
  yield* withStore(Effect.gen(function*() {
    const store = yield* Store
    const infos = yield* store.queryPathInfos(paths.length > 0 ? paths : undefined)
    if (paths.length > 0 && infos.length < paths.length) {
      const have = new Set<string>(infos.map((i) => i.path))
      const missing = paths.find((p) => !have.has(p))
      return yield* new BadInputError({ reason: `path '${missing}' is not valid` })
    }
    yield* printLines([
      printDumpDb(infos).replace(/\n$/, "")
    ].filter((s) => s !== ""))
  }))
})

/**
 * Reads and parses validity records from standard input as it arrives: the
 * text is never held whole (a 100k-path `--load-db` is ~35 MB of it), and
 * the first bad line stops the reading.
 */
const readValidityRecords = (hashGiven: boolean) =>
  Effect.gen(function*() {
    const { layout } = yield* Cli
    const parser = makeValidityParser({ storeDir: layout.storeDir, hashGiven })
    const badInput = (e: ValidityParseError) =>
      new BadInputError({ reason: `reading validity registrations: ${e.message}` })
    yield* Stream.runForEach(stdinStream, (chunk) => {
      // Valid input is ASCII; latin1 decodes any byte, so a stray one fails its line (and chunks may end anywhere).
      const e = parser.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1"))
      return e === undefined ? Effect.void : Effect.fail(badInput(e))
    })
    return yield* Either.mapLeft(parser.end(), badInput)
  })

/**
 * The outputs to record for a `.drv` being registered, read through the
 * Derivations service. A missing or unparsable file fails the whole input,
 * as in Nix (nothing is registered).
 */
const registeredOutputs = (derivations: DerivationsShape, drvPath: string) =>
  derivations.read(drvPath).pipe(
    Effect.catchTag("DerivationParseError", (e) => Effect.fail(notADerivation(drvPath, e))),
    Effect.map((drv) => {
      const out: Record<string, string> = {}
      for (const [name, o] of drv.outputs) if (o.path !== "") out[name] = o.path
      return out
    })
  )

const registerValidity = (reregister: boolean, hashGiven: boolean, canonicalise: boolean) =>
  Effect.gen(function*() {
    const records = yield* readValidityRecords(hashGiven)
    yield* withStore(withDerivations(Effect.gen(function*() {
      const store = yield* Store
      const derivations = yield* Derivations
      // With --reregister (and --load-db) every record is registered: no need to ask which are valid.
      const valid = reregister ? new Set<string>() : new Set(yield* store.queryValidPaths(records.map((r) => r.path)))
      // The last record of a path wins, as in Nix's insert_or_assign.
      const byPath = new Map<string, ValidityRegistration>()
      for (const r of records) {
        if (valid.has(r.path)) continue
        const derivationOutputs = isDerivationPath(r.path) ? yield* registeredOutputs(derivations, r.path) : undefined
        byPath.set(r.path, {
          path: r.path,
          narHash: hashGiven ? r.narHash : undefined,
          narSize: hashGiven ? r.narSize : undefined,
          deriver: r.deriver,
          references: r.references,
          derivationOutputs
        })
      }
      records.length = 0
      // The store canonicalises the files (unless --load-db) and hashes those without a given hash.
      yield* (yield* LocalStore).registerValidity([...byPath.values()], { canonicalise })
    })))
  })

/** `--load-db`: register the records of a `--dump-db` (hashes given, no canonicalisation). */
export const loadDbOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  yield* noArgs
  yield* registerValidity(true, true, false)
})

/** `--register-validity [--reregister] [--hash-given]`. */
export const registerValidityOperation: Operation = Effect.gen(function*() {
  yield* noFlags(["reregister", "hash-given"])
  yield* noArgs
  const { parsed } = yield* Cli
  yield* registerValidity(parsed.flags.has("reregister"), parsed.flags.has("hash-given"), true)
})

/** `--query-failed-paths`: the paths recorded as failed builds. */
export const queryFailedPathsOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  yield* noArgs
  yield* withStore(Effect.gen(function*() {
    const failed = yield* (yield* LocalStore).queryFailedPaths
    yield* printLines(failed.map((f) => f.path))
  }))
})

/** `--clear-failed-paths PATHS` (`'*'` clears them all). */
export const clearFailedPathsOperation: Operation = Effect.gen(function*() {
  yield* noFlags()
  const { parsed, layout } = yield* Cli
  const all = parsed.args.length === 1 && parsed.args[0] === "*"
  const paths = all ? [] : yield* followLinksToStorePaths(layout, parsed.args)
  yield* withStore(Effect.flatMap(LocalStore, (s) => s.clearFailedPaths(all ? "all" : paths)))
})

/** `--optimise`: hard-link identical files; prints Nix's `X.YZ MiB freed by hard-linking N files`. */
export const optimiseOperation: Operation = Effect.gen(function*() {
  const { parsed } = yield* Cli
  if (parsed.flags.size > 0 || parsed.args.length > 0) {
    return yield* new UsageError({ message: "no arguments expected" })
  }
  const stats = yield* withStore(Effect.flatMap(LocalStore, (s) => s.optimiseStore()))
  yield* Effect.logInfo(`${showBytes(stats.bytesFreed)} freed by hard-linking ${stats.filesLinked} files`)
})
