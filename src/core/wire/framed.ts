/**
 * Framed streams (worker protocol >= 1.23): chunks of u64 length + bytes, no
 * padding, ended by a chunk of length 0.
 *
 * @since 0.1.0
 */
import { getU64, type NeedInput, needInput } from "./decode.js"
import { type WireError, WireIntegerError, WireTruncatedError } from "./errors.js"

const EMPTY = new Uint8Array(0)

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
