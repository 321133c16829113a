/**
 * The JSON form of derivations printed by Nix 2.8's `nix show-derivation`,
 * and the reverse (for `tsnix derivation add`).
 *
 * Nix's JSON writer copies bytes through unchanged except `"` `\` (escaped),
 * LF CR TAB (`\n` `\r` `\t`) and other bytes below 0x20 (`\u00XX`, lowercase
 * hex); bytes >= 0x80 that are not UTF-8 come out raw, so its output need not
 * be UTF-8. {@link printShowDerivationJson} reproduces those bytes exactly.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { Either, ParseResult, Schema } from "effect"
import { byteStringFromUtf8, byteStringToUtf8, outputKind } from "./schema.js"
import type { Derivation, DerivationOutput } from "./schema.js"
import { derivationNameFromPath } from "./aterm.js"
import { DerivationJsonError } from "./errors.js"
import { fixedOutputPath } from "./outputs.js"

/** One output in `nix show-derivation` JSON. */
export interface ShowDerivationOutput {
  readonly path?: string
  readonly hashAlgo?: string
  readonly hash?: string
}

/** One derivation in `nix show-derivation` JSON (keys in Nix's order). */
export interface ShowDerivationEntry {
  readonly outputs: Record<string, ShowDerivationOutput>
  readonly inputSrcs: ReadonlyArray<string>
  readonly inputDrvs: Record<string, ReadonlyArray<string>>
  readonly system: string
  readonly builder: string
  readonly args: ReadonlyArray<string>
  readonly env: Record<string, string>
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const sortedKeys = <V>(m: ReadonlyMap<string, V>): Array<string> => Array.from(m.keys()).sort(byteOrder)

/** The output as Nix 2.8 shows it: fixed outputs get their recomputed path and base16 hash. */
const showOutput = (drv: Derivation, name: string, o: DerivationOutput, storeDir: string): ShowDerivationOutput => {
  const k = outputKind(o)
  switch (k._tag) {
    case "InputAddressed":
      return { path: o.path }
    case "Fixed": {
      const fixed = fixedOutputPath(drv, name, o, storeDir)
      return Either.isRight(fixed)
        ? { path: fixed.right.path, hashAlgo: fixed.right.methodAlgo, hash: fixed.right.hashBase16 }
        : { path: o.path, hashAlgo: o.hashAlgo, hash: o.hash }
    }
    case "Floating":
      return { hashAlgo: o.hashAlgo }
    case "Deferred":
      return {}
  }
}

/**
 * One derivation as `nix show-derivation` shows it, with byte strings kept as
 * byte strings (so {@link printShowDerivationJson} can print exact bytes).
 */
const showEntryBytes = (drv: Derivation, storeDir: string): ShowDerivationEntry => {
  const outputs: Record<string, ShowDerivationOutput> = {}
  for (const name of sortedKeys(drv.outputs)) {
    defineKey(outputs, name, showOutput(drv, name, drv.outputs.get(name)!, storeDir))
  }
  const inputDrvs: Record<string, ReadonlyArray<string>> = {}
  for (const p of sortedKeys(drv.inputDrvs)) {
    defineKey(inputDrvs, p, [...new Set(drv.inputDrvs.get(p)!)].sort(byteOrder))
  }
  const env: Record<string, string> = {}
  for (const k of sortedKeys(drv.env)) defineKey(env, k, drv.env.get(k)!)
  return {
    outputs,
    inputSrcs: [...new Set(drv.inputSrcs)].sort(byteOrder),
    inputDrvs,
    system: drv.system,
    builder: drv.builder,
    args: drv.args,
    env
  }
}

/** Sets an own property even for keys like `__proto__`. */
const defineKey = <V>(o: Record<string, V>, key: string, value: V): void => {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true })
}

const mapStrings = (v: unknown, f: (s: string) => string): unknown => {
  if (typeof v === "string") return f(v)
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f))
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) defineKey(out, f(k), mapStrings(x, f))
    return out
  }
  return v
}

/**
 * The object `nix show-derivation` prints for these derivations, keyed by
 * path (sorted, as Nix does). Strings are ordinary text decoded from UTF-8
 * (non-UTF-8 bytes become U+FFFD); for the exact bytes use
 * {@link printShowDerivationJson}.
 */
