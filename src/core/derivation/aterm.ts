/**
 * The ATerm form of a derivation (`.drv` files), parsed and printed exactly
 * as Nix 2.8 writes it:
 *
 * `Derive([outputs],[inputDrvs],[inputSrcs],"system","builder",[args],[env])`
 *
 * The parser works on bytes with an index (no recursion: the grammar has a
 * fixed depth; no allocation from any claimed length: there are none). It is
 * stricter than Nix's: duplicate keys, trailing bytes and escapes other than
 * `\" \\ \n \r \t` are errors, so that everything it accepts in sorted order
 * prints back byte for byte.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"
import { Either } from "effect"
import type { Derivation, DerivationOutput } from "../../schema/Derivation.js"
import { DerivationParseError } from "./errors.js"

/** Options for {@link parseDerivation}. */
export interface ParseOptions {
  /** The file the bytes came from; named in errors and used to derive `name`. */
  readonly file?: string
  /** The derivation name; by default taken from `file` (minus hash and `.drv`), else `env.name`. */
  readonly name?: string
}

/** Options for {@link printDerivation}. */
export interface PrintOptions {
  /** Print input-addressed output paths, and env vars named after outputs, as `""` (for hashing). */
  readonly maskOutputs?: boolean
  /** Print these input derivations instead of `drv.inputDrvs` (hashDerivationModulo's substitution). */
  readonly inputDrvs?: ReadonlyMap<string, Iterable<string>>
}

/**
 * The derivation name implied by a `.drv` file name or store path:
 * the base name without a 32-char hash part and without `.drv`.
 */
export const derivationNameFromPath = (file: string): string => {
  const base = file.slice(file.lastIndexOf("/") + 1)
  const noHash = /^[0-9a-df-np-sv-z]{32}-/.test(base) ? base.slice(33) : base
  return noHash.endsWith(".drv") ? noHash.slice(0, -4) : noHash
}

/** Internal sentinel used to unwind the parser; never escapes this module. */
class Fail {
  constructor(readonly offset: number, readonly expected: string, readonly found?: string) {}
}

const describeAt = (b: Uint8Array, offset: number): string => {
  if (offset >= b.length) return "end of input"
  const end = Math.min(b.length, offset + 12)
  let s = ""
  for (let i = offset; i < end; i++) s += String.fromCharCode(b[i]!)
  return JSON.stringify(s) + (end < b.length ? "…" : "")
}

