/**
 * Cryptographic hashes as Nix prints and parses them.
 *
 * A hash is an algorithm plus its digest bytes. Nix prints digests in base16,
 * nix32, base64 or SRI (`sha256-<base64>`), optionally prefixed with the
 * algorithm (`sha256:<digest>`). When parsing an unprefixed or `algo:`
 * prefixed digest, its length decides the encoding, exactly as Nix does.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"
import { createHash } from "node:crypto"
import { decodeNix32, encodeNix32, nix32EncodedLength } from "./nix32.js"

/** The hash algorithms Nix supports. */
export type HashAlgo = "md5" | "sha1" | "sha256" | "sha512"

/** All hash algorithms, in Nix's order. */
export const hashAlgos: ReadonlyArray<HashAlgo> = ["md5", "sha1", "sha256", "sha512"]

/** A digest together with the algorithm that produced it. */
export interface Hash {
  readonly algo: HashAlgo
  readonly bytes: Uint8Array
}

/** The ways a digest can be printed (SRI always includes the algorithm). */
export type HashEncoding = "base16" | "nix32" | "base64" | "sri"

/** Why a string is not a valid hash (or hash algorithm name). */
export class HashParseError extends Data.TaggedError("HashParseError")<{
  readonly input: string
  readonly reason: string
  /** Nix 2.8's message for the same input (`BadHash`), when it is known. */
  readonly nixMessage?: string
}> {
  override get message(): string {
    return this.nixMessage ?? `invalid hash '${this.input}': ${this.reason}`
  }
}

/** Digest size in bytes of each algorithm. */
export const hashSize = (algo: HashAlgo): number => {
  switch (algo) {
    case "md5":
      return 16
    case "sha1":
      return 20
    case "sha256":
      return 32
    case "sha512":
      return 64
  }
}

/** Length of the base16 form of an `algo` digest. */
export const base16Length = (algo: HashAlgo): number => hashSize(algo) * 2

/** Length of the nix32 form of an `algo` digest. */
export const nix32Length = (algo: HashAlgo): number => nix32EncodedLength(hashSize(algo))

/** Length of the (padded) base64 form of an `algo` digest. */
export const base64Length = (algo: HashAlgo): number => Math.ceil(hashSize(algo) / 3) * 4

const isHashAlgo = (s: string): s is HashAlgo => s === "md5" || s === "sha1" || s === "sha256" || s === "sha512"

/** Parses an algorithm name (`md5`, `sha1`, `sha256`, `sha512`; case-sensitive, as in Nix). */
export const parseHashAlgo = (s: string): Either.Either<HashAlgo, HashParseError> =>
  isHashAlgo(s)
    ? Either.right(s)
    : Either.left(
      new HashParseError({
        input: s,
        reason: `unknown hash algorithm '${s}'`,
        nixMessage: `unknown hash algorithm '${s}'`
      })
    )

/** Hashes bytes, or a string as its UTF-8 encoding. */
export const hashBytes = (algo: HashAlgo, data: Uint8Array | string): Hash => {
  const h = createHash(algo)
  h.update(typeof data === "string" ? Buffer.from(data, "utf8") : data)
  return { algo, bytes: new Uint8Array(h.digest()) }
}

/** An incremental hasher over `node:crypto` (for streams of chunks). */
export interface Hasher {
  /** Feeds one chunk. */
  update(chunk: Uint8Array): void
  /** Finishes and returns the hash; the hasher cannot be used afterwards. */
  digest(): Hash
}

/** Creates an incremental hasher for `algo`. */
export const makeHasher = (algo: HashAlgo): Hasher => {
  const h = createHash(algo)
  return {
    update(chunk) {
      h.update(chunk)
    },
    digest() {
      return { algo, bytes: new Uint8Array(h.digest()) }
    }
  }
}

const toBase16 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")
const toBase64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

/** Prints a digest; `sri` gives `algo-<base64>`, the others the bare digest. */
export const printHash = (h: Hash, enc: HashEncoding): string => {
  switch (enc) {
    case "base16":
      return toBase16(h.bytes)
    case "nix32":
      return encodeNix32(h.bytes)
    case "base64":
      return toBase64(h.bytes)
    case "sri":
      return `${h.algo}-${toBase64(h.bytes)}`
  }
}

/** Prints `algo:<digest>` (Nix's `to_string(base, true)`). */
export const printHashWithAlgo = (h: Hash, enc: Exclude<HashEncoding, "sri">): string =>
  `${h.algo}:${printHash(h, enc)}`

