/**
 * An incremental, strict NAR parser (pure: no I/O).
 *
 * Feed it chunks with {@link NarParser.feed}, pull events with
 * {@link NarParser.next}. It never allocates what a header claims: file
 * contents come out as slices of the input chunks, and names and targets are
 * bounded (255 and 4095 bytes). It accepts only the canonical serialisation
 * (the one `nix-store --dump` writes), so any archive it accepts re-encodes to
 * the same bytes, and it stops exactly at the end of the archive so NARs
 * embedded in larger streams (`nix-store --export`) can be read.
 *
 * @since 0.1.0
 */
import {
  NAR_MAGIC,
  NAR_MAX_CONTENTS_SIZE,
  NAR_MAX_NAME_LENGTH,
  NAR_MAX_TAG_LENGTH,
  NAR_MAX_TARGET_LENGTH
} from "./constants.js"
import { compareBytes, padLength, toBytes } from "./encode.js"
import { NarParseError, type NarParseErrorKind } from "./errors.js"

/** A step of a parsed archive. `name` is the entry name in its parent directory (undefined for the top node). */
export type NarEvent =
  | { readonly _tag: "Directory"; readonly name: Uint8Array | undefined }
  | { readonly _tag: "DirectoryEnd" }
  | {
    readonly _tag: "Regular"
    readonly name: Uint8Array | undefined
    readonly executable: boolean
    readonly size: number
  }
  /** A piece of the current regular file; a view into the fed chunk, valid until the next `feed`. */
  | { readonly _tag: "Contents"; readonly chunk: Uint8Array }
  | { readonly _tag: "RegularEnd" }
  | { readonly _tag: "Symlink"; readonly name: Uint8Array | undefined; readonly target: Uint8Array }
  /** The parser needs another chunk (`feed`) or the end of input (`end`). */
  | { readonly _tag: "NeedInput" }
  /** The archive is complete; `remainder()` holds the unconsumed rest of the last chunk. */
  | { readonly _tag: "End" }

/** Options of a {@link NarParser}. */
export interface NarParserOptions {
  /** Called with every archive byte exactly once, in order (batched per chunk); e.g. to hash the NAR. */
  readonly onConsumed?: (bytes: Uint8Array) => void
}

const EMPTY = new Uint8Array(0)
const NEED_INPUT: NarEvent = { _tag: "NeedInput" }
const END: NarEvent = { _tag: "End" }
const REGULAR_END: NarEvent = { _tag: "RegularEnd" }
const DIRECTORY_END: NarEvent = { _tag: "DirectoryEnd" }

const T_MAGIC = toBytes(NAR_MAGIC)
const T_OPEN = toBytes("(")
const T_CLOSE = toBytes(")")
const T_TYPE = toBytes("type")
const T_REGULAR = toBytes("regular")
const T_SYMLINK = toBytes("symlink")
const T_DIRECTORY = toBytes("directory")
const T_EXECUTABLE = toBytes("executable")
const T_CONTENTS = toBytes("contents")
const T_TARGET = toBytes("target")
const T_ENTRY = toBytes("entry")
const T_NAME = toBytes("name")
const T_NODE = toBytes("node")

// Tags are recognised in place (no view of the input per tag): each known tag has a code.
const K_NEED_INPUT = -1
const K_OTHER = 0
const K_OPEN = 1
const K_CLOSE = 2
const K_TYPE = 3
const K_REGULAR = 4
const K_SYMLINK = 5
const K_DIRECTORY = 6
const K_EXECUTABLE = 7
const K_CONTENTS = 8
const K_TARGET = 9
const K_ENTRY = 10
const K_NAME = 11
const K_NODE = 12

/** The bytes of each tag code (index = code), for messages. */
const TAG_BYTES: ReadonlyArray<Uint8Array> = [
  EMPTY,
  T_OPEN,
  T_CLOSE,
  T_TYPE,
  T_REGULAR,
  T_SYMLINK,
  T_DIRECTORY,
  T_EXECUTABLE,
  T_CONTENTS,
  T_TARGET,
  T_ENTRY,
  T_NAME,
  T_NODE
]

/** Bytes 0-3 of `b` at `i` as a little-endian int32. */
const word = (b: Uint8Array, i: number): number =>
  (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)

/** A known tag: its code, its bytes and its first word (0 for tags shorter than 4 bytes). */
interface KnownTag {
  readonly code: number
  readonly bytes: Uint8Array
  readonly first: number
}

