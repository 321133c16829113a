/**
 * The `nix-store --export` format (pure: no I/O), built on the wire primitives.
 *
 * Per path: u64 1, the path's NAR, u64 0x4558494e ("NIXE"), the path, its
 * references (u64 count, then each), its deriver (or ""), u64 0 (no legacy
 * signature; a 1 is followed by a signature string, which is read and
 * ignored, as Nix 2.8 does). After the last path: u64 0. Strings are padded
 * strings (u64 length, bytes, zero padding to 8). The same bytes are the
 * payload of the worker protocol's ImportPaths and ExportPath.
 *
 * Two ways to decode: the {@link exportMarker} and {@link exportTrailer}
 * decoders read the framing around each NAR and leave the NAR to the caller
 * (the store restores it into files as it streams); {@link ExportDecoder}
 * reads a whole stream incrementally, checking each NAR with the strict
 * parser and passing its bytes through.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { NarParseError } from "./nar/errors.js"
import { NarParser } from "./nar/parser.js"
import {
  concatBytes,
  type Decoder,
  encodePadded,
  encodeU64,
  isNeedInput,
  type NeedInput,
  needInput,
  paddedString,
  u64,
  type WireError,
  WireReader
} from "./wire/index.js"

/** The magic number that follows each NAR in an export stream ("NIXE"). */
export const EXPORT_MAGIC = 0x4558494e

/** Longest store path, reference or deriver string accepted. */
export const EXPORT_MAX_STRING = 4096

/** Most references accepted for one path. */
export const EXPORT_MAX_REFERENCES = 1_000_000

/** What follows a path's NAR in an export stream. */
export interface ExportTrailer {
  readonly path: string
  readonly references: ReadonlyArray<string>
  /** The deriver, or undefined when the stream holds "". */
  readonly deriver: string | undefined
}

/** Why an export stream's framing is wrong (not a wire-level problem). */
export type ExportFormatErrorKind = "NotAnExport" | "WrongMagic" | "TooManyReferences"