/** True when both hashes have the same algorithm and bytes. */
export const hashEquals = (a: Hash, b: Hash): boolean =>
  a.algo === b.algo && a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i])

const base16Re = /^[0-9a-fA-F]*$/
const base64Re = /^[A-Za-z0-9+/]*={0,2}$/

/**
 * Parses a digest of a known algorithm. Unless `sri`, the length picks
 * base16, nix32 or base64; SRI digests must be base64 of the right length.
 * Base64 must be canonical (padded, zero trailing bits).
 */
export const parseDigest = (
  input: string,
  digest: string,
  algo: HashAlgo,
  sri: boolean
): Either.Either<Hash, HashParseError> => {
  const fail = (reason: string, nixMessage: string) => Either.left(new HashParseError({ input, reason, nixMessage }))
  const size = hashSize(algo)
  if (!sri && digest.length === size * 2) {
    if (!base16Re.test(digest)) return fail(`invalid base-16 ${algo} hash`, `invalid base-16 hash '${digest}'`)
    return Either.right({ algo, bytes: new Uint8Array(Buffer.from(digest, "hex")) })
  }
  if (!sri && digest.length === nix32EncodedLength(size)) {
    return Either.mapBoth(decodeNix32(digest, size), {
      onLeft: (e) =>
        new HashParseError({
          input,
          reason: `invalid nix32 ${algo} hash: ${e.reason}`,
          nixMessage: `invalid base-32 hash '${digest}'`
        }),
      onRight: (bytes) => ({ algo, bytes })
    })
  }
  if (sri || digest.length === base64Length(algo)) {
    const what = sri ? "SRI" : "base-64"
    const nix = `invalid ${what} hash '${digest}'`
    if (digest.length !== base64Length(algo) || !base64Re.test(digest)) return fail(`invalid ${what} ${algo} hash`, nix)
    const bytes = Buffer.from(digest, "base64")
    if (bytes.length !== size || bytes.toString("base64") !== digest) return fail(`invalid ${what} ${algo} hash`, nix)
    return Either.right({ algo, bytes: new Uint8Array(bytes) })
  }
  return fail(
    `wrong length ${digest.length} for a ${algo} hash`,
    `hash '${digest}' has wrong length for hash type '${algo}'`
  )
}

/**
 * Parses a hash the way Nix's `Hash::parseAny` does: `algo:<digest>`,
 * SRI `algo-<base64>`, or a bare digest (then `algo` must be given). If both
 * the string and `algo` name an algorithm they must agree. Failures carry
 * Nix's `BadHash` message.
 */
export const parseHash = (s: string, algo?: HashAlgo): Either.Either<Hash, HashParseError> => {
  let rest = s
  let sri = false
  let named: string | undefined
  const colon = s.indexOf(":")
  if (colon >= 0) {
    named = s.slice(0, colon)
    rest = s.slice(colon + 1)
  } else {
    const dash = s.indexOf("-")
    if (dash >= 0) {
      named = s.slice(0, dash)
      rest = s.slice(dash + 1)
      sri = true
    }
  }
  let parsed: HashAlgo | undefined
  if (named !== undefined) {
    if (!isHashAlgo(named)) {
      return Either.left(
        new HashParseError({
          input: s,
          reason: `unknown hash algorithm '${named}'`,
          nixMessage: `unknown hash algorithm '${named}'`
        })
      )
    }
    parsed = named
  }
  const chosen = parsed ?? algo
  if (chosen === undefined) {
    return Either.left(
      new HashParseError({
        input: s,
        reason: "no hash algorithm given, nor known from context",
        nixMessage: `hash '${rest}' does not include a type, nor is the type otherwise known from context`
      })
    )
  }
  if (algo !== undefined && chosen !== algo) {
    return Either.left(
      new HashParseError({
        input: s,
        reason: `expected a ${algo} hash`,
        nixMessage: `hash '${s}' should have type '${algo}'`
      })
    )
  }
  return parseDigest(s, rest, chosen, sri)
}

/**
 * Folds a digest into `size` bytes by XOR (`out[i % size] ^= bytes[i]`), as
 * Nix does to make 20-byte store path hash parts.
 */
export const compressHash = (bytes: Uint8Array, size: number): Uint8Array => {
  if (!(Number.isSafeInteger(size) && size > 0)) return new Uint8Array(0)
  const out = new Uint8Array(size)
  for (let i = 0; i < bytes.length; i++) out[i % size] = (out[i % size] ?? 0) ^ (bytes[i] ?? 0)
  return out
}
