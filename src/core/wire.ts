/**
 * Nix's wire primitives (pure: no I/O), as the worker protocol, `nix-store
 * --export` and NARs write them:
 *
 * - integers: u64 little-endian;
 * - strings and bytes: u64 length, the bytes, zero padding to a multiple of 8;
 * - lists: u64 count, then each element;
 * - framed streams (worker protocol >= 1.23): chunks of u64 length + bytes (no
 *   padding), ended by a chunk of length 0.
 *
 * Decoding is incremental: feed chunks to a {@link WireReader} and ask it for a
 * value with a {@link Decoder}; it answers with the value, {@link needInput}
 * (nothing consumed: feed more and ask again) or a typed {@link WireError}.
 * Decoders are plain functions and compose as such. Lengths are bounded by the
 * caller, so a hostile length never makes the reader allocate.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder()

// ---------------------------------------------------------------------------------------------
// Encoding

/** Bytes of a string (UTF-8) or the bytes themselves. */
export const toBytes = (s: string | Uint8Array): Uint8Array => (typeof s === "string" ? utf8Encoder.encode(s) : s)

/** Number of zero bytes that pad `n` bytes to a multiple of 8. */
export const padLength = (n: number): number => (8 - (n % 8)) % 8

/** Size of a padded string of `n` bytes: length word, payload, padding. */
export const strLength = (n: number): number => 8 + n + padLength(n)

/** Writes `n` as a little-endian u64 at `offset`; `n` must be a non-negative safe integer or a bigint. */
export const writeU64 = (buf: Uint8Array, offset: number, n: number | bigint): void => {
  let lo: number
  let hi: number
  if (typeof n === "number") {
    lo = n >>> 0
    hi = Math.floor(n / 0x100000000) >>> 0
  } else {
    lo = Number(n & 0xffffffffn)
    hi = Number((n >> 32n) & 0xffffffffn)
  }
  buf[offset] = lo & 0xff
  buf[offset + 1] = (lo >>> 8) & 0xff
  buf[offset + 2] = (lo >>> 16) & 0xff
  buf[offset + 3] = lo >>> 24
  buf[offset + 4] = hi & 0xff
  buf[offset + 5] = (hi >>> 8) & 0xff
  buf[offset + 6] = (hi >>> 16) & 0xff
  buf[offset + 7] = hi >>> 24
}

/** A little-endian u64 as 8 bytes (bigint allowed, so tests can encode absurd lengths). */
export const encodeU64 = (n: number | bigint): Uint8Array => {
  const out = new Uint8Array(8)
  writeU64(out, 0, n)
  return out
}

/** A boolean as Nix writes it: u64 1 or 0. */
export const encodeBool = (b: boolean): Uint8Array => encodeU64(b ? 1 : 0)

/** Writes a padded string of `bytes` at `offset` (padding bytes are zeroed); returns the offset after it. */
export const writePadded = (buf: Uint8Array, offset: number, bytes: Uint8Array): number => {
  writeU64(buf, offset, bytes.length)
  buf.set(bytes, offset + 8)
  const end = offset + 8 + bytes.length
  const pad = padLength(bytes.length)
  buf.fill(0, end, end + pad)
  return end + pad
}

/** A string or bytes as Nix writes them: u64 length, the bytes, zero padding to a multiple of 8. */
export const encodePadded = (s: string | Uint8Array): Uint8Array => {
  const bytes = toBytes(s)
  const out = new Uint8Array(strLength(bytes.length))
  writePadded(out, 0, bytes)
  return out
}

/** Concatenates byte arrays. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** A list of strings: u64 count, then each padded string. */
export const encodeStrings = (items: ReadonlyArray<string | Uint8Array>): Uint8Array =>
  concatBytes([encodeU64(items.length), ...items.map(encodePadded)])

/** One frame of a framed stream: u64 length, then the bytes (no padding). An empty chunk writes nothing. */
export const encodeFrame = (chunk: Uint8Array): Uint8Array =>
  chunk.length === 0 ? new Uint8Array(0) : concatBytes([encodeU64(chunk.length), chunk])

/** The frame that ends a framed stream: u64 0. */
export const FRAMED_END: Uint8Array = encodeU64(0)

