/**
 * Decoding a whole in-memory NAR into a tree (for small archives and tests).
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { concatBytes, type NarTree, type NarTreeEntry } from "./encode.js"
import { NarParseError } from "./errors.js"
import { NarParser } from "./parser.js"

interface OpenDir {
  readonly name: Uint8Array | undefined
  readonly entries: Array<NarTreeEntry>
}

/**
 * Parses a complete NAR held in memory. Trailing bytes after the archive are
 * an error. Names and targets come back as bytes.
 */
export const decodeNar = (bytes: Uint8Array): Either.Either<NarTree, NarParseError> => {
  const parser = new NarParser()
  parser.feed(bytes)
  parser.end()
  const stack: Array<OpenDir> = []
  let result: NarTree | undefined
  let file: { name: Uint8Array | undefined; executable: boolean; parts: Array<Uint8Array> } | undefined
  const place = (name: Uint8Array | undefined, node: NarTree): void => {
    const parent = stack[stack.length - 1]
    if (parent === undefined || name === undefined) result = node
    else parent.entries.push({ name, node })
  }
  for (;;) {
    const ev = parser.next()
    switch (ev._tag) {
      case "NarParseError":
        return Either.left(ev)
      case "Directory":
        stack.push({ name: ev.name, entries: [] })
        break
      case "DirectoryEnd": {
        const dir = stack.pop()
        if (dir !== undefined) place(dir.name, { _tag: "Directory", entries: dir.entries })
        break
      }
      case "Regular":
        file = { name: ev.name, executable: ev.executable, parts: [] }
        break
      case "Contents":
        file?.parts.push(ev.chunk)
        break
      case "RegularEnd":
        if (file !== undefined) {
          place(file.name, { _tag: "Regular", executable: file.executable, contents: concatBytes(file.parts) })
        }
        file = undefined
        break
      case "Symlink":
        place(ev.name, { _tag: "Symlink", target: ev.target })
        break
      case "NeedInput":
        // Unreachable: the input was ended, so the parser reports truncation instead.
        return Either.left(
          new NarParseError({ kind: "Truncated", offset: parser.bytesConsumed, reason: "unexpected end of archive" })
        )
      case "End": {
        if (parser.remainder().length > 0) {
          return Either.left(
            new NarParseError({
              kind: "TrailingData",
              offset: parser.bytesConsumed,
              reason: "trailing data after the archive"
            })
          )
        }
        if (result === undefined) throw new Error("decodeNar: parser ended without a node")
        return Either.right(result)
      }
    }
  }
}
