/**
 * Implementations of the Derivations service: `layer` reads `.drv` files
 * from a local (chroot) store or plain files through `FileSystem`;
 * `layerTest` serves derivations from memory.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Either, Layer } from "effect"
import { parseDerivation, printDerivation } from "../../core/derivation/aterm.js"
import { DerivationResolveError } from "../../core/derivation/errors.js"
import type { DerivationValidationError } from "../../core/derivation/errors.js"
import { fromShowDerivationJsonBytes, printShowDerivationJson, showDerivationJson } from "../../core/derivation/json.js"
import {
  computeOutputPaths,
  derivationReferences,
  derivationStorePath,
  hashDerivationModulo
} from "../../core/derivation/outputs.js"
import type { DrvHashModulo } from "../../core/derivation/outputs.js"
import { checkOutputPaths, validateDerivationShape } from "../../core/derivation/validate.js"
import { errnoCode, strerror, sysErrorText } from "../../core/sysError.js"
import type { Derivation } from "../../core/derivation/schema.js"
import { defaultStoreDir, toRealPath } from "../../core/storeLayout.js"
import type { StoreLayout } from "../../core/storeLayout.js"
import { Derivations, DerivationReadError } from "../../services/Derivations.js"
import type {
  DerivationLookupError,
  DerivationResolver,
  DerivationsShape,
  HashModuloOptions,
  ResolveOptions
} from "../../services/Derivations.js"

/**
 * Builds the service from a way to read a `.drv` file's bytes (a store path or
 * a plain file). Modulo hashes of derivations read this way are cached for the
 * life of the service.
 */
export const makeWith = (
  storeDir: string,
  readBytes: (pathOrFile: string) => Effect.Effect<Uint8Array, DerivationReadError>
): DerivationsShape => {
  const storeCache = new Map<string, DrvHashModulo>()

  const read = (pathOrFile: string) =>
    readBytes(pathOrFile).pipe(
      Effect.flatMap((bytes) => parseDerivation(bytes, { file: pathOrFile })),
      Effect.map((drv) => (isInStore(storeDir, pathOrFile) ? drv : withRecordedName(drv))),
      Effect.withSpan("Derivations.read", { attributes: { path: pathOrFile } })
    )

  const storeResolver: DerivationResolver = (p) => read(p)

  const hashWith = (
    drv: Derivation,
    mask: boolean,
    resolve: DerivationResolver,
    cache: Map<string, DrvHashModulo>,
    visiting: Set<string>
  ): Effect.Effect<DrvHashModulo, DerivationLookupError | DerivationValidationError> =>
    Effect.forEach(drv.inputDrvs.keys(), (p) => pathHash(p, resolve, cache, visiting), { discard: true }).pipe(
      Effect.flatMap(() => hashDerivationModulo(drv, mask, (p) => cache.get(p), storeDir))
    )

  const pathHash = (
    drvPath: string,
    resolve: DerivationResolver,
    cache: Map<string, DrvHashModulo>,
    visiting: Set<string>
  ): Effect.Effect<void, DerivationLookupError | DerivationValidationError> =>
    Effect.suspend(() => {
      if (cache.has(drvPath)) return Effect.void
      if (visiting.has(drvPath)) {
        return Effect.fail(new DerivationResolveError({ drvPath, reason: "input derivations form a cycle" }))
      }
      visiting.add(drvPath)
      return resolve(drvPath).pipe(
        Effect.flatMap((d) => hashWith(d, false, resolve, cache, visiting)),
        Effect.map((h) => {
          cache.set(drvPath, h)
          visiting.delete(drvPath)
        })
      )
    })

  const pick = (options: ResolveOptions | undefined) => {
    const resolve = options?.resolve ?? storeResolver
    const cache = options?.cache ?? (options?.resolve === undefined ? storeCache : new Map<string, DrvHashModulo>())
    return { resolve, cache }
  }

  const hashModulo = (drv: Derivation, options?: HashModuloOptions) => {
    const { cache, resolve } = pick(options)
    return hashWith(drv, options?.maskOutputs === true, resolve, cache, new Set()).pipe(
      Effect.withSpan("Derivations.hashModulo", { attributes: { name: drv.name } })
    )
  }

  const outputPaths = (drv: Derivation, options?: ResolveOptions) =>
    hashModulo(drv, { ...options, maskOutputs: true }).pipe(
      Effect.flatMap((h) => computeOutputPaths(drv, h, storeDir)),
      Effect.withSpan("Derivations.outputPaths", { attributes: { name: drv.name } })
    )

  const toJson = (entries: ReadonlyArray<readonly [string, Derivation]>) =>
    Effect.sync(() => ({
      json: showDerivationJson(entries, storeDir),
      bytes: printShowDerivationJson(entries, storeDir)
    })).pipe(Effect.withSpan("Derivations.toJson"))

  return {
    storeDir,
    parse: (bytes, options) =>
      Effect.suspend(() => parseDerivation(bytes, options)).pipe(Effect.withSpan("Derivations.parse")),
    print: (drv) => Effect.sync(() => printDerivation(drv)).pipe(Effect.withSpan("Derivations.print")),
    read,
    showDerivation: (paths) =>
      Effect.forEach(paths, (p) => Effect.map(read(p), (d) => [p, d] as const)).pipe(
        Effect.flatMap(toJson),
        Effect.withSpan("Derivations.showDerivation")
      ),
    toJson,
    fromJson: (bytes) =>
      Effect.suspend(() => fromShowDerivationJsonBytes(bytes)).pipe(Effect.withSpan("Derivations.fromJson")),
    hashModulo,
    outputPaths,
    validate: (drv, options) =>
      Effect.suspend(() => validateDerivationShape(drv, storeDir)).pipe(
        Effect.zipRight(outputPaths(drv, options)),
        Effect.flatMap((computed) => checkOutputPaths(drv, computed)),
        Effect.withSpan("Derivations.validate", { attributes: { name: drv.name } })
      ),
    storePath: (drv) =>
      Effect.suspend(() => {
        const bytes = printDerivation(drv)
        return Either.map(derivationStorePath(drv, bytes, storeDir), (path) => ({
          path,
          bytes,
          references: derivationReferences(drv)
        }))
      }).pipe(Effect.withSpan("Derivations.storePath"))
  }
}