/** Known tags by length. */
const TAGS_BY_LENGTH: ReadonlyArray<ReadonlyArray<KnownTag>> = (() => {
  const out: Array<Array<KnownTag>> = Array.from({ length: NAR_MAX_TAG_LENGTH + 1 }, () => [])
  TAG_BYTES.forEach((bytes, code) => {
    if (code !== K_OTHER) out[bytes.length]?.push({ code, bytes, first: bytes.length >= 4 ? word(bytes, 0) : 0 })
  })
  return out
})()

/** The code of the tag `b[start, start + len)` (K_OTHER for an unknown one); `len` ≤ NAR_MAX_TAG_LENGTH. */
const tagCode = (b: Uint8Array, start: number, len: number): number => {
  const candidates = TAGS_BY_LENGTH[len] as ReadonlyArray<KnownTag>
  if (len === 1) {
    const c0 = b[start]
    for (let c = 0; c < candidates.length; c++) {
      const t = candidates[c] as KnownTag
      if (t.bytes[0] === c0) return t.code
    }
    return K_OTHER
  }
  const first = len >= 4 ? word(b, start) : 0
  outer: for (let c = 0; c < candidates.length; c++) {
    const t = candidates[c] as KnownTag
    if (t.first !== first) continue
    for (let i = len >= 4 ? 4 : 0; i < len; i++) if (b[start + i] !== t.bytes[i]) continue outer
    return t.code
  }
  return K_OTHER
}

/** A plain Uint8Array view of `chunk`: its `subarray` is V8's own (a Buffer's builds a FastBuffer in JavaScript). */
const plainView = (chunk: Uint8Array): Uint8Array =>
  Object.getPrototypeOf(chunk) === Uint8Array.prototype
    ? chunk
    : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)

// Parser states: which token comes next.
const S_MAGIC = 0
const S_OPEN = 1
const S_TYPE_KW = 2
const S_TYPE = 3
const S_REGULAR_TAG = 4
const S_EXEC_MARKER = 5
const S_CONTENTS_KW = 6
const S_SIZE = 7
const S_DATA = 8
const S_PAD = 9
const S_CLOSE_REGULAR = 10
const S_TARGET_KW = 11
const S_TARGET = 12
const S_CLOSE_SYMLINK = 13
const S_DIR_ITEM = 14
const S_ENTRY_OPEN = 15
const S_NAME_KW = 16
const S_NAME = 17
const S_NODE_KW = 18
const S_ENTRY_CLOSE = 19
const S_DONE = 20
/** After `( type regular [executable ""] )`: a file without a `contents` field (Nix 2.8 restores an empty file). */
const S_EMPTY_REGULAR_END = 21

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const show = (b: Uint8Array): string => JSON.stringify(String.fromCharCode(...b.subarray(0, 64)))

/** Reads a little-endian u64; returns Infinity when it exceeds 2^53 - 1. */
const readU64 = (w: Uint8Array, at = 0): number => {
  const lo = ((w[at] as number) | ((w[at + 1] as number) << 8) | ((w[at + 2] as number) << 16) |
    ((w[at + 3] as number) << 24)) >>> 0
  const hi = ((w[at + 4] as number) | ((w[at + 5] as number) << 8) | ((w[at + 6] as number) << 16) |
    ((w[at + 7] as number) << 24)) >>> 0
  return hi > 0x1fffff ? Infinity : hi * 0x100000000 + lo
}

/** Checks an entry name: non-empty, not `.` or `..`, no `/` or NUL. Returns the reason or undefined. */
export const invalidNameReason = (name: Uint8Array): string | undefined => {
  if (name.length === 0) return "empty entry name"
  if (name.length === 1 && name[0] === 0x2e) return "entry name '.'"
  if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) return "entry name '..'"
  for (let i = 0; i < name.length; i++) {
    if (name[i] === 0x2f) return `entry name ${show(name)} contains '/'`
    if (name[i] === 0) return `entry name ${show(name)} contains NUL`
  }
  return undefined
}

/** The incremental strict NAR parser; see the module documentation. */
export class NarParser {
  private chunk: Uint8Array = EMPTY
  private pos = 0
  private base = 0
  private reported = 0
  private eof = false
  private readonly scratch = new Uint8Array(8 + NAR_MAX_TARGET_LENGTH + 8)
  private scratchLen = 0
  private state = S_MAGIC
  private tokenLen = -1
  private size = 0
  private remaining = 0
  private executable = false
  private pendingName: Uint8Array | undefined = undefined
  /** The last tag read that is none of the known ones (a copy, for the message). */
  private otherTag: Uint8Array = EMPTY
  private readonly lastNames: Array<Uint8Array | undefined> = []
  private failure: NarParseError | undefined = undefined
  private readonly onConsumed: ((bytes: Uint8Array) => void) | undefined