/** A whole framed stream of `chunks` (one frame per non-empty chunk), terminator included. */
export const encodeFramed = (chunks: Iterable<Uint8Array>): Uint8Array => {
  const parts: Array<Uint8Array> = []
  for (const c of chunks) if (c.length > 0) parts.push(encodeU64(c.length), c)
  parts.push(FRAMED_END)
  return concatBytes(parts)
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The input ended inside a value: `expected` bytes were wanted, `got` were there. */
export class WireTruncatedError extends Data.TaggedError("WireTruncatedError")<{
  readonly offset: number
  readonly expected: number
  readonly got: number
}> {
  override get message(): string {
    return `unexpected end of input: expected ${this.expected} bytes, got ${this.got}`
  }
}

/** The padding after a string was not zero. */
export class WirePaddingError extends Data.TaggedError("WirePaddingError")<{
  readonly offset: number
  readonly what: string
}> {
  override get message(): string {
    return `non-zero padding after ${this.what}`
  }
}

/** A string's length is above the bound the caller set. */
export class WireLengthError extends Data.TaggedError("WireLengthError")<{
  readonly offset: number
  readonly what: string
  readonly length: bigint
  readonly max: number
}> {
  override get message(): string {
    return `${this.what} is ${this.length} bytes long, which is absurd`
  }
}

/** An integer (a count, a size) is above the bound the caller set (Nix: "too large for type"). */
export class WireIntegerError extends Data.TaggedError("WireIntegerError")<{
  readonly offset: number
  readonly what: string
  readonly value: bigint
  readonly max: number
}> {
  override get message(): string {
    return `serialised integer ${this.value} is too large for ${this.what}`
  }
}

/** Any malformed wire input. */
export type WireError = WireTruncatedError | WirePaddingError | WireLengthError | WireIntegerError

// ---------------------------------------------------------------------------------------------
// Decoding

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

/** True for the errors of this module. */
export const isWireError = (e: unknown): e is WireError =>
  e instanceof WireTruncatedError || e instanceof WirePaddingError || e instanceof WireLengthError ||
  e instanceof WireIntegerError

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

// ---------------------------------------------------------------------------------------------
// Framed streams

/** What a {@link FramedDecoder} produces. */
export type FramedEvent =
  /** Payload bytes (a view into a fed chunk, valid until the next `feed`). */
  | { readonly _tag: "Data"; readonly chunk: Uint8Array }
  /** The terminating empty frame was read; `remainder()` holds what follows it. */
  | { readonly _tag: "End" }
  | NeedInput

const FRAMED_END_EVENT: FramedEvent = { _tag: "End" }

/**
 * An incremental decoder of a framed stream. It streams each frame's payload as
 * it arrives (frames of any size, never buffered whole) and stops exactly after
 * the terminator, so the framed stream can be embedded in a larger one.
 */
export class FramedDecoder {
  private chunk: Uint8Array = EMPTY
  private pos = 0
  private base = 0
  private eof = false
  private readonly header = new Uint8Array(8)
  private headerLen = 0
  private remaining = 0
  private finished = false
  private failure: WireError | undefined = undefined

  /** Supplies the next chunk; only valid after `next()` returned `NeedInput`. */
  feed(chunk: Uint8Array): void {
    if (this.pos < this.chunk.length) throw new Error("FramedDecoder.feed: the previous chunk is not consumed yet")
    this.base += this.chunk.length
    this.chunk = chunk
    this.pos = 0
  }

  /** Signals the end of input: a stream without its terminator is then truncated. */
  end(): void {
    this.eof = true
  }

  /** True once the terminator was read. */
  get done(): boolean {
    return this.finished
  }

  /** Bytes of the framed stream consumed so far, headers included. */
  get bytesConsumed(): number {
    return this.base + this.pos
  }

  /** Unconsumed bytes of the current chunk (what follows the stream once `End` was returned). */
  remainder(): Uint8Array {
    return this.chunk.subarray(this.pos)
  }

  /** The next event, or the (sticky) error. */
  next(): FramedEvent | WireError {
    if (this.failure !== undefined) return this.failure
    if (this.finished) return FRAMED_END_EVENT
    const available = this.chunk.length - this.pos
    if (this.remaining > 0) {
      if (available === 0) return this.needInput(this.remaining, 0)
      const k = Math.min(this.remaining, available)
      const out = this.chunk.subarray(this.pos, this.pos + k)
      this.pos += k
      this.remaining -= k
      return { _tag: "Data", chunk: out }
    }
    // A frame header, possibly split across chunks.
    if (this.headerLen === 0 && available >= 8) {
      return this.startFrame(getU64(this.chunk, this.pos), 8)
    }
    const k = Math.min(8 - this.headerLen, available)
    this.header.set(this.chunk.subarray(this.pos, this.pos + k), this.headerLen)
    this.headerLen += k
    this.pos += k
    if (this.headerLen < 8) return this.needInput(8, this.headerLen)
    this.headerLen = 0
    return this.startFrame(getU64(this.header), 0)
  }

  /** Starts the frame whose header was just read; `advance` is what of the header is still to skip. */
  private startFrame(len: bigint, advance: number): FramedEvent | WireError {
    this.pos += advance
    const offset = this.base + this.pos - 8
    if (len === 0n) {
      this.finished = true
      return FRAMED_END_EVENT
    }
    if (len > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.failure = new WireIntegerError({ offset, what: "a frame length", value: len, max: Number.MAX_SAFE_INTEGER })
      return this.failure
    }
    this.remaining = Number(len)
    return this.next()
  }

  private needInput(expected: number, got: number): FramedEvent | WireError {
    if (this.eof) {
      this.failure = new WireTruncatedError({ offset: this.base + this.pos, expected, got })
      return this.failure
    }
    return needInput
  }
}