function isInStore(storeDir: string, p: string): boolean {
  return p.startsWith(storeDir.endsWith("/") ? storeDir : storeDir + "/")
}

/**
 * A `.drv` file outside the store has no store path to take its name from
 * (its file name may be anything): the name is the one its recorded output
 * paths were made with (`<hash>-<name>` for `out`, `<hash>-<name>-<output>`
 * otherwise), so fixed outputs show the paths the file records.
 */
function withRecordedName(drv: Derivation): Derivation {
  for (const [output, o] of drv.outputs) {
    const base = o.path.slice(o.path.lastIndexOf("/") + 1)
    if (!/^[0-9a-df-np-sv-z]{32}-./.test(base)) continue
    const named = base.slice(33)
    const suffix = output === "out" ? "" : `-${output}`
    if (named.endsWith(suffix) && named.length > suffix.length) {
      return { ...drv, name: named.slice(0, named.length - suffix.length) }
    }
  }
  return drv
}

/**
 * The live service: paths inside `layout.storeDir` are read from the store's
 * real location (under `layout.realStoreDir`); any other path is read as a plain file.
 */
export const make = (layout: StoreLayout): Effect.Effect<DerivationsShape, never, FileSystem.FileSystem> =>
  Effect.map(FileSystem.FileSystem, (fs) =>
    makeWith(layout.storeDir, (p) => {
      const real = isInStore(layout.storeDir, p) ? toRealPath(layout, p) : p
      return fs.readFile(real).pipe(
        Effect.mapError((e) => new DerivationReadError({ path: p, file: real, reason: platformErrorText(e) }))
      )
    }))

/** strerror-style text for a failed FileSystem call (no Node error text). */
const platformErrorText = (e: PlatformError): string => {
  if (e._tag === "SystemError") {
    const code = errnoCode(e.cause)
    if (code !== undefined) return strerror(code) ?? code
    if (e.reason === "NotFound") return "No such file or directory"
    if (e.reason === "PermissionDenied") return "Permission denied"
    if (e.reason === "AlreadyExists") return "File exists"
    return e.reason
  }
  return sysErrorText(e.cause ?? e.message)
}

/** The live layer for a store layout (needs a `FileSystem`, e.g. `NodeFileSystem.layer`). */
export const layer = (layout: StoreLayout): Layer.Layer<Derivations, never, FileSystem.FileSystem> =>
  Layer.effect(Derivations, make(layout))

/**
 * A test layer serving `.drv` bytes from memory, keyed by store path (or any
 * file name). Unknown paths fail with `DerivationReadError`.
 */
export const layerTest = (
  files: Iterable<readonly [path: string, bytes: Uint8Array]>,
  storeDir: string = defaultStoreDir
): Layer.Layer<Derivations> => {
  const m = new Map(files)
  return Layer.succeed(
    Derivations,
    makeWith(storeDir, (p) => {
      const b = m.get(p)
      return b === undefined
        ? Effect.fail(new DerivationReadError({ path: p, reason: "no such derivation" }))
        : Effect.succeed(b)
    })
  )
}
