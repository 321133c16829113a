/**
 * Content addresses (Nix 2.8's `ContentAddress`): how a content-addressed
 * store object was hashed, as the `ca` column of the database, the `ca` field
 * of `nix path-info --json` and narinfo files spell it:
 *
 * - `text:sha256:<nix32>`: a text object (`builtins.toFile`, `.drv` files),
 *   the sha256 of its contents;
 * - `fixed:<algo>:<nix32>`: a flat file, the hash of its bytes;
 * - `fixed:r:<algo>:<nix32>`: any file system object, the hash of its NAR.
 *
 * Rendering always uses nix32 (as Nix does); parsing accepts base16, nix32 or
 * base64 digests (the length decides), as Nix's `Hash::parseNonSRIUnprefixed`.
 * Pure: no I/O.
 *
 * @since 0.1.0
 */
import { Data, Either, ParseResult, Schema } from "effect"
import type { Hash, HashAlgo } from "./hash.js"
import { hashEquals, parseDigest, parseHashAlgo, printHashWithAlgo } from "./hash.js"

/** How a content-addressed object was hashed: flat file bytes, NAR (recursive), or text. */
export type ContentAddressMethod = "flat" | "recursive" | "text"

/** A content address: the method and the hash (sha256 for `text`). */
export interface ContentAddress {
  readonly method: ContentAddressMethod
  readonly hash: Hash
}

/** What is wrong with a content address string. */
export type ContentAddressProblem =
  /** No `<prefix>:` at all. */
  | "NoPrefix"
  /** A prefix other than `text` or `fixed`. */
  | "UnknownPrefix"
  /** No `<algo>:` after the prefix (and `r:`). */
  | "NoHashAlgo"
  /** An algorithm other than md5, sha1, sha256, sha512. */
  | "UnknownHashAlgo"
  /** `text:` with an algorithm other than sha256. */
  | "TextNotSha256"
  /** The digest does not parse for the algorithm (wrong length or characters). */
  | "BadDigest"

/** Why a string is not a valid content address (`ca` field). */
export class InvalidContentAddressError extends Data.TaggedError("InvalidContentAddressError")<{
  readonly input: string
  readonly reason: string
  /** Which check failed (absent on errors made by older callers). */
  readonly problem?: ContentAddressProblem | undefined
}> {
  override get message(): string {
    return `invalid content address '${this.input}': ${this.reason}`
  }
}

/** A text content address (`text:sha256:…`); throws if `hash` is not sha256, as Nix asserts. */
export const text = (hash: Hash): ContentAddress => {
  if (hash.algo !== "sha256") {
    throw new InvalidContentAddressError({
      input: `text:${hash.algo}`,
      reason: "text content addresses must use sha256",
      problem: "TextNotSha256"
    })
  }
  return { method: "text", hash }
}

/** A fixed-output content address of a flat file or (recursive) a NAR. */
export const fixed = (method: "flat" | "recursive", hash: Hash): ContentAddress => ({ method, hash })

/** The method and algorithm part, as Nix's `renderContentAddressMethod`: `text:sha256`, `fixed:r:sha1`, `fixed:md5`. */
export const renderMethodAlgo = (method: ContentAddressMethod, algo: HashAlgo): string =>
  method === "text" ? "text:sha256" : `fixed:${method === "recursive" ? "r:" : ""}${algo}`

/**
 * Renders a content address as Nix stores it in the `ca` column (and prints
 * it in `nix path-info`): `text:sha256:<nix32>`, `fixed:r:<algo>:<nix32>`,
 * `fixed:<algo>:<nix32>`.
 */
export const render = (ca: ContentAddress): string => {
  switch (ca.method) {
    case "text":
      return `text:${printHashWithAlgo(ca.hash, "nix32")}`
    case "recursive":
      return `fixed:r:${printHashWithAlgo(ca.hash, "nix32")}`
    case "flat":
      return `fixed:${printHashWithAlgo(ca.hash, "nix32")}`
  }
}

/** Two content addresses are equal when method and hash are. */
export const equals = (a: ContentAddress, b: ContentAddress): boolean =>
  a.method === b.method && hashEquals(a.hash, b.hash)

/**
 * Parses a `ca` field (inverse of {@link render}), with Nix's checks in Nix's
 * order: `<prefix>:`, the prefix, `r:` for fixed, `<algo>:`, sha256 for text,
 * then the digest (base16, nix32 or base64, by length).
 */
export const parse = (s: string): Either.Either<ContentAddress, InvalidContentAddressError> => {
  const fail = (problem: ContentAddressProblem, reason: string) =>
    Either.left(new InvalidContentAddressError({ input: s, reason, problem }))
  const colon = s.indexOf(":")
  if (colon < 0) return fail("NoPrefix", "not in the form '<prefix>:<rest>'")
  const prefix = s.slice(0, colon)
  let rest = s.slice(colon + 1)
  let method: ContentAddressMethod
  if (prefix === "text") method = "text"
  else if (prefix === "fixed") {
    method = "flat"
    if (rest.startsWith("r:")) {
      method = "recursive"
      rest = rest.slice(2)
    }
  } else return fail("UnknownPrefix", `prefix '${prefix}' is not 'text' or 'fixed'`)
  const algoEnd = rest.indexOf(":")
  if (algoEnd < 0) return fail("NoHashAlgo", "the hash is not in the form '<algo>:<hash>'")
  const algo = parseHashAlgo(rest.slice(0, algoEnd))
  if (Either.isLeft(algo)) return fail("UnknownHashAlgo", algo.left.reason)
  if (method === "text" && algo.right !== "sha256") {
    return fail("TextNotSha256", `text content addresses must use sha256, not ${algo.right}`)
  }
  return Either.mapBoth(parseDigest(s, rest.slice(algoEnd + 1), algo.right, false), {
    onLeft: (e) => new InvalidContentAddressError({ input: s, reason: e.reason, problem: "BadDigest" }),
    onRight: (hash) => ({ method, hash })
  })
}

/** The Schema of a parsed content address (the typed value itself). */
export const ContentAddressSchema: Schema.Schema<ContentAddress> = Schema.declare(
  (u: unknown): u is ContentAddress =>
    typeof u === "object" && u !== null && "method" in u && "hash" in u &&
    (u.method === "flat" || u.method === "recursive" || u.method === "text"),
  { identifier: "ContentAddress" }
)

/** A content address encoded as its rendered string (`fixed:r:sha256:…`): decodes with {@link parse}, encodes with {@link render}. */
export const ContentAddressFromString: Schema.Schema<ContentAddress, string> = Schema.transformOrFail(
  Schema.String,
  ContentAddressSchema,
  {
    strict: true,
    decode: (s, _, ast) =>
      Either.match(parse(s), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, s, e.message)),
        onRight: (ca) => ParseResult.succeed(ca)
      }),
    encode: (ca) => ParseResult.succeed(render(ca))
  }
)
