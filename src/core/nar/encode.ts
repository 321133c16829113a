/**
 * Pure NAR encoding: the `str()` framing, prebuilt token sequences used by the
 * streaming dumper, and an encoder for in-memory trees (used by tests to build
 * valid and hostile archives).
 *
 * @since 0.1.0
 */
import {
  concatBytes,
  encodePadded as str,
  padLength,
  strLength,
  toBytes,
  writePadded as writeStr,
  writeU64
} from "../wire/encode.js"
import { NAR_MAGIC } from "./constants.js"

/**
 * The wire primitives the NAR framing is made of, shared with the export format
 * and the worker protocol (see ../wire/); `str` and `writeStr` are the
 * padded-string encoders under their NAR names.
 */
export {
  concatBytes,
  encodeU64,
  encodePadded as str,
  padLength,
  strLength,
  toBytes,
  writePadded as writeStr,
  writeU64
} from "../wire/encode.js"

const strs = (...tokens: ReadonlyArray<string>): Uint8Array => concatBytes(tokens.map(str))

/** `str("nix-archive-1")`: the archive header. */
export const MAGIC_BYTES: Uint8Array = str(NAR_MAGIC)
/** `str(")")`: closes a node or a directory entry. */
export const CLOSE_BYTES: Uint8Array = str(")")
/** Everything before a regular file's size word: `( type regular contents`. */
export const REGULAR_PREFIX: Uint8Array = strs("(", "type", "regular", "contents")
/** Everything before an executable file's size word: `( type regular executable "" contents`. */
export const EXECUTABLE_PREFIX: Uint8Array = strs("(", "type", "regular", "executable", "", "contents")
/** Everything before a symlink's `str(target)`: `( type symlink target`. */
export const SYMLINK_PREFIX: Uint8Array = strs("(", "type", "symlink", "target")
/** Opens a directory node: `( type directory`. */
export const DIRECTORY_PREFIX: Uint8Array = strs("(", "type", "directory")
/** Everything before an entry's `str(name)`: `entry ( name`. */
export const ENTRY_PREFIX: Uint8Array = strs("entry", "(", "name")
/** Between an entry's name and its node: `node`. */
export const NODE_BYTES: Uint8Array = str("node")

/** Size of a regular file's header up to and including the size word. */
export const regularHeaderLength = (executable: boolean): number =>
  (executable ? EXECUTABLE_PREFIX.length : REGULAR_PREFIX.length) + 8

/** Writes a regular file's header (prefix and size word) at `offset`; returns the offset after it. */
export const writeRegularHeader = (buf: Uint8Array, offset: number, executable: boolean, size: number): number => {
  const prefix = executable ? EXECUTABLE_PREFIX : REGULAR_PREFIX
  buf.set(prefix, offset)
  writeU64(buf, offset + prefix.length, size)
  return offset + prefix.length + 8
}

/** Size of a regular file's trailer: contents padding and the closing `)`. */
export const regularTrailerLength = (size: number): number => padLength(size) + CLOSE_BYTES.length

/** Writes a regular file's trailer (padding and `)`) at `offset`; returns the offset after it. */
export const writeRegularTrailer = (buf: Uint8Array, offset: number, size: number): number => {
  const pad = padLength(size)
  buf.fill(0, offset, offset + pad)
  buf.set(CLOSE_BYTES, offset + pad)
  return offset + pad + CLOSE_BYTES.length
}

/** A whole symlink node: `( type symlink target str(target) )`. */
export const symlinkNode = (target: Uint8Array): Uint8Array => {
  const out = new Uint8Array(SYMLINK_PREFIX.length + strLength(target.length) + CLOSE_BYTES.length)
  out.set(SYMLINK_PREFIX, 0)
  const off = writeStr(out, SYMLINK_PREFIX.length, target)
  out.set(CLOSE_BYTES, off)
  return out
}

/** The start of a directory entry: `entry ( name str(name) node`. */
export const entryHeader = (name: Uint8Array): Uint8Array => {
  const out = new Uint8Array(ENTRY_PREFIX.length + strLength(name.length) + NODE_BYTES.length)
  out.set(ENTRY_PREFIX, 0)
  const off = writeStr(out, ENTRY_PREFIX.length, name)
  out.set(NODE_BYTES, off)
  return out
}

/** Lexicographic comparison of byte strings (the order of NAR directory entries). */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** An in-memory file tree, as stored in a NAR. */
export type NarTree =
  | { readonly _tag: "Regular"; readonly executable: boolean; readonly contents: Uint8Array | string }
  | { readonly _tag: "Symlink"; readonly target: Uint8Array | string }
  | { readonly _tag: "Directory"; readonly entries: ReadonlyArray<NarTreeEntry> }

/** A named entry of an in-memory directory. */
export interface NarTreeEntry {
  readonly name: Uint8Array | string
  readonly node: NarTree
}

/** Options of {@link encodeNar}. */
export interface EncodeNarOptions {
  /** Sort directory entries by name bytes (default true); false writes them as given (for hostile tests). */
  readonly sortEntries?: boolean
}

/**
 * Serialises an in-memory tree as a NAR. It does not validate names or targets,
 * so tests can build hostile archives with it.
 */
export const encodeNar = (tree: NarTree, options: EncodeNarOptions = {}): Uint8Array => {
  const parts: Array<Uint8Array> = [MAGIC_BYTES]
  const sort = options.sortEntries ?? true
  const go = (node: NarTree): void => {
    switch (node._tag) {
      case "Regular": {
        const data = toBytes(node.contents)
        const header = new Uint8Array(regularHeaderLength(node.executable))
        writeRegularHeader(header, 0, node.executable, data.length)
        const trailer = new Uint8Array(regularTrailerLength(data.length))
        writeRegularTrailer(trailer, 0, data.length)
        parts.push(header, data, trailer)
        return
      }
      case "Symlink":
        parts.push(symlinkNode(toBytes(node.target)))
        return
      case "Directory": {
        parts.push(DIRECTORY_PREFIX)
        const entries = node.entries.map((e) => ({ name: toBytes(e.name), node: e.node }))
        if (sort) entries.sort((a, b) => compareBytes(a.name, b.name))
        for (const e of entries) {
          parts.push(entryHeader(e.name))
          go(e.node)
          parts.push(CLOSE_BYTES)
        }
        parts.push(CLOSE_BYTES)
        return
      }
    }
  }
  go(tree)
  return concatBytes(parts)
}
