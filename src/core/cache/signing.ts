/**
 * ed25519 keys and signatures as Nix 2.8 uses them (`libstore/crypto.cc`),
 * with node:crypto (no extra library).
 *
 * - A secret key file is `name:base64(64 bytes)` in libsodium's layout (the
 *   32-byte seed followed by the 32-byte public key); a public key file is
 *   `name:base64(32 bytes)`. Nix writes them without a final newline; when
 *   reading, `\n` inside the base64 is skipped and decoding stops at `=`.
 * - A signature is `name:base64(64-byte detached signature)` over a path's
 *   {@link fingerprint}; ed25519 is deterministic, so the same key signs the
 *   same info with the same bytes Nix writes.
 *
 * Pure: no I/O (key files are read by the caller).
 *
 * @since 0.1.0
 */
import { Data, Either, Option } from "effect"
import * as crypto from "node:crypto"
import { fingerprint, type FingerprintError, type ValidPathInfo } from "../pathInfo.js"
import { makeFixedOutputPath, makeTextPath, storePathToString } from "../storePath.js"
import { name } from "../storePathBrand.js"

/** An ed25519 secret key with its name. */
export interface SecretKey {
  readonly name: string
  /** The 32-byte seed. */
  readonly seed: Uint8Array
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array
}

/** An ed25519 public key with its name. */
export interface PublicKey {
  readonly name: string
  /** The 32 bytes. */
  readonly key: Uint8Array
}

/** A key that cannot be read; `message` is Nix's. */
export class KeyParseError extends Data.TaggedError("KeyParseError")<{
  readonly kind: "secret" | "public"
  readonly reason: string
}> {
  override get message(): string {
    return this.reason === "corrupt" ? "secret key is corrupt" : `${this.kind} key is not valid`
  }
}

/** A signature whose bytes are not 64 (Nix: `signature is not valid`). */
export class SignatureFormatError extends Data.TaggedError("SignatureFormatError")<{ readonly sig: string }> {
  override get message(): string {
    return `signature is not valid`
  }
}

