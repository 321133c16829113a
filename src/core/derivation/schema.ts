/**
 * The in-memory form of a Nix derivation (a `.drv` file).
 *
 * Strings inside a derivation are *byte strings*: JS strings in which every
 * UTF-16 code unit is in 0..255 and stands for exactly one byte (the
 * "latin1"/"binary string" convention of `Buffer#toString("latin1")`). This
 * keeps env values and args exact even when they are not UTF-8, makes
 * comparisons byte-wise (as Nix's `std::map<std::string>` is), and is fast to
 * produce from and write back to bytes. ASCII text (store paths, output
 * names, systems) reads the same either way; use {@link byteStringFromUtf8}
 * and {@link byteStringToUtf8} to cross over to ordinary text.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { Schema } from "effect"

/** True when every code unit of `s` is a byte (0..255). */
export const isByteString = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false
  return true
}

/** A byte string: one code unit (0..255) per byte. */
export const ByteString = Schema.String.pipe(
  Schema.filter((s) => isByteString(s) || "a byte string (every code unit in 0..255)", {
    identifier: "ByteString"
  })
)

/** Encodes ordinary text as UTF-8 and returns those bytes as a byte string. */
export const byteStringFromUtf8 = (text: string): string => Buffer.from(text, "utf8").toString("latin1")

/** Decodes a byte string as UTF-8 (invalid sequences become U+FFFD). */
export const byteStringToUtf8 = (bytes: string): string => Buffer.from(bytes, "latin1").toString("utf8")

/** The bytes of a byte string. */
export const byteStringToBytes = (s: string): Uint8Array => Buffer.from(s, "latin1")

/** A byte string holding `bytes`. */
export const byteStringFromBytes = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")

/**
 * One output as written in the ATerm: `("name","path","hashAlgo","hash")`.
 * Input-addressed: `hashAlgo` and `hash` are empty. Fixed-output: `hashAlgo`
 * is `sha256` (flat) or `r:sha256` (recursive, NAR hash) and `hash` is base16.
 * Deferred or floating content-addressed outputs have an empty `path`.
 */
export const DerivationOutput = Schema.Struct({
  path: ByteString,
  hashAlgo: ByteString,
  hash: ByteString
})

/** One output of a derivation (see the schema of the same name). */
export interface DerivationOutput extends Schema.Schema.Type<typeof DerivationOutput> {}

/**
 * A derivation. Maps and lists keep the order they were given in; the ATerm
 * printer writes outputs, inputs and env sorted (as Nix does), so parsed
 * derivations (which Nix always writes sorted) round-trip byte for byte.
 *
 * `name` is not part of the ATerm: it comes from the `.drv` file name
 * (without `.drv`), the caller, or `env.name`; it is needed to compute output
 * paths and the derivation's own store path.
 */
export const Derivation = Schema.Struct({
  name: Schema.String,
  outputs: Schema.ReadonlyMapFromSelf({ key: ByteString, value: DerivationOutput }),
  inputDrvs: Schema.ReadonlyMapFromSelf({ key: ByteString, value: Schema.Array(ByteString) }),
  inputSrcs: Schema.Array(ByteString),
  system: ByteString,
  builder: ByteString,
  args: Schema.Array(ByteString),
  env: Schema.ReadonlyMapFromSelf({ key: ByteString, value: ByteString })
})

/** A derivation (see the schema of the same name). */
export interface Derivation extends Schema.Schema.Type<typeof Derivation> {}

/** How an output's content is addressed, decoded from its `hashAlgo`/`hash`/`path`. */
export type OutputKind =
  | { readonly _tag: "InputAddressed"; readonly path: string }
  | {
    readonly _tag: "Fixed"
    readonly method: "flat" | "recursive" | "text"
    readonly algo: string
    readonly hash: string
    readonly path: string
  }
  | { readonly _tag: "Floating"; readonly method: "flat" | "recursive" | "text"; readonly algo: string }
  | { readonly _tag: "Deferred" }

/** Classifies one output the way Nix 2.8's parser does. */
export const outputKind = (o: DerivationOutput): OutputKind => {
  if (o.hashAlgo !== "") {
    let method: "flat" | "recursive" | "text" = "flat"
    let algo = o.hashAlgo
    if (algo.startsWith("r:")) {
      method = "recursive"
      algo = algo.slice(2)
    } else if (algo.startsWith("text:")) {
      method = "text"
      algo = algo.slice(5)
    }
    return o.hash !== ""
      ? { _tag: "Fixed", method, algo, hash: o.hash, path: o.path }
      : { _tag: "Floating", method, algo }
  }
  return o.path === "" ? { _tag: "Deferred" } : { _tag: "InputAddressed", path: o.path }
}

/** True when the derivation has an output with a fixed content hash. */
export const isFixedOutput = (drv: Derivation): boolean => {
  for (const o of drv.outputs.values()) if (o.hashAlgo !== "" && o.hash !== "") return true
  return false
}
