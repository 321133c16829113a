/**
 * Derivation types, `hashDerivationModulo`, output paths and the `.drv`
 * store path, as Nix 2.8 computes them. Pure: input derivations' modulo
 * hashes are passed in by the caller (the Derivations service resolves and
 * memoises them).
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { hashBytes, parseHash, parseHashAlgo, printHash } from "../hash.js"
import type { Hash } from "../hash.js"
import {
  makeFixedOutputPath,
  makeStorePath,
  makeTextPath,
  storePathToString,
  validateStorePathName
} from "../storePath.js"
import { outputKind } from "./schema.js"
import type { Derivation, DerivationOutput } from "./schema.js"
import { printDerivation } from "./aterm.js"
import { DerivationResolveError, DerivationValidationError } from "./errors.js"

/** The kind of a whole derivation (Nix 2.8's `DerivationType`). */
export type DerivationType = "InputAddressed" | "Fixed" | "Floating" | "Deferred"

/** Nix's `outputPathName`: the name of an output's store path. */
export const outputPathName = (drvName: string, outputName: string): string =>
  outputName === "out" ? drvName : drvName + "-" + outputName

const invalid = (drv: Derivation, reason: string) => new DerivationValidationError({ name: drv.name, reason })

/**
 * Classifies a derivation by its outputs; fails as Nix does on no outputs,
 * mixed kinds, or fixed outputs other than a single `out`.
 */
export const derivationType = (drv: Derivation): Either.Either<DerivationType, DerivationValidationError> => {
  const kinds = new Set<DerivationType>()
  for (const o of drv.outputs.values()) {
    const k = outputKind(o)._tag
    kinds.add(k === "InputAddressed" ? "InputAddressed" : k)
  }
  if (kinds.size === 0) return Either.left(invalid(drv, "a derivation must have at least one output"))
  if (kinds.size > 1) {
    return Either.left(
      invalid(drv, "a derivation cannot mix output types (input-addressed, fixed, floating, deferred)")
    )
  }
  const t = [...kinds][0]!
  if (t === "Fixed") {
    if (drv.outputs.size !== 1) {
      return Either.left(invalid(drv, "a fixed-output derivation must have exactly one output"))
    }
    if (!drv.outputs.has("out")) {
      return Either.left(invalid(drv, "the output of a fixed-output derivation must be named 'out'"))
    }
  }
  return Either.right(t)
}

/** A fixed output decoded: its recomputed path and Nix's printed method/algo and base16 hash. */
export interface FixedOutput {
  readonly path: string
  readonly methodAlgo: string
  readonly hashBase16: string
  readonly hash: Hash
}

/** Decodes a fixed output and computes the path Nix gives it (`makeFixedOutputPath`). */
export const fixedOutputPath = (
  drv: Derivation,
  outputName: string,
  o: DerivationOutput,
  storeDir: string
): Either.Either<FixedOutput, DerivationValidationError> => {
  const k = outputKind(o)
  if (k._tag !== "Fixed") return Either.left(invalid(drv, `output '${outputName}' is not a fixed output`))
  if (k.method === "text") {
    return Either.left(invalid(drv, `output '${outputName}': text-hashed outputs are not supported`))
  }
  const algo = parseHashAlgo(k.algo)
  if (Either.isLeft(algo)) {
    return Either.left(invalid(drv, `output '${outputName}': unknown hash algorithm '${k.algo}'`))
  }
  const hash = parseHash(k.hash, algo.right)
  if (Either.isLeft(hash) || k.hash.includes(":") || k.hash.includes("-")) {
    return Either.left(invalid(drv, `output '${outputName}': invalid ${k.algo} hash '${k.hash}'`))
  }
  const pathName = outputPathName(drv.name, outputName)
  if (Either.isLeft(validateStorePathName(pathName))) {
    return Either.left(invalid(drv, `output '${outputName}': invalid store path name '${pathName}'`))
  }
  const path = storePathToString(storeDir, makeFixedOutputPath(storeDir, pathName, k.method, hash.right))
  return Either.right({
    path,
    methodAlgo: (k.method === "recursive" ? "r:" : "") + algo.right,
    hashBase16: printHash(hash.right, "base16"),
    hash: hash.right
  })
}

/** The result of `hashDerivationModulo`: one hash per output, and whether it is deferred (floating CA inputs). */
export interface DrvHashModulo {
  readonly kind: "Regular" | "Deferred"
  readonly hashes: ReadonlyMap<string, Hash>
}

/** Looks up the modulo hash of an input derivation (unmasked), or `undefined` if unknown. */
export type InputHashLookup = (drvPath: string) => DrvHashModulo | undefined

/**
 * Nix 2.8's `hashDerivationModulo`. Fixed-output derivations hash to
 * sha256(`fixed:out:<method/algo>:<base16>:<path>`) per output. Others are
 * printed with each input derivation replaced by the base16 modulo hash of
 * the outputs used (inputs with equal hashes merge their output names), and
 * with output paths and output env vars blanked when `maskOutputs`; the
 * sha256 of that text is every output's hash.
 */
