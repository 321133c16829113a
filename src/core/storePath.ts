/**
 * Store paths: parsing, validation and the way Nix computes them.
 *
 * A store path is `<storeDir>/<hash part>-<name>` where the hash part is 32
 * nix32 characters (20 bytes) and the name is 1..211 characters of
 * `[0-9a-zA-Z+\-._?=]`. The hash part is derived from a "fingerprint" string
 * that names the kind of object, an inner hash, the store directory and the
 * name, so the same content gives the same path in every store with the same
 * store directory.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"
import type { Hash } from "./hash.js"
import { compressHash, hashBytes, printHashWithAlgo } from "./hash.js"
import type { ContentAddress, ContentAddressMethod } from "./contentAddress.js"
import { render as renderCa } from "./contentAddress.js"
import { decodeNix32, encodeNix32 } from "./nix32.js"

/** A store path without its store directory. */
export interface StorePath {
  /** The 32 nix32 characters before the first dash. */
  readonly hashPart: string
  /** The name after the dash. */
  readonly name: string
}

/** Why a string is not a valid store path (or store path name). */
export class InvalidStorePathError extends Data.TaggedError("InvalidStorePathError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid store path '${this.path}': ${this.reason}`
  }
}

/** True for store paths (or names) of derivations: they end in `.drv`. */
export const isDerivationPath = (p: string): boolean => p.endsWith(".drv")

/** Length of a store path hash part in nix32 characters. */
export const hashPartLength = 32

/** Longest allowed store path name. */
export const maxNameLength = 211

const nameCharRe = /^[0-9a-zA-Z+\-._?=]+$/

/** Prints a store path: `storeDir + "/" + hashPart + "-" + name`. */
export const storePathToString = (storeDir: string, p: StorePath): string => `${storeDir}/${p.hashPart}-${p.name}`

/** The base name `hashPart-name` of a store path. */
export const storePathBaseName = (p: StorePath): string => `${p.hashPart}-${p.name}`

/**
 * Checks a store path name: 1..211 characters of `[0-9a-zA-Z+\-._?=]`, not
 * `.` or `..`, not starting with `.-` or `..-`. (Nix 2.8 accepts the last
 * four; newer Nix rejects them and so does tsnix.)
 */
export const validateStorePathName = (name: string): Either.Either<string, InvalidStorePathError> => {
  const fail = (reason: string) => Either.left(new InvalidStorePathError({ path: name, reason }))
  if (name.length === 0) return fail("empty name")
  if (name.length > maxNameLength) return fail(`name longer than ${maxNameLength} characters`)
  if (!nameCharRe.test(name)) {
    const bad = [...name].find((c) => !nameCharRe.test(c)) ?? ""
    return fail(`illegal character ${JSON.stringify(bad)} in name`)
  }
  if (name === "." || name === "..") return fail(`name '${name}' is not allowed`)
  if (name.startsWith(".-") || name.startsWith("..-")) return fail("name must not start with '.-' or '..-'")
  return Either.right(name)
}

/**
 * A base name that is certainly valid: 32 nix32 characters (any 32 of them
 * decode to 20 bytes), `-`, a name of allowed characters within the length
 * bound that does not start with `.` (the dot rules are left to the full check).
 */
const plainValidBaseNameRe = new RegExp(
  `^[0-9a-df-np-sv-z]{${hashPartLength}}-[0-9a-zA-Z+\\-_?=][0-9a-zA-Z+\\-._?=]{0,${maxNameLength - 1}}$`
)

/** Parses a base name `hashPart-name` (no directory). */
export const parseStorePathBaseName = (baseName: string): Either.Either<StorePath, InvalidStorePathError> => {
  // Fast path (rows read back from a database are parsed by the thousand).
  if (plainValidBaseNameRe.test(baseName)) {
    return Either.right({ hashPart: baseName.slice(0, hashPartLength), name: baseName.slice(hashPartLength + 1) })
  }
  const fail = (reason: string) => Either.left(new InvalidStorePathError({ path: baseName, reason }))
  if (baseName.length < hashPartLength + 2) return fail("too short to be a valid store path")
  if (baseName.charAt(hashPartLength) !== "-") return fail("no '-' after the hash part")
  const hashPart = baseName.slice(0, hashPartLength)
  if (Either.isLeft(decodeNix32(hashPart, 20))) return fail("hash part is not 32 nix32 characters")
  const name = baseName.slice(hashPartLength + 1)
  return Either.mapBoth(validateStorePathName(name), {
    onLeft: (e) => new InvalidStorePathError({ path: baseName, reason: e.reason }),
    onRight: (name) => ({ hashPart, name })
  })
}

const inStoreDir = (storeDir: string, s: string): string | undefined => {
  const prefix = storeDir.endsWith("/") ? storeDir : storeDir + "/"
  return s.startsWith(prefix) ? s.slice(prefix.length) : undefined
}

/** Parses an exact store path `storeDir/hash-name` (nothing after the name). */
export const parseStorePath = (storeDir: string, s: string): Either.Either<StorePath, InvalidStorePathError> => {
  const base = inStoreDir(storeDir, s)
  if (base === undefined) {
    return Either.left(new InvalidStorePathError({ path: s, reason: `not in the store '${storeDir}'` }))
  }
  if (base.includes("/")) {
    return Either.left(new InvalidStorePathError({ path: s, reason: "not a top-level store path" }))
  }
  return Either.mapLeft(parseStorePathBaseName(base), (e) => new InvalidStorePathError({ path: s, reason: e.reason }))
}

