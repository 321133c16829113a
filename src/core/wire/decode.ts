/**
 * Incremental decoding of Nix's wire primitives: a {@link WireReader} buffers
 * fed chunks and answers a {@link Decoder}'s value, {@link needInput} or a
 * typed error, consuming nothing until a value is complete.
 *
 * @since 0.1.0
 */
import { padLength } from "./encode.js"
import {
  isWireError,
  type WireError,
  WireIntegerError,
  WireLengthError,
  WirePaddingError,
  WireTruncatedError
} from "./errors.js"

const utf8Decoder = new TextDecoder()

/** The answer "feed more input and ask again" (nothing was consumed). */
export interface NeedInput {
  readonly _tag: "NeedInput"
}

/** The one {@link NeedInput} value. */
export const needInput: NeedInput = { _tag: "NeedInput" }

/** True for {@link needInput}. */
export const isNeedInput = (x: unknown): x is NeedInput => x === needInput

/** Thrown inside decoders when the buffered input is too short; never escapes {@link WireReader.read}. */
const NEED_MORE: unique symbol = Symbol("tsnix/wire/needMore")

/** What a decoder reads from: bytes at a position, in chunks. */
export interface WireInput {
  /** Exactly `n` bytes (a view when they lie in one chunk, else a copy). */
  readonly take: (n: number) => Uint8Array
  /** Absolute offset of the next byte (bytes consumed by the reader before it, plus those taken). */
  readonly offset: number
}

/** Reads one value; throws a {@link WireError} for bad input. */
export type Decoder<A> = (input: WireInput) => A

const EMPTY = new Uint8Array(0)

/**
 * Buffers fed chunks and decodes values from them, all-or-nothing: a value that
 * is not complete yet consumes nothing and answers {@link needInput}, unless
 * {@link WireReader.end} was called, in which case it is a
 * {@link WireTruncatedError}.
 */
export class WireReader implements WireInput {
  private chunks: Array<Uint8Array> = []
  /** Position inside chunks[0] of the committed start. */
  private head = 0
  /** Cursor of the value being decoded: chunk index and position inside it. */
  private ci = 0
  private cp = 0
  private committed = 0
  private taken = 0
  private eof = false

  /** Appends a chunk (kept by reference: do not modify it while it is buffered). */
  feed(chunk: Uint8Array): void {
    if (chunk.length > 0) this.chunks.push(chunk)
  }

  /** Signals the end of input: an incomplete value is then a truncation error. */
  end(): void {
    this.eof = true
  }

  /** True once `end` was called. */
  get ended(): boolean {
    return this.eof
  }

  /** Bytes consumed by the values decoded so far. */
  get bytesConsumed(): number {
    return this.committed
  }

  /** Absolute offset of the next byte a decoder takes. */
  get offset(): number {
    return this.committed + this.taken
  }

  /** Number of buffered, unconsumed bytes. */
  get buffered(): number {
    let n = -this.head
    for (const c of this.chunks) n += c.length
    return n
  }

  /** Takes all buffered, unconsumed bytes out of the reader (e.g. to hand them to a NAR parser). */
  takeRemainder(): Array<Uint8Array> {
    const out = this.chunks.map((c, i) => (i === 0 ? c.subarray(this.head) : c)).filter((c) => c.length > 0)
    for (const c of out) this.committed += c.length
    this.chunks = []
    this.head = 0
    return out
  }

  /**
   * Sets the absolute offset of the next byte, for bytes consumed elsewhere in
   * between (a NAR handed to its parser with {@link takeRemainder}). Only valid
   * while nothing is buffered.
   */
  setOffset(offset: number): void {
    if (this.buffered > 0) throw new Error("WireReader.setOffset: bytes are still buffered")
    this.committed = offset
  }

  /**
   * Decodes one value: the value, {@link needInput}, or the {@link WireError}
   * that makes the input invalid. A decoder that throws errors of its own (a
   * format's framing errors) names them with `isError`; anything else it throws
   * is a defect and propagates.
   */
  read<A, E = never>(decoder: Decoder<A>, isError?: (e: unknown) => e is E): A | NeedInput | WireError | E {
    this.ci = 0
    this.cp = this.head
    this.taken = 0
    try {
      const value = decoder(this)
      this.commit()
      return value
    } catch (e) {
      this.taken = 0
      if (e === NEED_MORE) return needInput
      if (isWireError(e)) return e
      if (isError !== undefined && isError(e)) return e
      throw e
    }
  }