export const hashDerivationModulo = (
  drv: Derivation,
  maskOutputs: boolean,
  lookup: InputHashLookup,
  storeDir = "/nix/store"
): Either.Either<DrvHashModulo, DerivationValidationError | DerivationResolveError> => {
  const type = derivationType(drv)
  if (Either.isLeft(type)) return Either.left(type.left)
  if (type.right === "Fixed") {
    const hashes = new Map<string, Hash>()
    for (const [name, o] of drv.outputs) {
      const f = fixedOutputPath(drv, name, o, storeDir)
      if (Either.isLeft(f)) return Either.left(f.left)
      hashes.set(name, hashBytes("sha256", `fixed:out:${f.right.methodAlgo}:${f.right.hashBase16}:${f.right.path}`))
    }
    return Either.right({ kind: "Regular", hashes })
  }
  let kind: DrvHashModulo["kind"] = type.right === "Floating" ? "Deferred" : "Regular"
  const inputs2 = new Map<string, Set<string>>()
  for (const [drvPath, outs] of drv.inputDrvs) {
    const res = lookup(drvPath)
    if (res === undefined) {
      return Either.left(new DerivationResolveError({ drvPath, reason: "no modulo hash known for it" }))
    }
    if (res.kind === "Deferred") kind = "Deferred"
    for (const out of outs) {
      const h = res.hashes.get(out)
      if (h === undefined) {
        return Either.left(new DerivationResolveError({ drvPath, reason: `it has no output '${out}'` }))
      }
      const key = printHash(h, "base16")
      let set = inputs2.get(key)
      if (set === undefined) inputs2.set(key, set = new Set())
      set.add(out)
    }
  }
  const hash = hashBytes("sha256", printDerivation(drv, { maskOutputs, inputDrvs: inputs2 }))
  const hashes = new Map<string, Hash>()
  for (const name of drv.outputs.keys()) hashes.set(name, hash)
  return Either.right({ kind, hashes })
}

/** Checks an output name as Nix does: a valid path name suffix, and not `drv`. */
export const validateOutputName = (
  drv: Derivation,
  outputName: string
): Either.Either<string, DerivationValidationError> => {
  if (outputName === "" || outputName === "drv" || Either.isLeft(validateStorePathName(outputName))) {
    return Either.left(invalid(drv, `invalid output name '${outputName}'`))
  }
  if (Either.isLeft(validateStorePathName(outputPathName(drv.name, outputName)))) {
    return Either.left(
      invalid(drv, `output '${outputName}' gives an invalid store path name '${outputPathName(drv.name, outputName)}'`)
    )
  }
  return Either.right(outputName)
}

/**
 * The output paths Nix gives a derivation, from its *masked* modulo hash
 * (see {@link hashDerivationModulo} with `maskOutputs = true`): fixed outputs
 * get their content-addressed path, input-addressed and deferred outputs
 * `makeStorePath("output:<id>", hash, outputPathName)`. Floating outputs and
 * derivations whose hash is deferred get no path (omitted from the map).
 */
export const computeOutputPaths = (
  drv: Derivation,
  masked: DrvHashModulo,
  storeDir = "/nix/store"
): Either.Either<ReadonlyMap<string, string>, DerivationValidationError> => {
  const out = new Map<string, string>()
  for (const [name, o] of drv.outputs) {
    const valid = validateOutputName(drv, name)
    if (Either.isLeft(valid)) return Either.left(valid.left)
    const k = outputKind(o)
    if (k._tag === "Fixed") {
      const f = fixedOutputPath(drv, name, o, storeDir)
      if (Either.isLeft(f)) return Either.left(f.left)
      out.set(name, f.right.path)
    } else if (k._tag !== "Floating" && masked.kind === "Regular") {
      const h = masked.hashes.get(name)
      if (h === undefined) return Either.left(invalid(drv, `no modulo hash for output '${name}'`))
      out.set(
        name,
        storePathToString(storeDir, makeStorePath(storeDir, "output:" + name, h, outputPathName(drv.name, name)))
      )
    }
  }
  return Either.right(out)
}

/**
 * A derivation with its input-addressed and deferred output paths (and the
 * env vars of the same names) set to `paths` (from {@link computeOutputPaths}).
 * This is how Nix fills in a derivation it has just evaluated.
 */
export const withOutputPaths = (drv: Derivation, paths: ReadonlyMap<string, string>): Derivation => {
  const outputs = new Map<string, DerivationOutput>()
  const env = new Map(drv.env)
  for (const [name, o] of drv.outputs) {
    const p = paths.get(name)
    if (p !== undefined && o.hashAlgo === "") outputs.set(name, { ...o, path: p })
    else outputs.set(name, o)
    if (p !== undefined) env.set(name, p)
  }
  return { ...drv, outputs, env }
}

/** The references of a `.drv` file: its input sources plus its input derivations, sorted. */
export const derivationReferences = (drv: Derivation): ReadonlyArray<string> =>
  [...new Set([...drv.inputSrcs, ...drv.inputDrvs.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * Output name → path of the outputs whose path the derivation records
 * (input-addressed and fixed; not deferred or floating ones): what Nix 2.8's
 * `registerValidPaths` puts in DerivationOutputs for a valid `.drv`.
 */
export const recordedOutputPaths = (drv: Derivation): Readonly<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const [name, o] of drv.outputs) if (o.path !== "") out[name] = o.path
  return out
}

/** The name of a derivation's `.drv` store path: `<name>.drv`. */
export const derivationFileName = (drv: Derivation): string => drv.name + ".drv"

/**
 * The store path of the `.drv` file holding these bytes (normally
 * `printDerivation(drv)`): a text path named `<name>.drv` whose references
 * are the input sources and input derivations.
 */
export const derivationStorePath = (
  drv: Derivation,
  bytes: Uint8Array = printDerivation(drv),
  storeDir = "/nix/store"
): Either.Either<string, DerivationValidationError> => {
  const name = derivationFileName(drv)
  if (Either.isLeft(validateStorePathName(name))) {
    return Either.left(invalid(drv, `invalid derivation name '${drv.name}'`))
  }
  return Either.right(
    storePathToString(storeDir, makeTextPath(storeDir, name, hashBytes("sha256", bytes), derivationReferences(drv)))
  )
}
