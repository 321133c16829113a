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
import type { Derivation, DerivationOutput } from "./schema.js"
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

/** Node's undocumented (but long-standing) fast latin1 decoder on Buffer. */
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string
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
  // Decode the whole file once (latin1: char i is byte i); every string is
  // then an O(1) slice of it, which is much cheaper than decoding each one.
  const text = (Buffer.from(b.buffer, b.byteOffset, b.byteLength) as unknown as Latin1Slicer).latin1Slice(0, n)
  let pos = 0

  const fail = (expected: string, at: number = pos, found?: string): never => {
    throw new Fail(at, expected, found)
  }
  const expect = (c: number, what: string): void => {
    if (b[pos] !== c) fail(what)
    pos++
  }
  const slice = (start: number, end: number): string => text.slice(start, end)
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
  // Position of the next backslash at or after `pos` (n if none), found with
  // the native indexOf and cached, so all searches together cost O(n).
  let nextBackslash = -1
  const str = (): string => {
    if (b[pos] !== 34) fail("'\"' (a string)")
    const start = ++pos
    const q = b.indexOf(34, start)
    if (q < 0) {
      pos = n
      fail("'\"' closing the string opened at byte " + (start - 1))
    }
    if (nextBackslash < start) {
      nextBackslash = b.indexOf(92, start)
      if (nextBackslash < 0) nextBackslash = n
    }
    if (nextBackslash < q) {
      pos = nextBackslash
      return strSlow(start)
    }
    pos = q + 1
    return slice(start, q)
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
    const name = options.name ??
      (options.file !== undefined ? derivationNameFromPath(options.file) : env.get("name") ?? "")
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

const byteOrder = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0)

/** The keys of a map in byte order: `null` when the map is already sorted (iterate it directly). */
const sortedKeys = (m: ReadonlyMap<string, unknown>): Array<string> | null => {
  let prev: string | undefined
  for (const k of m.keys()) {
    if (prev !== undefined && !(k > prev)) return Array.from(m.keys()).sort(byteOrder)
    prev = k
  }
  return null
}

/** Strings sorted and de-duplicated (as Nix's sets are), without copying when they already are. */
const sortedStrings = (xs: Iterable<string>): ReadonlyArray<string> => {
  if (Array.isArray(xs)) {
    const arr = xs as ReadonlyArray<string>
    let ok = true
    for (let i = 1; i < arr.length; i++) {
      if (!(arr[i]! > arr[i - 1]!)) {
        ok = false
        break
      }
    }
    if (ok) return arr
  }
  return Array.from(new Set(xs)).sort(byteOrder)
}

/** A byte string for `s`: code units up to 0xff kept, wider characters as their UTF-8 bytes. */
const widen = (s: string): string => {
  let out = ""
  for (const ch of s) out += ch.charCodeAt(0) > 0xff ? Buffer.from(ch, "utf8").toString("latin1") : ch
  return out
}

/**
 * A growable byte buffer. Strings are written one code unit per byte; a code
 * unit above 0xff (a string that is not a byte string) is written as its
 * UTF-8 encoding rather than corrupted.
 */
class Writer {
  buf: Uint8Array
  pos = 0
  constructor(buf: Uint8Array) {
    this.buf = buf
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }
  /** Writes ASCII punctuation (no escaping). */
  raw(s: string): void {
    this.ensure(s.length)
    const b = this.buf
    for (let i = 0; i < s.length; i++) b[this.pos++] = s.charCodeAt(i)
  }
  /** Writes `"s"` with Nix's ATerm escapes. */
  quoted(s: string): void {
    this.ensure(s.length * 2 + 2)
    const b = this.buf
    let p = this.pos
    b[p++] = 34
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c > 92) {
        if (c > 0xff) {
          // Not a byte string: start again with its wide characters as UTF-8.
          this.quoted(widen(s))
          return
        }
        b[p++] = c
      } else if (c === 34 || c === 92) {
        b[p++] = 92
        b[p++] = c
      } else if (c === 10) {
        b[p++] = 92
        b[p++] = 110
      } else if (c === 13) {
        b[p++] = 92
        b[p++] = 114
      } else if (c === 9) {
        b[p++] = 92
        b[p++] = 116
      } else b[p++] = c
    }
    b[p++] = 34
    this.pos = p
  }
  list(xs: Iterable<string>): void {
    this.raw("[")
    let first = true
    for (const x of xs) {
      if (first) first = false
      else this.raw(",")
      this.quoted(x)
    }
    this.raw("]")
  }
  /** A copy of what was written. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

/** Reused output buffer (printing is synchronous, so one suffices). */
let scratch: Uint8Array = new Uint8Array(64 * 1024)

/** The bytes of a derivation's ATerm, exactly as Nix 2.8 writes the `.drv` file. */
export const printDerivation = (drv: Derivation, options: PrintOptions = {}): Uint8Array => {
  const mask = options.maskOutputs === true
  const w = new Writer(scratch)
  w.raw("Derive([")
  let first = true
  const outputKeys = sortedKeys(drv.outputs)
  for (const name of outputKeys ?? drv.outputs.keys()) {
    const o = drv.outputs.get(name)!
    if (first) first = false
    else w.raw(",")
    w.raw("(")
    w.quoted(name)
    w.raw(",")
    w.quoted(mask && o.hashAlgo === "" ? "" : o.path)
    w.raw(",")
    w.quoted(o.hashAlgo)
    w.raw(",")
    w.quoted(o.hash)
    w.raw(")")
  }
  w.raw("],[")
  first = true
  const inputDrvs = options.inputDrvs ?? drv.inputDrvs
  for (const path of sortedKeys(inputDrvs) ?? inputDrvs.keys()) {
    const outs = inputDrvs.get(path)!
    if (first) first = false
    else w.raw(",")
    w.raw("(")
    w.quoted(path)
    w.raw(",")
    w.list(sortedStrings(outs))
    w.raw(")")
  }
  w.raw("],")
  w.list(sortedStrings(drv.inputSrcs))
  w.raw(",")
  w.quoted(drv.system)
  w.raw(",")
  w.quoted(drv.builder)
  w.raw(",")
  w.list(drv.args)
  w.raw(",[")
  first = true
  for (const key of sortedKeys(drv.env) ?? drv.env.keys()) {
    const value = drv.env.get(key)!
    if (first) first = false
    else w.raw(",")
    w.raw("(")
    w.quoted(key)
    w.raw(",")
    w.quoted(mask && drv.outputs.has(key) ? "" : value)
    w.raw(")")
  }
  w.raw("])")
  const out = w.bytes()
  // Keep a grown scratch buffer for next time, unless it got huge.
  if (w.buf.length <= 4 * 1024 * 1024) scratch = w.buf
  return out
}

/** The ATerm of a derivation as a byte string (one code unit per byte); see {@link printDerivation}. */
export const printDerivationString = (drv: Derivation, options: PrintOptions = {}): string => {
  const b = printDerivation(drv, options)
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")
}