export const showDerivationJson = (
  entries: Iterable<readonly [path: string, drv: Derivation]>,
  storeDir = "/nix/store"
): Record<string, ShowDerivationEntry> => {
  const out: Record<string, ShowDerivationEntry> = {}
  for (const [path, drv] of sortedEntries(entries)) {
    defineKey(
      out,
      byteStringToUtf8(path),
      mapStrings(showEntryBytes(drv, storeDir), byteStringToUtf8) as ShowDerivationEntry
    )
  }
  return out
}

const sortedEntries = (
  entries: Iterable<readonly [string, Derivation]>
): Array<readonly [string, Derivation]> => {
  const m = new Map<string, Derivation>()
  for (const [p, d] of entries) m.set(p, d)
  return Array.from(m).sort((a, b) => byteOrder(a[0], b[0]))
}

const HEX = "0123456789abcdef"

/** A JSON string of a byte string, escaped exactly as Nix 2.8's JSON writer does. */
export const jsonQuote = (s: string): string => {
  let out = "\""
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c !== 34 && c !== 92) continue
    out += s.slice(start, i)
    start = i + 1
    if (c === 34) out += "\\\""
    else if (c === 92) out += "\\\\"
    else if (c === 10) out += "\\n"
    else if (c === 13) out += "\\r"
    else if (c === 9) out += "\\t"
    else out += "\\u00" + HEX[c >> 4] + HEX[c & 15]
  }
  return out + s.slice(start) + "\""
}

const printValue = (v: unknown, indent: string): string => {
  if (typeof v === "string") return jsonQuote(v)
  const inner = indent + "  "
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]"
    return "[\n" + v.map((x) => inner + printValue(x, inner)).join(",\n") + "\n" + indent + "]"
  }
  const entries = Object.entries(v as Record<string, unknown>)
  if (entries.length === 0) return "{}"
  return "{\n" + entries.map(([k, x]) => inner + jsonQuote(k) + ": " + printValue(x, inner)).join(",\n") + "\n" +
    indent + "}"
}

/**
 * The exact bytes `nix show-derivation` (Nix 2.8) writes to stdout for these
 * derivations, keyed by path: indented JSON and a final newline.
 */
export const printShowDerivationJson = (
  entries: Iterable<readonly [path: string, drv: Derivation]>,
  storeDir = "/nix/store"
): Uint8Array => {
  const root: Record<string, ShowDerivationEntry> = {}
  for (const [path, drv] of sortedEntries(entries)) defineKey(root, path, showEntryBytes(drv, storeDir))
  return Buffer.from(printValue(root, "") + "\n", "latin1")
}

// ---------------------------------------------------------------------------
// Reading the JSON back

const JsonOutput = Schema.Struct({
  path: Schema.optional(Schema.String),
  hashAlgo: Schema.optional(Schema.String),
  hash: Schema.optional(Schema.String)
})

/** Schema of one derivation in `nix show-derivation` JSON (`name` is optional, as newer Nix adds it). */
export const ShowDerivationJson = Schema.Struct({
  name: Schema.optional(Schema.String),
  outputs: Schema.Record({ key: Schema.String, value: JsonOutput }),
  inputSrcs: Schema.Array(Schema.String),
  inputDrvs: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) }),
  system: Schema.String,
  builder: Schema.String,
  args: Schema.Array(Schema.String),
  env: Schema.Record({ key: Schema.String, value: Schema.String })
})

const decodeEntry = Schema.decodeUnknownEither(ShowDerivationJson)

/** A derivation read from JSON, with the path it was keyed by (if any). */
export interface JsonDerivation {
  readonly path: string | undefined
  readonly drv: Derivation
}

const entriesOf = (o: object): Array<[string, unknown]> => Object.entries(o)

const nameFromStructuredAttrs = (json: string | undefined): string | undefined => {
  if (json === undefined) return undefined
  try {
    const v: unknown = JSON.parse(byteStringToUtf8(json))
    if (v !== null && typeof v === "object" && "name" in v && typeof v.name === "string") {
      return byteStringFromUtf8(v.name)
    }
  } catch {
    return undefined
  }
  return undefined
}