  constructor(options: NarParserOptions = {}) {
    this.onConsumed = options.onConsumed
  }

  /** Archive bytes consumed so far (the NAR size once `End` was returned). */
  get bytesConsumed(): number {
    return this.base + this.pos
  }

  /** True once the whole archive has been parsed. */
  get done(): boolean {
    return this.state === S_DONE
  }

  /** Nesting depth of open directories. */
  get depth(): number {
    return this.lastNames.length
  }

  /** Supplies the next chunk; only valid after `next()` returned `NeedInput`. */
  feed(chunk: Uint8Array): void {
    if (this.pos < this.chunk.length) throw new Error("NarParser.feed: the previous chunk is not consumed yet")
    this.base += this.chunk.length
    this.chunk = plainView(chunk)
    this.pos = 0
    this.reported = 0
  }

  /** Signals the end of input: a parser that needs more bytes then reports a truncated archive. */
  end(): void {
    this.eof = true
  }

  /** Unconsumed bytes of the current chunk (what follows the archive once `End` was returned). */
  remainder(): Uint8Array {
    return this.chunk.subarray(this.pos)
  }

  /** The next event, or the (sticky) error that makes the archive invalid. */
  next(): NarEvent | NarParseError {
    if (this.failure !== undefined) return this.failure
    try {
      return this.step()
    } catch (e) {
      if (e instanceof NarParseError) {
        this.failure = e
        return e
      }
      throw e
    }
  }

  private fail(kind: NarParseErrorKind, reason: string): never {
    throw new NarParseError({ kind, offset: this.base + this.pos, reason })
  }

  private flushConsumed(): void {
    if (this.onConsumed !== undefined && this.pos > this.reported) {
      this.onConsumed(this.chunk.subarray(this.reported, this.pos))
    }
    this.reported = this.pos
  }

  private needInput(): NarEvent {
    if (this.eof) this.fail("Truncated", "unexpected end of archive")
    this.flushConsumed()
    return NEED_INPUT
  }