  /** See {@link WireInput.take}. */
  take = (n: number): Uint8Array => {
    const first = this.chunks[this.ci]
    if (first !== undefined && first.length - this.cp >= n) {
      const out = first.subarray(this.cp, this.cp + n)
      this.cp += n
      this.taken += n
      return out
    }
    // Across chunks: check the bytes are there before copying.
    let available = 0
    for (let i = this.ci; i < this.chunks.length && available < n; i++) {
      available += (this.chunks[i] as Uint8Array).length - (i === this.ci ? this.cp : 0)
    }
    if (available < n) {
      if (this.eof) {
        throw new WireTruncatedError({ offset: this.committed + this.taken, expected: n, got: available })
      }
      throw NEED_MORE
    }
    const out = new Uint8Array(n)
    let got = 0
    while (got < n) {
      const c = this.chunks[this.ci] as Uint8Array
      const k = Math.min(n - got, c.length - this.cp)
      out.set(c.subarray(this.cp, this.cp + k), got)
      got += k
      this.cp += k
      if (this.cp === c.length) {
        this.ci++
        this.cp = 0
      }
    }
    this.taken += n
    return out
  }

  private commit(): void {
    // Drop fully consumed chunks; keep the partly consumed one.
    let ci = this.ci
    let cp = this.cp
    const c = this.chunks[ci]
    if (c !== undefined && cp === c.length) {
      ci++
      cp = 0
    }
    if (ci > 0) this.chunks = this.chunks.slice(ci)
    this.head = this.chunks.length === 0 ? 0 : cp
    this.committed += this.taken
    this.taken = 0
    this.ci = 0
    this.cp = this.head
  }
}

/** Reads a little-endian u64 from 8 bytes at `offset`. */
export const getU64 = (b: Uint8Array, offset = 0): bigint => {
  const lo = ((b[offset] as number) | ((b[offset + 1] as number) << 8) | ((b[offset + 2] as number) << 16) |
    ((b[offset + 3] as number) << 24)) >>> 0
  const hi = ((b[offset + 4] as number) | ((b[offset + 5] as number) << 8) | ((b[offset + 6] as number) << 16) |
    ((b[offset + 7] as number) << 24)) >>> 0
  return (BigInt(hi) << 32n) | BigInt(lo)
}

/** A u64, as a bigint (every value is valid). */
export const u64: Decoder<bigint> = (input) => getU64(input.take(8))

/** A u64 that must be at most `max` (a safe integer), as a number; `what` names it in the error. */
export const u64Bounded = (max: number, what = "integer"): Decoder<number> => (input) => {
  const offset = input.offset
  const v = u64(input)
  if (v > BigInt(max)) throw new WireIntegerError({ offset, what, value: v, max })
  return Number(v)
}

/** A boolean: any non-zero u64 is true, as Nix reads it. */
export const bool: Decoder<boolean> = (input) => u64(input) !== 0n

/** Padded bytes of at most `maxLength` bytes; `what` names them in errors. */
export const paddedBytes = (maxLength: number, what = "string"): Decoder<Uint8Array> => (input) => {
  const offset = input.offset
  const len = u64(input)
  if (len > BigInt(maxLength)) throw new WireLengthError({ offset, what, length: len, max: maxLength })
  const n = Number(len)
  const padded = n + padLength(n)
  if (padded === 0) return EMPTY
  const bytes = input.take(padded)
  for (let i = n; i < padded; i++) {
    if (bytes[i] !== 0) throw new WirePaddingError({ offset: input.offset - padded + i, what })
  }
  return bytes.subarray(0, n)
}

/** A padded string of at most `maxLength` bytes, decoded as UTF-8. */
export const paddedString = (maxLength: number, what = "string"): Decoder<string> => {
  const read = paddedBytes(maxLength, what)
  return (input) => utf8Decoder.decode(read(input))
}

/** A list: u64 count (at most `maxCount`), then each element. */
export const list = <A>(item: Decoder<A>, maxCount: number, what = "list"): Decoder<Array<A>> => {
  const count = u64Bounded(maxCount, `the length of ${what}`)
  return (input) => {
    const n = count(input)
    const out: Array<A> = []
    for (let i = 0; i < n; i++) out.push(item(input))
    return out
  }
}

/** A list of padded strings. */
export const strings = (maxCount: number, maxLength: number, what = "string"): Decoder<Array<string>> =>
  list(paddedString(maxLength, what), maxCount, `${what} list`)