const base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Nix's base64Decode: stops at `=`, skips `\n`, refuses other characters (undefined). */
export const nixBase64Decode = (s: string): Uint8Array | undefined => {
  const out: Array<number> = []
  let d = 0
  let bits = 0
  for (const c of s) {
    if (c === "=") break
    if (c === "\n") continue
    const digit = base64Chars.indexOf(c)
    if (digit < 0) return undefined
    bits += 6
    d = ((d << 6) | digit) & 0xffff
    if (bits >= 8) {
      out.push((d >> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return new Uint8Array(out)
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64")

/** Nix's `split`: name before the first `:` (none, or an empty name: both empty). */
const split = (s: string): [string, string] => {
  const colon = s.indexOf(":")
  return colon <= 0 ? ["", ""] : [s.slice(0, colon), s.slice(colon + 1)]
}

const parseKey = (
  s: string,
  kind: "secret" | "public",
  size: number
): Either.Either<{ name: string; key: Uint8Array }, KeyParseError> => {
  const [name, rest] = split(s)
  if (name === "" || rest === "") return Either.left(new KeyParseError({ kind, reason: "corrupt" }))
  const key = nixBase64Decode(rest)
  if (key === undefined) return Either.left(new KeyParseError({ kind, reason: "invalid base64" }))
  if (key.length !== size) return Either.left(new KeyParseError({ kind, reason: `${key.length} bytes` }))
  return Either.right({ name, key })
}

// DER prefixes of raw ed25519 keys (RFC 8410), so node:crypto takes the 32 raw bytes.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex")

const privateKeyObject = (seed: Uint8Array) =>
  crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" })

const publicKeyObject = (key: Uint8Array) =>
  crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, key]), format: "der", type: "spki" })

/** The public key of a seed. */
const publicFromSeed = (seed: Uint8Array): Uint8Array => {
  const der = crypto.createPublicKey(privateKeyObject(seed)).export({ format: "der", type: "spki" })
  return new Uint8Array(der.subarray(SPKI_PREFIX.length))
}

/** Parses a secret key file's contents (`name:base64(seed‖public)`). */
export const parseSecretKey = (s: string): Either.Either<SecretKey, KeyParseError> =>
  Either.map(parseKey(s, "secret", 64), ({ key, name }) => ({
    name,
    seed: key.slice(0, 32),
    publicKey: key.slice(32)
  }))

/** Parses a public key (`name:base64(32 bytes)`), as in `trusted-public-keys`. */
export const parsePublicKey = (s: string): Either.Either<PublicKey, KeyParseError> =>
  Either.map(parseKey(s, "public", 32), ({ key, name }) => ({ name, key }))

/** A secret key file's contents as Nix writes them (no final newline). */
export const printSecretKey = (k: SecretKey): string => `${k.name}:${b64(Buffer.concat([k.seed, k.publicKey]))}`

/** A public key as Nix prints it (no final newline). */
export const printPublicKey = (k: PublicKey): string => `${k.name}:${b64(k.key)}`

/** The public half of a secret key (Nix's `toPublicKey`: the stored public bytes). */
export const toPublicKey = (k: SecretKey): PublicKey => ({ name: k.name, key: k.publicKey })

/** A new random key pair named `name` (`nix-store --generate-binary-cache-key`). */
export const generateSecretKey = (name: string): SecretKey => {
  const seed = new Uint8Array(crypto.randomBytes(32))
  return { name, seed, publicKey: publicFromSeed(seed) }
}

/** A detached signature of `data`: `name:base64(sig)`. */
export const signDetached = (k: SecretKey, data: string | Uint8Array): string =>
  `${k.name}:${b64(crypto.sign(null, typeof data === "string" ? Buffer.from(data) : data, privateKeyObject(k.seed)))}`

/** Public keys by name (later ones with the same name are ignored, as in Nix's map emplace). */
export type PublicKeys = ReadonlyMap<string, PublicKey>

/** A key set from a list of keys (the first of each name wins). */
export const makePublicKeys = (keys: Iterable<PublicKey>): PublicKeys => {
  const m = new Map<string, PublicKey>()
  for (const k of keys) if (!m.has(k.name)) m.set(k.name, k)
  return m
}

/**
 * Nix's verifyDetached: false when no key of the signature's name is known
 * or it does not verify; a signature whose bytes are not 64 is an error.
 */
export const verifyDetached = (
  data: string | Uint8Array,
  sig: string,
  keys: PublicKeys
): Either.Either<boolean, SignatureFormatError> => {
  const [name, rest] = split(sig)
  const key = keys.get(name)
  if (key === undefined) return Either.right(false)
  const bytes = nixBase64Decode(rest)
  if (bytes === undefined || bytes.length !== 64) return Either.left(new SignatureFormatError({ sig }))
  return Either.right(
    crypto.verify(null, typeof data === "string" ? Buffer.from(data) : data, publicKeyObject(key.key), bytes)
  )
}

/** Signs a path's info (its fingerprint): the `Sig:` value. */
export const signPathInfo = (k: SecretKey, info: ValidPathInfo): Either.Either<string, FingerprintError> =>
  Either.map(fingerprint(info), (fp) => signDetached(k, fp))

/** How many of a path's signatures verify with `keys` (Nix's checkSignatures, without the CA shortcut). */
export const countValidSignatures = (
  info: ValidPathInfo,
  keys: PublicKeys
): Either.Either<number, FingerprintError | SignatureFormatError> =>
  Either.flatMap(fingerprint(info), (fp) => {
    let good = 0
    for (const sig of info.sigs) {
      const ok = verifyDetached(fp, sig, keys)
      if (Either.isLeft(ok)) return Either.left(ok.left)
      if (ok.right) good++
    }
    return Either.right(good)
  })

/**
 * Nix's `ValidPathInfo::isContentAddressed`: the info has a content address
 * and the path it implies (with the info's references) is the path itself.
 * Such a path needs no signature.
 */
export const isContentAddressed = (storeDir: string, info: ValidPathInfo): boolean => {
  if (Option.isNone(info.ca)) return false
  const ca = info.ca.value
  const self = info.references.includes(info.path)
  const refs = info.references.filter((r) => r !== info.path)
  try {
    if (ca.method === "text") {
      return self
        ? false
        : storePathToString(storeDir, makeTextPath(storeDir, name(info.path), ca.hash, refs)) === info.path
    }
    return storePathToString(
      storeDir,
      makeFixedOutputPath(storeDir, name(info.path), ca.method, ca.hash, refs, self)
    ) === info.path
  } catch {
    // An impossible combination (a flat path with references): not what it claims.
    return false
  }
}

/** Nix's checkSignatures: "infinitely many" (Infinity) for a content-addressed path, else the number that verify. */
export const checkSignatures = (
  storeDir: string,
  info: ValidPathInfo,
  keys: PublicKeys
): Either.Either<number, FingerprintError | SignatureFormatError> =>
  isContentAddressed(storeDir, info) ? Either.right(Infinity) : countValidSignatures(info, keys)