/** The framing of an export stream is wrong; `reason` is the message the store reports. */
export class ExportFormatError extends Data.TaggedError("ExportFormatError")<{
  readonly kind: ExportFormatErrorKind
  readonly offset: number
  readonly reason: string
}> {
  override get message(): string {
    return `invalid export stream at byte ${this.offset}: ${this.reason}`
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** `u64 1`: a path follows. */
export const EXPORT_PATH_START: Uint8Array = encodeU64(1)

/** `u64 0`: the end of the stream. */
export const EXPORT_END: Uint8Array = encodeU64(0)

/** The bytes that follow a path's NAR: magic, path, references, deriver, no signature. */
export const encodeExportTrailer = (trailer: ExportTrailer): Uint8Array =>
  concatBytes([
    encodeU64(EXPORT_MAGIC),
    encodePadded(trailer.path),
    encodeU64(trailer.references.length),
    ...trailer.references.map((r) => encodePadded(r)),
    encodePadded(trailer.deriver ?? ""),
    encodeU64(0)
  ])

/** One path of an export stream held in memory. */
export interface ExportItem {
  readonly nar: Uint8Array
  readonly trailer: ExportTrailer
}

/** A whole export stream of `items`, in the order given. */
export const encodeExport = (items: ReadonlyArray<ExportItem>): Uint8Array =>
  concatBytes([...items.flatMap((i) => [EXPORT_PATH_START, i.nar, encodeExportTrailer(i.trailer)]), EXPORT_END])

// ---------------------------------------------------------------------------------------------
// Decoding the framing

/** The word before each path and at the end: `"path"` (1) or `"end"` (0); anything else is not an export. */
export const exportMarker: Decoder<"path" | "end"> = (input) => {
  const offset = input.offset
  const n = u64(input)
  if (n === 0n) return "end"
  if (n === 1n) return "path"
  throw new ExportFormatError({
    kind: "NotAnExport",
    offset,
    reason: "input doesn't look like something created by 'nix-store --export'"
  })
}

/** The magic word that starts a trailer. */
export const exportTrailerMagic: Decoder<void> = (input) => {
  const offset = input.offset
  if (u64(input) !== BigInt(EXPORT_MAGIC)) {
    throw new ExportFormatError({ kind: "WrongMagic", offset, reason: "Nix archive cannot be imported; wrong format" })
  }
}

/** The path's string (not checked as a store path: that needs the store directory). */
export const exportPathString: Decoder<string> = paddedString(EXPORT_MAX_STRING, "store path")

/** The number of references (at most {@link EXPORT_MAX_REFERENCES}). */
export const exportReferenceCount: Decoder<number> = (input) => {
  const offset = input.offset
  const count = u64(input)
  if (count > BigInt(EXPORT_MAX_REFERENCES)) {
    throw new ExportFormatError({ kind: "TooManyReferences", offset, reason: `absurd reference count ${count}` })
  }
  return Number(count)
}

/** One reference's string. */
export const exportReferenceString: Decoder<string> = paddedString(EXPORT_MAX_STRING, "reference")

/** The deriver's string ("" for none). */
export const exportDeriverString: Decoder<string> = paddedString(EXPORT_MAX_STRING, "deriver")

const signatureString = paddedString(EXPORT_MAX_STRING, "signature")

/** The legacy signature flag, and the signature when it is 1 (read and ignored, as Nix 2.8 does). */
export const exportLegacySignature: Decoder<void> = (input) => {
  if (u64(input) === 1n) signatureString(input)
}

/**
 * Everything after a path's NAR, up to the next marker. The store reads the
 * same fields one by one (checking each path as it comes), with the decoders
 * above.
 */
export const exportTrailer: Decoder<ExportTrailer> = (input) => {
  exportTrailerMagic(input)
  const path = exportPathString(input)
  const count = exportReferenceCount(input)
  const references: Array<string> = []
  for (let i = 0; i < count; i++) references.push(exportReferenceString(input))
  const deriver = exportDeriverString(input)
  exportLegacySignature(input)
  return { path, references, deriver: deriver === "" ? undefined : deriver }
}

/** True for {@link ExportFormatError}. */
export const isExportFormatError = (e: unknown): e is ExportFormatError => e instanceof ExportFormatError

// ---------------------------------------------------------------------------------------------
// The whole stream

/** What an {@link ExportDecoder} produces. */
export type ExportEvent =
  /** A path begins: its NAR follows. */
  | { readonly _tag: "PathStart" }
  /** Bytes of the current path's NAR, checked by the strict parser (a view, valid until the next `feed`). */
  | { readonly _tag: "NarBytes"; readonly chunk: Uint8Array }
  /** The current path ends: its trailer and NAR size. */
  | { readonly _tag: "PathEnd"; readonly trailer: ExportTrailer; readonly narSize: number }
  /** The end marker was read; `remainder()` holds what follows it. */
  | { readonly _tag: "End" }
  | NeedInput

/** Any error an export stream can have. */
export type ExportDecodeError = WireError | ExportFormatError | NarParseError

const S_MARKER = 0
const S_NAR = 1
const S_TRAILER = 2
const S_DONE = 3

/**
 * An incremental decoder of a whole export stream: feed chunks, pull events.
 * NARs are validated with the strict parser (canonical archives only) and their
 * bytes passed through as they arrive; they are never buffered whole.
 */
export class ExportDecoder {
  private readonly reader = new WireReader()
  private state = S_MARKER
  private nar: NarParser | undefined = undefined
  private narChunks: Array<Uint8Array> = []
  private pendingNar: Array<Uint8Array> = []
  private narStart = 0
  private failure: ExportDecodeError | undefined = undefined
  private eof = false

  /** Supplies the next chunk (kept by reference until consumed). */
  feed(chunk: Uint8Array): void {
    if (this.state === S_NAR) this.pendingNar.push(chunk)
    else this.reader.feed(chunk)
  }

  /** Signals the end of input. */
  end(): void {
    this.eof = true
    this.reader.end()
  }

  /** The unconsumed bytes after the end marker (once `End` was returned). */
  remainder(): Array<Uint8Array> {
    return this.reader.takeRemainder()
  }

  /** The next event, or the (sticky) error that makes the stream invalid. */
  next(): ExportEvent | ExportDecodeError {
    if (this.failure !== undefined) return this.failure
    const r = this.step()
    if (r instanceof Error) this.failure = r
    return r
  }

  private step(): ExportEvent | ExportDecodeError {
    for (;;) {
      switch (this.state) {
        case S_DONE:
          return { _tag: "End" }
        case S_MARKER: {
          const m = this.reader.read(exportMarker, isExportFormatError)
          if (typeof m !== "string") return m
          if (m === "end") {
            this.state = S_DONE
            return { _tag: "End" }
          }
          this.state = S_NAR
          this.narStart = this.reader.bytesConsumed
          this.nar = new NarParser({ onConsumed: (bytes) => this.narChunks.push(bytes) })
          this.pendingNar = this.reader.takeRemainder()
          return { _tag: "PathStart" }
        }
        case S_NAR: {
          const r = this.stepNar()
          if (r !== undefined) return r
          break
        }
        case S_TRAILER: {
          const t = this.reader.read(exportTrailer, isExportFormatError)
          if (isNeedInput(t) || t instanceof Error) return t
          this.state = S_MARKER
          const narSize = (this.nar as NarParser).bytesConsumed
          this.nar = undefined
          return { _tag: "PathEnd", trailer: t, narSize }
        }
      }
    }
  }

  /** Runs the NAR parser; undefined when the NAR is complete (the state then moved on). */
  private stepNar(): ExportEvent | ExportDecodeError | undefined {
    const parser = this.nar as NarParser
    for (;;) {
      const out = this.narChunks.shift()
      if (out !== undefined) return { _tag: "NarBytes", chunk: out }
      const ev = parser.next()
      switch (ev._tag) {
        case "NarParseError":
          return ev
        case "NeedInput": {
          const next = this.pendingNar.shift()
          if (next !== undefined) parser.feed(next)
          else if (this.eof) parser.end()
          else return needInput
          break
        }
        case "End": {
          // The bytes consumed with the last events are handed out first.
          if (this.narChunks.length > 0) break
          this.state = S_TRAILER
          this.reader.setOffset(this.narStart + parser.bytesConsumed)
          this.reader.feed(parser.remainder())
          for (const c of this.pendingNar) this.reader.feed(c)
          this.pendingNar = []
          return undefined
        }
        default:
          break
      }
    }
  }
}
