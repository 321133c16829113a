/**
 * Path info (Nix's `ValidPathInfo`) as a typed value: the branded store path,
 * the NAR hash as a {@link Hash}, the content address as a
 * {@link ContentAddress}; with
 *
 * - {@link fromDbRow} / {@link toDbRow}: the database's row form
 *   (`narHash` as `sha256:<base16>`, `ca` as text);
 * - {@link PathInfoJson}: a Schema whose encoding is one entry of
 *   `nix path-info --json` (Nix 2.8): field names and order, `narHash` in SRI
 *   form, `closureSize` when asked for, `{"path":…,"valid":false}` for an
 *   invalid path; {@link printJson} prints the list byte for byte as Nix does;
 * - {@link fingerprint}: the string a signature signs.
 *
 * Pure: no I/O.
 *
 * @since 0.1.0
 */
import { Data, Either, Option, ParseResult, Schema } from "effect"
import type { ContentAddress } from "./contentAddress.js"
import { ContentAddressFromString, parse as parseCa, render as renderCa } from "./contentAddress.js"
import type { Hash } from "./hash.js"
import { hashSize, parseHash, printHash, printHashWithAlgo } from "./hash.js"
import type { StorePath } from "./storePathBrand.js"
import { parse as parseStorePath, StorePathFromString } from "./storePathBrand.js"
import { compareStrings } from "./topoSort.js"

/** What a store knows about one valid path. */
export interface ValidPathInfo {
  readonly path: StorePath
  /** The hash of the NAR serialisation (sha256 in every store Nix writes). */
  readonly narHash: Hash
  /** Size of the NAR serialisation in bytes; 0 when unknown (old databases). */
  readonly narSize: number
  /** The derivation that produced the path, if recorded. */
  readonly deriver: Option.Option<StorePath>
  /** Sorted, without repeats; a self-reference is included. */
  readonly references: ReadonlyArray<StorePath>
  /** Unix time in seconds; 0 when unknown. */
  readonly registrationTime: number
  /** True when the path was built locally (trusted without signatures). */
  readonly ultimate: boolean
  /** Signatures `keyname:base64`. */
  readonly sigs: ReadonlyArray<string>
  /** The content-address assertion, if the path is content-addressed. */
  readonly ca: Option.Option<ContentAddress>
}

/**
 * The database's row form of path info: `narHash` as stored
 * (`sha256:<base16>`), `ca` as text. The local store's row mapper turns each
 * row into a {@link ValidPathInfo} with {@link fromDbRow}.
 */
export interface PathInfoRow {
  readonly path: string
  readonly narHash: string
  readonly narSize: number
  readonly deriver: Option.Option<string>
  readonly references: ReadonlyArray<string>
  readonly registrationTime: number
  readonly ultimate: boolean
  readonly sigs: ReadonlyArray<string>
  readonly ca: Option.Option<string>
}

/** A database row that does not make a valid path info; `field` names the bad column. */
export class InvalidPathInfoRowError extends Data.TaggedError("InvalidPathInfoRowError")<{
  readonly path: string
  readonly field: "path" | "narHash" | "narSize" | "deriver" | "references" | "registrationTime" | "ca"
  readonly reason: string
}> {
  override get message(): string {
    return `invalid path info of '${this.path}': ${this.field}: ${this.reason}`
  }
}

/** `xs` sorted, without repeats (a copy; no Set: it runs on every row the database returns). */
const uniqueSorted = <A extends string>(xs: ReadonlyArray<A>): ReadonlyArray<A> => {
  const sorted = xs.slice().sort(compareStrings)
  let n = 0
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i] as A
  sorted.length = n
  return sorted
}

const isSize = (n: number) => Number.isSafeInteger(n) && n >= 0

/**
 * Converts a database row (paths in `storeDir`) into a typed {@link ValidPathInfo}, checking every field.
 * Written as plain code, not `Either.gen`: the local store's row mapper runs it on every row it reads.
 */