  /** `n` contiguous bytes (a view into the chunk or the scratch buffer), or undefined when input ran out. */
  private take(n: number): Uint8Array | undefined {
    const avail = this.chunk.length - this.pos
    if (this.scratchLen === 0 && avail >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n)
      this.pos += n
      return out
    }
    const k = Math.min(n - this.scratchLen, avail)
    this.scratch.set(this.chunk.subarray(this.pos, this.pos + k), this.scratchLen)
    this.scratchLen += k
    this.pos += k
    if (this.scratchLen < n) return undefined
    this.scratchLen = 0
    return this.scratch.subarray(0, n)
  }

  private checkPadding(b: Uint8Array, from: number): void {
    for (let i = from; i < b.length; i++) if (b[i] !== 0) this.fail("NonZeroPadding", "non-zero padding")
  }

  /** Reads `str(x)` with `x` at most `maxLen` bytes; undefined when input ran out. */
  private token(maxLen: number, tooLong: NarParseErrorKind, what: string): Uint8Array | undefined {
    // Fast path: the whole token is in the current chunk (the common case): one view, no copies
    // (three views per token were a visible part of restoring wide NARs).
    if (this.tokenLen < 0 && this.scratchLen === 0 && this.chunk.length - this.pos >= 8) {
      const len = readU64(this.chunk, this.pos)
      if (len <= maxLen) {
        const start = this.pos + 8
        const end = start + len + padLength(len)
        if (end <= this.chunk.length) {
          for (let i = start + len; i < end; i++) {
            if (this.chunk[i] !== 0) this.fail("NonZeroPadding", "non-zero padding")
          }
          this.pos = end
          return this.chunk.subarray(start, start + len)
        }
      }
    }
    if (this.tokenLen < 0) {
      const w = this.take(8)
      if (w === undefined) return undefined
      const len = readU64(w)
      if (len > maxLen) {
        const shown = len === Infinity ? "over 2^53" : String(len)
        this.fail(tooLong, `${what} of ${shown} bytes exceeds the limit of ${maxLen}`)
      }
      this.tokenLen = len
    }
    const len = this.tokenLen
    const padded = len + padLength(len)
    const b = padded === 0 ? EMPTY : this.take(padded)
    if (b === undefined) return undefined
    this.checkPadding(b, len)
    this.tokenLen = -1
    return b.subarray(0, len)
  }

  /**
   * Reads a tag and returns its code (K_OTHER for an unknown tag, kept in
   * `otherTag`), or K_NEED_INPUT when input ran out. A tag inside the current
   * chunk is compared where it lies: no view, no copy.
   */
  private tag(): number {
    const c = this.chunk
    const p = this.pos
    if (this.tokenLen < 0 && this.scratchLen === 0 && c.length - p >= 8) {
      const len = c[p] as number
      if (
        len <= NAR_MAX_TAG_LENGTH && c[p + 1] === 0 && c[p + 2] === 0 && c[p + 3] === 0 && c[p + 4] === 0 &&
        c[p + 5] === 0 && c[p + 6] === 0 && c[p + 7] === 0
      ) {
        const start = p + 8
        const end = start + ((len + 7) & ~7)
        if (end <= c.length) {
          for (let i = start + len; i < end; i++) if (c[i] !== 0) this.fail("NonZeroPadding", "non-zero padding")
          this.pos = end
          const code = tagCode(c, start, len)
          if (code === K_OTHER) this.otherTag = c.slice(start, start + len)
          return code
        }
      }
    }
    const t = this.token(NAR_MAX_TAG_LENGTH, "TagTooLong", "tag")
    if (t === undefined) return K_NEED_INPUT
    const code = tagCode(t, 0, t.length)
    if (code === K_OTHER) this.otherTag = t.slice()
    return code
  }

  /** Fails on tag `code` (as {@link tag} returned it), where `expected` was due. */
  private unexpected(code: number, expected: string): never {
    const t = code === K_OTHER ? this.otherTag : (TAG_BYTES[code] ?? EMPTY)
    return this.fail("UnexpectedTag", `expected ${expected}, got ${show(t)}`)
  }

  private nodeDone(): void {
    this.pendingName = undefined
    this.state = this.lastNames.length === 0 ? S_DONE : S_ENTRY_CLOSE
  }

  /**
   * A regular file that ended without a `contents` field: as Nix 2.8 does,
   * an empty file (its Regular event now, its RegularEnd next).
   */
  private emptyRegular(): NarEvent {
    this.size = 0
    this.state = S_EMPTY_REGULAR_END
    const name = this.pendingName
    this.pendingName = undefined
    return { _tag: "Regular", name, executable: this.executable, size: 0 }
  }

  private step(): NarEvent {
    for (;;) {
      switch (this.state) {
        case S_MAGIC: {
          const t = this.token(NAR_MAX_TAG_LENGTH, "BadMagic", "magic")
          if (t === undefined) return this.needInput()
          if (!equalBytes(t, T_MAGIC)) this.fail("BadMagic", `not a NAR: bad magic ${show(t)}`)
          this.state = S_OPEN
          break
        }
        case S_OPEN: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_OPEN) this.unexpected(t, "'('")
          this.state = S_TYPE_KW
          break
        }
        case S_TYPE_KW: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_TYPE) this.unexpected(t, "'type'")
          this.state = S_TYPE
          break
        }
        case S_TYPE: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t === K_REGULAR) {
            this.state = S_REGULAR_TAG
          } else if (t === K_SYMLINK) {
            this.state = S_TARGET_KW
          } else if (t === K_DIRECTORY) {
            this.lastNames.push(undefined)
            this.state = S_DIR_ITEM
            const name = this.pendingName
            this.pendingName = undefined
            return { _tag: "Directory", name }
          } else {
            this.unexpected(t, "'regular', 'symlink' or 'directory'")
          }
          break
        }
        case S_REGULAR_TAG: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t === K_EXECUTABLE) {
            this.state = S_EXEC_MARKER
          } else if (t === K_CONTENTS) {
            this.executable = false
            this.state = S_SIZE
          } else if (t === K_CLOSE) {
            this.executable = false
            return this.emptyRegular()
          } else {
            this.unexpected(t, "'executable', 'contents' or ')'")
          }
          break
        }
        case S_EXEC_MARKER: {
          const t = this.token(0, "NonEmptyExecutableMarker", "executable marker")
          if (t === undefined) return this.needInput()
          this.executable = true
          this.state = S_CONTENTS_KW
          break
        }
        case S_CONTENTS_KW: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t === K_CLOSE) return this.emptyRegular()
          if (t !== K_CONTENTS) this.unexpected(t, "'contents' or ')'")
          this.state = S_SIZE
          break
        }
        case S_EMPTY_REGULAR_END: {
          this.nodeDone()
          return REGULAR_END
        }
        case S_SIZE: {
          let size: number
          if (this.scratchLen === 0 && this.chunk.length - this.pos >= 8) {
            size = readU64(this.chunk, this.pos)
            this.pos += 8
          } else {
            const w = this.take(8)
            if (w === undefined) return this.needInput()
            size = readU64(w)
          }
          if (size > NAR_MAX_CONTENTS_SIZE) this.fail("AbsurdLength", "absurd file size (over 2^53 bytes)")
          this.size = size
          this.remaining = size
          this.state = size > 0 ? S_DATA : S_PAD
          const name = this.pendingName
          this.pendingName = undefined
          return { _tag: "Regular", name, executable: this.executable, size }
        }
        case S_DATA: {
          const avail = this.chunk.length - this.pos
          if (avail === 0) return this.needInput()
          const n = Math.min(avail, this.remaining)
          const chunk = this.chunk.subarray(this.pos, this.pos + n)
          this.pos += n
          this.remaining -= n
          if (this.remaining === 0) this.state = S_PAD
          return { _tag: "Contents", chunk }
        }
        case S_PAD: {
          const p = padLength(this.size)
          if (p > 0 && this.scratchLen === 0 && this.chunk.length - this.pos >= p) {
            const c = this.chunk
            const from = this.pos
            this.pos += p
            for (let i = from; i < this.pos; i++) if (c[i] !== 0) this.fail("NonZeroPadding", "non-zero padding")
          } else if (p > 0) {
            const b = this.take(p)
            if (b === undefined) return this.needInput()
            this.checkPadding(b, 0)
          }
          this.state = S_CLOSE_REGULAR
          break
        }
        case S_CLOSE_REGULAR: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_CLOSE) this.unexpected(t, "')'")
          this.nodeDone()
          return REGULAR_END
        }
        case S_TARGET_KW: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_TARGET) this.unexpected(t, "'target'")
          this.state = S_TARGET
          break
        }
        case S_TARGET: {
          const t = this.token(NAR_MAX_TARGET_LENGTH, "TargetTooLong", "symlink target")
          if (t === undefined) return this.needInput()
          if (t.length === 0) this.fail("InvalidTarget", "empty symlink target")
          if (t.includes(0)) this.fail("InvalidTarget", "symlink target contains NUL")
          this.state = S_CLOSE_SYMLINK
          const name = this.pendingName
          this.pendingName = undefined
          return { _tag: "Symlink", name, target: t.slice() }
        }
        case S_CLOSE_SYMLINK: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_CLOSE) this.unexpected(t, "')'")
          this.nodeDone()
          break
        }
        case S_DIR_ITEM: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t === K_ENTRY) {
            this.state = S_ENTRY_OPEN
          } else if (t === K_CLOSE) {
            this.lastNames.pop()
            this.nodeDone()
            return DIRECTORY_END
          } else {
            this.unexpected(t, "'entry' or ')'")
          }
          break
        }
        case S_ENTRY_OPEN: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_OPEN) this.unexpected(t, "'('")
          this.state = S_NAME_KW
          break
        }
        case S_NAME_KW: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_NAME) this.unexpected(t, "'name'")
          this.state = S_NAME
          break
        }
        case S_NAME: {
          const t = this.token(NAR_MAX_NAME_LENGTH, "NameTooLong", "entry name")
          if (t === undefined) return this.needInput()
          const bad = invalidNameReason(t)
          if (bad !== undefined) this.fail("InvalidName", bad)
          const top = this.lastNames.length - 1
          const prev = this.lastNames[top]
          if (prev !== undefined && compareBytes(prev, t) >= 0) {
            this.fail(
              "UnsortedEntries",
              compareBytes(prev, t) === 0
                ? `duplicate entry name ${show(t)}`
                : `entry ${show(t)} does not sort after ${show(prev)}`
            )
          }
          const name = t.slice()
          this.lastNames[top] = name
          this.pendingName = name
          this.state = S_NODE_KW
          break
        }
        case S_NODE_KW: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_NODE) this.unexpected(t, "'node'")
          this.state = S_OPEN
          break
        }
        case S_ENTRY_CLOSE: {
          const t = this.tag()
          if (t === K_NEED_INPUT) return this.needInput()
          if (t !== K_CLOSE) this.unexpected(t, "')'")
          this.state = S_DIR_ITEM
          break
        }
        default: {
          this.flushConsumed()
          return END
        }
      }
    }
  }
}