const lineColumn = (b: Uint8Array, offset: number): { line: number; column: number } => {
  let line = 1
  let lineStart = 0
  const stop = Math.min(offset, b.length)
  for (let i = 0; i < stop; i++) {
    if (b[i] === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { line, column: offset - lineStart + 1 }
}

const DERIVE = [68, 101, 114, 105, 118, 101, 40] // "Derive("

/**
 * Parses the bytes of a `.drv` file. Never throws: every malformed input
 * (empty, truncated, trailing bytes, bad escape, duplicate key) is a
 * {@link DerivationParseError} naming the file, byte offset, line, column and
 * what was expected.
 */
export const parseDerivation = (
  bytes: Uint8Array,
  options: ParseOptions = {}
): Either.Either<Derivation, DerivationParseError> => {
  const b = bytes
  const n = b.length
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  let pos = 0

  const fail = (expected: string, at: number = pos, found?: string): never => {
    throw new Fail(at, expected, found)
  }
  const expect = (c: number, what: string): void => {
    if (b[pos] !== c) fail(what)
    pos++
  }
  const slice = (start: number, end: number): string => {
    if (end - start < 24) {
      let s = ""
      for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!)
      return s
    }
    return buf.toString("latin1", start, end)
  }
  const strSlow = (start: number): string => {
    // pos is at the first backslash; start is just after the opening quote.
    const parts: Array<string> = [slice(start, pos)]
    let chunk = pos
    for (;;) {
      if (pos >= n) fail("'\"' closing the string opened at byte " + (start - 1))
      const c = b[pos]
      if (c === 34) {
        parts.push(slice(chunk, pos))
        pos++
        return parts.join("")
      }
      if (c === 92) {
        parts.push(slice(chunk, pos))
        const e = b[pos + 1]
        if (e === 110) parts.push("\n")
        else if (e === 114) parts.push("\r")
        else if (e === 116) parts.push("\t")
        else if (e === 34) parts.push("\"")
        else if (e === 92) parts.push("\\")
        else if (e === undefined) fail("'\"' closing the string opened at byte " + (start - 1), pos + 1)
        else fail("an escape (\\\" \\\\ \\n \\r \\t)", pos)
        pos += 2
        chunk = pos
        continue
      }
      pos++
    }
  }
  const str = (): string => {
    if (b[pos] !== 34) fail("'\"' (a string)")
    const start = ++pos
    for (;;) {
      if (pos >= n) fail("'\"' closing the string opened at byte " + (start - 1))
      const c = b[pos]
      if (c === 34) {
        const s = slice(start, pos)
        pos++
        return s
      }
      if (c === 92) return strSlow(start)
      pos++
    }
  }
  /** After a list element: true when the list ended. */
  const next = (): boolean => {
    const c = b[pos]
    if (c === 44) {
      pos++
      return false
    }
    if (c === 93) {
      pos++
      return true
    }
    return fail("',' or ']'")
  }
  const open = (): boolean => {
    expect(91, "'[' (a list)")
    if (b[pos] === 93) {
      pos++
      return true
    }
    return false
  }
  /** A list of strings without duplicates. */
  const strSet = (what: string): Array<string> => {
    const out: Array<string> = []
    if (open()) return out
    let seen: Set<string> | undefined
    do {
      const at = pos
      const s = str()
      const prev = out[out.length - 1]
      // Sorted input needs only a comparison with the previous element; the
      // first out-of-order element switches to a set of everything seen.
      if (seen === undefined && prev !== undefined && !(s > prev)) seen = new Set(out)
      if (seen !== undefined) {
        if (seen.has(s)) fail(`a ${what} not already listed`, at, `duplicate ${JSON.stringify(s)}`)
        seen.add(s)
      }
      out.push(s)
    } while (!next())
    return out
  }
  const dup = (what: string, at: number, key: string): never =>
    fail(`a ${what} not already listed`, at, `duplicate ${JSON.stringify(key)}`)

  try {
    for (let i = 0; i < DERIVE.length; i++) {
      if (b[pos] !== DERIVE[i]) fail("'Derive(' at the start of a derivation")
      pos++
    }
    // outputs
    const outputs = new Map<string, DerivationOutput>()
    if (!open()) {
      do {
        expect(40, "'(' (an output)")
        const at = pos
        const name = str()
        expect(44, "','")
        const path = str()
        expect(44, "','")
        const hashAlgo = str()
        expect(44, "','")
        const hash = str()
        expect(41, "')'")
        const size = outputs.size
        outputs.set(name, { path, hashAlgo, hash })
        if (outputs.size === size) dup("output name", at, name)
      } while (!next())
    }
    expect(44, "','")
    // inputDrvs
    const inputDrvs = new Map<string, ReadonlyArray<string>>()
    if (!open()) {
      do {
        expect(40, "'(' (an input derivation)")
        const at = pos
        const path = str()
        expect(44, "','")
        const outs = strSet("output name")
        expect(41, "')'")
        const size = inputDrvs.size
        inputDrvs.set(path, outs)
        if (inputDrvs.size === size) dup("input derivation", at, path)
      } while (!next())
    }
    expect(44, "','")
    const inputSrcs = strSet("input source")
    expect(44, "','")
    const system = str()
    expect(44, "','")
    const builder = str()
    expect(44, "','")
    const args: Array<string> = []
    if (!open()) {
      do args.push(str())
      while (!next())
    }
    expect(44, "','")
    const env = new Map<string, string>()
    if (!open()) {
      do {
        expect(40, "'(' (an environment variable)")
        const at = pos
        const key = str()
        expect(44, "','")
        const value = str()
        expect(41, "')'")
        const size = env.size
        env.set(key, value)
        if (env.size === size) dup("environment variable", at, key)
      } while (!next())
    }
    expect(41, "')' closing Derive(")
    if (pos !== n) fail("end of input")
    const name = options.name ?? (options.file !== undefined ? derivationNameFromPath(options.file) : env.get("name") ?? "")
    return Either.right({ name, outputs, inputDrvs, inputSrcs, system, builder, args, env })
  } catch (e) {
    if (!(e instanceof Fail)) throw e
    const { line, column } = lineColumn(b, e.offset)
    return Either.left(
      new DerivationParseError({
        ...(options.file !== undefined ? { file: options.file } : {}),
        offset: e.offset,
        line,
        column,
        expected: e.expected,
        found: e.found ?? describeAt(b, e.offset)
      })
    )
  }
}

const ESCAPE = /["\\\n\r\t]/
const ESCAPE_ALL = /["\\\n\r\t]/g
const escapeChar = (c: string): string =>
  c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : c === "\"" ? "\\\"" : "\\\\"

/** A quoted ATerm string with Nix's escapes. */
export const quote = (s: string): string =>
  ESCAPE.test(s) ? "\"" + s.replace(ESCAPE_ALL, escapeChar) + "\"" : "\"" + s + "\""

/** The entries of a map sorted by key (byte order), without copying work when already sorted. */
const sortedEntries = <V>(m: ReadonlyMap<string, V>): ReadonlyArray<readonly [string, V]> => {
  const arr = Array.from(m)
  for (let i = 1; i < arr.length; i++) {
    if (!(arr[i]![0] > arr[i - 1]![0])) return arr.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  }
  return arr
}

const sortedStrings = (xs: Iterable<string>): ReadonlyArray<string> => {
  const arr = Array.from(new Set(xs))
  for (let i = 1; i < arr.length; i++) {
    if (!(arr[i]! > arr[i - 1]!)) return arr.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
  }
  return arr
}

const quoteList = (xs: Iterable<string>): string => {
  let s = "["
  let first = true
  for (const x of xs) {
    if (first) first = false
    else s += ","
    s += quote(x)
  }
  return s + "]"
}

/**
 * The ATerm of a derivation as a byte string (one code unit per byte).
 * Outputs, input derivations, input sources and env are written sorted and
 * de-duplicated, as Nix writes them.
 */
export const printDerivationString = (drv: Derivation, options: PrintOptions = {}): string => {
  const mask = options.maskOutputs === true
  let s = "Derive(["
  let first = true
  for (const [name, o] of sortedEntries(drv.outputs)) {
    if (first) first = false
    else s += ","
    const path = mask && o.hashAlgo === "" ? "" : o.path
    s += "(" + quote(name) + "," + quote(path) + "," + quote(o.hashAlgo) + "," + quote(o.hash) + ")"
  }
  s += "],["
  first = true
  for (const [path, outs] of sortedEntries(options.inputDrvs ?? drv.inputDrvs)) {
    if (first) first = false
    else s += ","
    s += "(" + quote(path) + "," + quoteList(sortedStrings(outs)) + ")"
  }
  s += "]," + quoteList(sortedStrings(drv.inputSrcs)) + "," + quote(drv.system) + "," + quote(drv.builder) + ","
  s += quoteList(drv.args) + ",["
  first = true
  for (const [key, value] of sortedEntries(drv.env)) {
    if (first) first = false
    else s += ","
    s += "(" + quote(key) + "," + (mask && drv.outputs.has(key) ? "\"\"" : quote(value)) + ")"
  }
  return s + "])"
}

/** The bytes of a derivation's ATerm, exactly as Nix 2.8 writes the `.drv` file. */
export const printDerivation = (drv: Derivation, options: PrintOptions = {}): Uint8Array =>
  Buffer.from(printDerivationString(drv, options), "latin1")
