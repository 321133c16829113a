/**
 * Common worker-protocol values: store paths, path sets, string maps,
 * optional strings, content addresses and their methods.
 *
 * Store paths travel as full printed paths; sets are sorted (Nix's
 * `std::set`), maps sorted by key. The decoders here read strings; the
 * callers validate paths against their store directory (Nix's messages
 * name the path: `path '…' is not in the Nix store`).
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { ContentAddress, ContentAddressMethod } from "../../contentAddress.js"
import { parse as parseCa, render as renderCa, renderMethodAlgo } from "../../contentAddress.js"
import type { HashAlgo } from "../../hash.js"
import { parseHashAlgo } from "../../hash.js"
import { compareStrings } from "../../topoSort.js"
import { type Decoder, paddedString, u64Bounded } from "../decode.js"
import { concatBytes, encodePadded, encodeStrings, encodeU64 } from "../encode.js"
import { WorkerValueError } from "./errors.js"
import { MAX_COUNT, MAX_MESSAGE, MAX_SHORT_STRING } from "./limits.js"

/** A short string (path, name, setting). */
export const shortString: Decoder<string> = paddedString(MAX_SHORT_STRING, "a string")

/** A long string (message, text contents). */
export const longString: Decoder<string> = paddedString(MAX_MESSAGE, "a string")

/** A store path string (not validated here). */
export const pathString: Decoder<string> = paddedString(MAX_SHORT_STRING, "a store path")

/** A list of short strings. */
export const shortStrings: Decoder<Array<string>> = (input) => {
  const n = u64Bounded(MAX_COUNT, "the length of a list")(input)
  const out: Array<string> = []
  for (let i = 0; i < n; i++) out.push(shortString(input))
  return out
}

/** A set of store path strings (sorted and without repeats on return, whatever the order sent). */
export const pathSet: Decoder<Array<string>> = (input) => sortedUnique(shortStrings(input))

/** `xs` sorted by code unit and without repeats (a copy). */
export const sortedUnique = (xs: ReadonlyArray<string>): Array<string> => {
  const sorted = xs.slice().sort(compareStrings)
  const out: Array<string> = []
  for (const x of sorted) if (out.length === 0 || out[out.length - 1] !== x) out.push(x)
  return out
}

/** Encodes a set of strings as Nix does: sorted, without repeats. */
export const encodeSet = (xs: ReadonlyArray<string>): Uint8Array => encodeStrings(sortedUnique(xs))

/** Encodes a string → string map, sorted by key. */
export const encodeStringMap = (entries: ReadonlyArray<readonly [string, string]>): Uint8Array => {
  const sorted = entries.slice().sort((a, b) => compareStrings(a[0], b[0]))
  return concatBytes([encodeU64(sorted.length), ...sorted.flatMap(([k, v]) => [encodePadded(k), encodePadded(v)])])
}

/** Reads a string → string map (values may be long). */
export const stringMap: Decoder<Array<[string, string]>> = (input) => {
  const n = u64Bounded(MAX_COUNT, "the size of a map")(input)
  const out: Array<[string, string]> = []
  for (let i = 0; i < n; i++) {
    const k = shortString(input)
    out.push([k, longString(input)])
  }
  return out
}

/** An optional string: `""` is none. */
export const encodeOptional = (s: string | undefined): Uint8Array => encodePadded(s ?? "")

/** Renders an optional content address (`""` for none). */
export const renderOptionalCa = (ca: ContentAddress | undefined): string => ca === undefined ? "" : renderCa(ca)

/** Reads an optional content address (`""`: undefined; a bad one: WorkerValueError). */
export const optionalCa: Decoder<ContentAddress | undefined> = (input) => {
  const offset = input.offset
  const s = shortString(input)
  if (s === "") return undefined
  const ca = parseCa(s)
  if (Either.isLeft(ca)) throw new WorkerValueError({ offset, what: "a content address", reason: ca.left.message })
  return ca.right
}

/** A content-address method with its hash algorithm (AddToStore ≥ 1.25: `text:sha256`, `fixed:r:sha256`, `fixed:md5`). */
export interface CaMethodAlgo {
  readonly method: ContentAddressMethod
  readonly algo: HashAlgo
}

/** Renders a method and algorithm as AddToStore sends them. */
export const renderCaMethodAlgo = (m: CaMethodAlgo): string => renderMethodAlgo(m.method, m.algo)

/** Parses `text:sha256`, `fixed:r:<algo>` or `fixed:<algo>`. */
export const parseCaMethodAlgo = (s: string): Either.Either<CaMethodAlgo, string> => {
  if (s.startsWith("text:")) {
    return s === "text:sha256" ? Either.right({ method: "text", algo: "sha256" }) : Either.left(
      `text content addresses must use sha256: '${s}'`
    )
  }
  if (!s.startsWith("fixed:")) return Either.left(`unknown content-address method '${s}'`)
  let rest = s.slice("fixed:".length)
  let method: ContentAddressMethod = "flat"
  if (rest.startsWith("r:")) {
    method = "recursive"
    rest = rest.slice(2)
  }
  return Either.mapBoth(parseHashAlgo(rest), { onLeft: (e) => e.reason, onRight: (algo) => ({ method, algo }) })
}

/** Reads a content-address method and algorithm. */
export const caMethodAlgo: Decoder<CaMethodAlgo> = (input) => {
  const offset = input.offset
  const s = shortString(input)
  const m = parseCaMethodAlgo(s)
  if (Either.isLeft(m)) throw new WorkerValueError({ offset, what: "a content-address method", reason: m.left })
  return m.right
}