export const fromDbRow = (
  storeDir: string,
  row: PathInfoRow
): Either.Either<ValidPathInfo, InvalidPathInfoRowError> => {
  const bad = (field: InvalidPathInfoRowError["field"], reason: string) =>
    Either.left(new InvalidPathInfoRowError({ path: row.path, field, reason }))
  const path = parseStorePath(storeDir, row.path)
  if (Either.isLeft(path)) return bad("path", path.left.reason)
  const narHash = parseHash(row.narHash)
  if (Either.isLeft(narHash)) return bad("narHash", narHash.left.reason)
  if (!isSize(row.narSize)) return bad("narSize", `not a size: ${row.narSize}`)
  if (!isSize(row.registrationTime)) return bad("registrationTime", `not a time: ${row.registrationTime}`)
  let deriver = Option.none<StorePath>()
  if (Option.isSome(row.deriver)) {
    const d = parseStorePath(storeDir, row.deriver.value)
    if (Either.isLeft(d)) return bad("deriver", d.left.message)
    deriver = Option.some(d.right)
  }
  const references: Array<StorePath> = []
  for (const r of row.references) {
    const ref = parseStorePath(storeDir, r)
    if (Either.isLeft(ref)) return bad("references", ref.left.message)
    references.push(ref.right)
  }
  let ca = Option.none<ContentAddress>()
  if (Option.isSome(row.ca)) {
    const c = parseCa(row.ca.value)
    if (Either.isLeft(c)) return bad("ca", c.left.reason)
    ca = Option.some(c.right)
  }
  return Either.right({
    path: path.right,
    narHash: narHash.right,
    narSize: row.narSize,
    deriver,
    references: uniqueSorted(references),
    registrationTime: row.registrationTime,
    ultimate: row.ultimate,
    sigs: row.sigs,
    ca
  })
}

/** The database's row form of a typed path info: `narHash` as `<algo>:<base16>` (what Nix stores), `ca` rendered. */
export const toDbRow = (info: ValidPathInfo): PathInfoRow => ({
  path: info.path,
  narHash: printHashWithAlgo(info.narHash, "base16"),
  narSize: info.narSize,
  deriver: info.deriver,
  references: info.references,
  registrationTime: info.registrationTime,
  ultimate: info.ultimate,
  sigs: info.sigs,
  ca: Option.map(info.ca, renderCa)
})

/** The fingerprint cannot be computed (Nix refuses paths of unknown NAR size). */
export class FingerprintError extends Data.TaggedError("FingerprintError")<{ readonly path: string }> {
  override get message(): string {
    return `cannot calculate fingerprint of path '${this.path}' because its size is not known`
  }
}

/**
 * The string a path's signatures sign (Nix's `ValidPathInfo::fingerprint`):
 * `1;<path>;<narHash as algo:nix32>;<narSize>;<references, comma-separated, sorted>`.
 */
export const fingerprint = (info: ValidPathInfo): Either.Either<string, FingerprintError> =>
  info.narSize === 0
    ? Either.left(new FingerprintError({ path: info.path }))
    : Either.right(
      `1;${info.path};${printHashWithAlgo(info.narHash, "nix32")};${info.narSize};${
        uniqueSorted(info.references).join(",")
      }`
    )

// ---------------------------------------------------------------------------
// nix path-info --json

/** One entry of `nix path-info --json`: a valid path's info (with its closure size when `-S` was given), or an invalid path. */
export type PathInfoJsonEntry =
  | { readonly _tag: "Valid"; readonly info: ValidPathInfo; readonly closureSize: Option.Option<number> }
  | { readonly _tag: "Invalid"; readonly path: StorePath }

/** The encoded (JSON) form of a valid entry, in Nix's field order. */
export type ValidPathInfoJsonEncoded = {
  readonly path: string
  readonly narHash: string
  readonly narSize: number
  readonly references: ReadonlyArray<string>
  readonly ca?: string
  readonly closureSize?: number
  readonly deriver?: string
  readonly registrationTime?: number
  readonly ultimate?: boolean
  readonly signatures?: ReadonlyArray<string>
}

/** The encoded (JSON) form of an invalid entry. */
export type InvalidPathJsonEncoded = {
  readonly path: string
  readonly valid: false
}

const NonNegativeInt = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

/** `narHash` as `nix path-info --json` prints it: SRI (`sha256-<base64>`); decoding also accepts `algo:<digest>`. */
export const NarHashFromString: Schema.Schema<Hash, string> = Schema.transformOrFail(
  Schema.String,
  Schema.declare(
    (u: unknown): u is Hash =>
      typeof u === "object" && u !== null && "algo" in u && "bytes" in u && u.bytes instanceof Uint8Array &&
      (u.algo === "md5" || u.algo === "sha1" || u.algo === "sha256" || u.algo === "sha512") &&
      u.bytes.length === hashSize(u.algo),
    { identifier: "Hash" }
  ),
  {
    strict: true,
    decode: (s, _, ast) =>
      Either.match(parseHash(s), {
        onLeft: (e) => ParseResult.fail(new ParseResult.Type(ast, s, e.message)),
        onRight: (h) => ParseResult.succeed(h)
      }),
    encode: (h) => ParseResult.succeed(printHash(h, "sri"))
  }
)