/**
 * Splits a path inside the store into the store path and the rest
 * (`""` or starting with `/`), e.g. `/nix/store/…-foo/bin/sh` → `…-foo`, `/bin/sh`.
 */
export const toStorePath = (
  storeDir: string,
  s: string
): Either.Either<{ path: StorePath; rest: string }, InvalidStorePathError> => {
  const inner = inStoreDir(storeDir, s)
  if (inner === undefined) {
    return Either.left(new InvalidStorePathError({ path: s, reason: `not in the store '${storeDir}'` }))
  }
  const slash = inner.indexOf("/")
  const base = slash < 0 ? inner : inner.slice(0, slash)
  const rest = slash < 0 ? "" : inner.slice(slash)
  return Either.mapBoth(parseStorePathBaseName(base), {
    onLeft: (e) => new InvalidStorePathError({ path: s, reason: e.reason }),
    onRight: (path) => ({ path, rest })
  })
}

const checkedName = (name: string): string => Either.getOrThrowWith(validateStorePathName(name), (e) => e)

/**
 * Computes a store path from a type, an inner hash and a name (Nix's
 * `makeStorePath`): fingerprint `type:algo:<base16>:storeDir:name`, hashed
 * with sha256 and compressed to 20 bytes. `innerHash` is sha256 in every use
 * Nix makes. The name must be valid (see `validateStorePathName`): an invalid
 * one is a programming error and throws `InvalidStorePathError`.
 */
export const makeStorePath = (storeDir: string, type: string, innerHash: Hash, name: string): StorePath => {
  checkedName(name)
  const fingerprint = `${type}:${printHashWithAlgo(innerHash, "base16")}:${storeDir}:${name}`
  const h = compressHash(hashBytes("sha256", fingerprint).bytes, 20)
  return { hashPart: encodeNix32(h), name }
}

const typeWithReferences = (type: string, references: ReadonlyArray<string>, selfReference: boolean): string => {
  const sorted = [...new Set(references)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return [type, ...sorted, ...(selfReference ? ["self"] : [])].join(":")
}

/**
 * The path of a text object (`builtins.toFile`, `.drv` files): type `text`
 * plus `:<ref>` per (sorted) reference, inner hash = sha256 of the contents.
 * Throws if `contentsHash` is not sha256 (Nix asserts the same).
 */
export const makeTextPath = (
  storeDir: string,
  name: string,
  contentsHash: Hash,
  references: ReadonlyArray<string>
): StorePath => {
  if (contentsHash.algo !== "sha256") {
    throw new InvalidStorePathError({ path: name, reason: "text paths need a sha256 contents hash" })
  }
  return makeStorePath(storeDir, typeWithReferences("text", references, false), contentsHash, name)
}

/**
 * The path of a fixed-output object. Recursive sha256 gives a `source` path
 * (references and self reference allowed, `hash` is the NAR hash); anything
 * else gives an `output:out` path over
 * `fixed:out:[r:]algo:<base16>:`, which cannot have references (throws if some
 * are given, as Nix asserts).
 */
export const makeFixedOutputPath = (
  storeDir: string,
  name: string,
  method: "flat" | "recursive",
  hash: Hash,
  references: ReadonlyArray<string> = [],
  selfReference = false
): StorePath => {
  if (method === "recursive" && hash.algo === "sha256") {
    return makeStorePath(storeDir, typeWithReferences("source", references, selfReference), hash, name)
  }
  if (references.length > 0 || selfReference) {
    throw new InvalidStorePathError({ path: name, reason: "only recursive sha256 paths can have references" })
  }
  const inner = hashBytes(
    "sha256",
    `fixed:out:${method === "recursive" ? "r:" : ""}${printHashWithAlgo(hash, "base16")}:`
  )
  return makeStorePath(storeDir, "output:out", inner, name)
}

/** Content addresses live in `contentAddress.ts`; these names stay here for existing callers. */
export type { ContentAddress, ContentAddressMethod } from "./contentAddress.js"
export { InvalidContentAddressError, parse as parseContentAddress } from "./contentAddress.js"

/**
 * Renders a content address as Nix stores it in the `ca` column:
 * `text:sha256:<nix32>`, `fixed:r:<algo>:<nix32>`, `fixed:<algo>:<nix32>`
 * (the same as `ContentAddress.render({ method, hash })`).
 */
export const renderContentAddress = (method: ContentAddressMethod, h: Hash): string => renderCa({ method, hash: h })

/**
 * The store path a content address implies for `name` with `references`
 * (full store paths, self excluded) and an optional self reference.
 * Throws like `makeTextPath`/`makeFixedOutputPath` on impossible combinations.
 */
export const makeContentAddressedPath = (
  storeDir: string,
  name: string,
  ca: ContentAddress,
  references: ReadonlyArray<string> = [],
  selfReference = false
): StorePath => {
  if (ca.method !== "text") return makeFixedOutputPath(storeDir, name, ca.method, ca.hash, references, selfReference)
  if (selfReference) throw new InvalidStorePathError({ path: name, reason: "text paths cannot refer to themselves" })
  return makeTextPath(storeDir, name, ca.hash, references)
}

/** The hash part decoded to its 20 bytes (valid store paths always decode). */
export const hashPartBytes = (p: StorePath): Either.Either<Uint8Array, InvalidStorePathError> =>
  Either.mapLeft(decodeNix32(p.hashPart, 20), (e) => new InvalidStorePathError({ path: p.hashPart, reason: e.reason }))