const entryToDerivation = (
  raw: unknown,
  path: string | undefined,
  at: string,
  toBytes: (s: string) => string
): Either.Either<Derivation, DerivationJsonError> => {
  const checked = decodeEntry(raw)
  if (Either.isLeft(checked)) {
    return Either.left(new DerivationJsonError({ at, reason: ParseResult.TreeFormatter.formatErrorSync(checked.left) }))
  }
  // Read the maps from the raw object (own keys), so keys such as __proto__ survive.
  const r = raw as Record<string, Record<string, unknown>>
  const outputs = new Map<string, DerivationOutput>()
  for (const [name, o] of entriesOf(r["outputs"]!)) {
    const x = o as ShowDerivationOutput
    outputs.set(toBytes(name), {
      path: toBytes(x.path ?? ""),
      hashAlgo: toBytes(x.hashAlgo ?? ""),
      hash: toBytes(x.hash ?? "")
    })
  }
  const inputDrvs = new Map<string, ReadonlyArray<string>>()
  for (const [p, outs] of entriesOf(r["inputDrvs"]!)) inputDrvs.set(toBytes(p), (outs as Array<string>).map(toBytes))
  const env = new Map<string, string>()
  for (const [k, v] of entriesOf(r["env"]!)) env.set(toBytes(k), toBytes(v as string))
  const e = checked.right
  const name = (e.name !== undefined ? toBytes(e.name) : undefined) ??
    (path !== undefined ? derivationNameFromPath(path) : undefined) ??
    env.get("name") ??
    nameFromStructuredAttrs(env.get("__json"))
  if (name === undefined) {
    return Either.left(
      new DerivationJsonError({ at, reason: "cannot tell the derivation's name (no key path, name, or env.name)" })
    )
  }
  return Either.right({
    name,
    outputs,
    inputDrvs,
    inputSrcs: e.inputSrcs.map(toBytes),
    system: toBytes(e.system),
    builder: toBytes(e.builder),
    args: e.args.map(toBytes),
    env
  })
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v)

const fromJsonWith = (
  json: unknown,
  toBytes: (s: string) => string
): Either.Either<ReadonlyArray<JsonDerivation>, DerivationJsonError> => {
  if (!isRecord(json)) return Either.left(new DerivationJsonError({ at: "$", reason: "expected a JSON object" }))
  if ("outputs" in json) {
    return Either.map(entryToDerivation(json, undefined, "$", toBytes), (drv) => [{ path: undefined, drv }])
  }
  const out: Array<JsonDerivation> = []
  for (const [key, value] of entriesOf(json)) {
    const path = toBytes(key)
    const r = entryToDerivation(value, path, `$[${JSON.stringify(key)}]`, toBytes)
    if (Either.isLeft(r)) return Either.left(r.left)
    out.push({ path, drv: r.right })
  }
  if (out.length === 0) {
    return Either.left(new DerivationJsonError({ at: "$", reason: "no derivation in the document" }))
  }
  return Either.right(out)
}

/**
 * Reads an already parsed `nix show-derivation` document: either the object
 * keyed by `.drv` path or one bare derivation object. Strings are text
 * (their UTF-8 bytes become the derivation's byte strings).
 */
export const fromShowDerivationJson = (
  json: unknown
): Either.Either<ReadonlyArray<JsonDerivation>, DerivationJsonError> => fromJsonWith(json, byteStringFromUtf8)

const isUtf8 = (bytes: Uint8Array): boolean => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** Makes a string parsed from latin1-decoded JSON into bytes: code units >= 256 (from `\u` escapes) as UTF-8. */
const latin1JsonToBytes = (s: string): string => {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) {
      let out = ""
      for (const ch of s) out += ch.charCodeAt(0) > 0xff ? byteStringFromUtf8(ch) : ch
      return out
    }
  }
  return s
}

/**
 * Reads `nix show-derivation` JSON from bytes. UTF-8 input is read as text;
 * input with raw non-UTF-8 bytes (as Nix prints non-UTF-8 env values) is read
 * byte for byte, so those bytes are kept exactly.
 */
export const fromShowDerivationJsonBytes = (
  bytes: Uint8Array
): Either.Either<ReadonlyArray<JsonDerivation>, DerivationJsonError> => {
  const utf8 = isUtf8(bytes)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let json: unknown
  try {
    json = JSON.parse(utf8 ? buf.toString("utf8") : buf.toString("latin1"))
  } catch (e) {
    return Either.left(
      new DerivationJsonError({ at: "$", reason: `not JSON: ${e instanceof Error ? e.message : String(e)}` })
    )
  }
  return fromJsonWith(json, utf8 ? byteStringFromUtf8 : latin1JsonToBytes)
}