const validEncodedFields = (storeDir: string) => {
  const StorePathS = StorePathFromString(storeDir)
  return Schema.Struct({
    path: StorePathS,
    narHash: NarHashFromString,
    narSize: NonNegativeInt,
    references: Schema.Array(StorePathS),
    ca: Schema.optionalWith(ContentAddressFromString, { exact: true }),
    closureSize: Schema.optionalWith(NonNegativeInt, { exact: true }),
    deriver: Schema.optionalWith(StorePathS, { exact: true }),
    registrationTime: Schema.optionalWith(NonNegativeInt, { exact: true }),
    ultimate: Schema.optionalWith(Schema.Boolean, { exact: true }),
    signatures: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
  })
}

const EntryType: Schema.Schema<PathInfoJsonEntry> = Schema.declare(
  (u: unknown): u is PathInfoJsonEntry =>
    typeof u === "object" && u !== null && "_tag" in u && (u._tag === "Valid" || u._tag === "Invalid"),
  { identifier: "PathInfoJsonEntry" }
)

/**
 * One entry of `nix path-info --json` for a store in `storeDir`. Encoding
 * gives Nix's object: `path`, `narHash` (SRI), `narSize`, `references`, then
 * `ca`, `closureSize`, `deriver`, `registrationTime` (when not 0), `ultimate`
 * (when true), `signatures` (when any), each only when present; an invalid
 * path is `{"path":…,"valid":false}`. Decoding accepts what Nix prints
 * (absent fields: none, 0, false, no signatures).
 */
export const PathInfoJson = (storeDir: string): Schema.Schema<
  PathInfoJsonEntry,
  ValidPathInfoJsonEncoded | InvalidPathJsonEncoded
> => {
  const Valid = validEncodedFields(storeDir)
  const Invalid = Schema.Struct({ path: StorePathFromString(storeDir), valid: Schema.Literal(false) })
  return Schema.transform(Schema.Union(Invalid, Valid), EntryType, {
    strict: true,
    decode: (e): PathInfoJsonEntry => {
      if ("valid" in e) return { _tag: "Invalid", path: e.path }
      return {
        _tag: "Valid",
        closureSize: Option.fromNullable(e.closureSize),
        info: {
          path: e.path,
          narHash: e.narHash,
          narSize: e.narSize,
          references: e.references,
          ca: Option.fromNullable(e.ca),
          deriver: Option.fromNullable(e.deriver),
          registrationTime: e.registrationTime ?? 0,
          ultimate: e.ultimate ?? false,
          sigs: e.signatures ?? []
        }
      }
    },
    encode: (entry) => {
      if (entry._tag === "Invalid") return { path: entry.path, valid: false as const }
      const { info } = entry
      return {
        path: info.path,
        narHash: info.narHash,
        narSize: info.narSize,
        references: info.references,
        ...(Option.isSome(info.ca) ? { ca: info.ca.value } : {}),
        ...(Option.isSome(entry.closureSize) ? { closureSize: entry.closureSize.value } : {}),
        ...(Option.isSome(info.deriver) ? { deriver: info.deriver.value } : {}),
        ...(info.registrationTime !== 0 ? { registrationTime: info.registrationTime } : {}),
        ...(info.ultimate ? { ultimate: true } : {}),
        ...(info.sigs.length > 0 ? { signatures: info.sigs } : {})
      }
    }
  })
}

/** The list `nix path-info --json` prints. */
export const PathInfoJsonList = (storeDir: string) => Schema.Array(PathInfoJson(storeDir))

/** A JSON string as Nix's JSON writer escapes it: `"`, `\`, `\n`, `\r`, `\t`, other controls as `\u00XX`. */
const nixJsonString = (s: string): string => {
  let out = "\""
  for (const c of s) {
    const code = c.charCodeAt(0)
    if (c === "\"" || c === "\\") out += "\\" + c
    else if (c === "\n") out += "\\n"
    else if (c === "\r") out += "\\r"
    else if (c === "\t") out += "\\t"
    else if (code < 32) out += `\\u${code.toString(16).padStart(4, "0")}`
    else out += c
  }
  return out + "\""
}

/** Encoded JSON values (what the Schemas above produce). */
type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [k: string]: Json | undefined }

/** Prints a JSON value compactly, keys in insertion order, strings escaped as Nix escapes them. */
export const printNixJson = (v: Json): string => {
  if (typeof v === "string") return nixJsonString(v)
  if (typeof v === "number" || typeof v === "boolean" || v === null) return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(printNixJson).join(",")}]`
  const parts: Array<string> = []
  for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${nixJsonString(k)}:${printNixJson(x)}`)
  return `{${parts.join(",")}}`
}

/**
 * `nix path-info --json` output for `entries` (already in Nix's order:
 * sorted by path, without repeats), byte for byte; Nix prints no final newline.
 */
export const printJson = (storeDir: string, entries: ReadonlyArray<PathInfoJsonEntry>): string =>
  printNixJson(Schema.encodeSync(PathInfoJsonList(storeDir))(entries))
