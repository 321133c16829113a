/**
 * The `.ls` file a binary cache writes with `write-nar-listing=1`: the NAR's
 * file tree as JSON (Nix's `listNar`): `{"version":1,"root":NODE}` where a
 * directory is `{"type":"directory","entries":{NAME:NODE,…}}` (names
 * sorted), a regular file `{"type":"regular","size":N[,"executable":true],
 * "narOffset":OFFSET}` (OFFSET: where its contents start in the NAR) and a
 * symlink `{"type":"symlink","target":T}`.
 *
 * {@link NarListingBuilder} is fed the events of a {@link NarParser} as the
 * NAR streams by; {@link listNar} lists a NAR held in memory.
 *
 * Pure: no I/O.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { NarParseError } from "../nar/errors.js"
import { type NarEvent, NarParser } from "../nar/parser.js"
import { printNixJson } from "../pathInfo.js"

/** A node of a NAR listing. */
export type NarListingNode =
  | { readonly type: "directory"; readonly entries: ReadonlyMap<string, NarListingNode> }
  | { readonly type: "regular"; readonly size: number; readonly executable: boolean; readonly narOffset: number }
  | { readonly type: "symlink"; readonly target: string }

/** The file MIME type Nix uploads listings with. */
export const narListingMimeType = "application/json"

/** The listing's file name for a path's hash part. */
export const narListingFileFor = (hashPart: string): string => `${hashPart}.ls`

const utf8 = new TextDecoder("utf-8")
const text = (b: Uint8Array) => utf8.decode(b)

/** Builds a listing from parser events; `offset` is the parser's `bytesConsumed` when the event was returned. */
export class NarListingBuilder {
  private root: NarListingNode | undefined
  private readonly stack: Array<Map<string, NarListingNode>> = []

  private put(name: Uint8Array | undefined, node: NarListingNode): void {
    const parent = this.stack[this.stack.length - 1]
    if (parent === undefined || name === undefined) this.root = node
    else parent.set(text(name), node)
  }

  /** Records one event. */
  onEvent(ev: NarEvent, offset: number): void {
    switch (ev._tag) {
      case "Directory": {
        const entries = new Map<string, NarListingNode>()
        this.put(ev.name, { type: "directory", entries })
        this.stack.push(entries)
        break
      }
      case "DirectoryEnd":
        this.stack.pop()
        break
      case "Regular":
        this.put(ev.name, { type: "regular", size: ev.size, executable: ev.executable, narOffset: offset })
        break
      case "Symlink":
        this.put(ev.name, { type: "symlink", target: text(ev.target) })
        break
      default:
        break
    }
  }

  /** The root node (once the archive is complete). */
  get result(): NarListingNode | undefined {
    return this.root
  }
}

/** Lists a whole NAR held in memory. */
export const listNar = (nar: Uint8Array): Either.Either<NarListingNode, NarParseError> => {
  const parser = new NarParser()
  const builder = new NarListingBuilder()
  parser.feed(nar)
  parser.end()
  for (;;) {
    const ev = parser.next()
    if (ev instanceof Error) return Either.left(ev)
    if (ev._tag === "End") break
    if (ev._tag === "NeedInput") continue
    builder.onEvent(ev, parser.bytesConsumed)
  }
  const root = builder.result
  return root === undefined ? Either.left(parserEndError(parser)) : Either.right(root)
}

const parserEndError = (parser: NarParser): NarParseError => {
  const ev = parser.next()
  if (ev instanceof Error) return ev
  throw new Error("listNar: the parser ended without a root")
}

const str = (s: string): string => printNixJson(s)

/** A node's JSON (written by hand, not through an object: names like "10" must keep their sorted place). */
const nodeJson = (node: NarListingNode): string => {
  switch (node.type) {
    case "directory": {
      const parts = [...node.entries.keys()].sort(compareUtf8).map((name) =>
        `${str(name)}:${nodeJson(node.entries.get(name)!)}`
      )
      return `{"type":"directory","entries":{${parts.join(",")}}}`
    }
    case "regular":
      return `{"type":"regular","size":${node.size}${node.executable ? ",\"executable\":true" : ""}${
        node.narOffset !== 0 ? `,"narOffset":${node.narOffset}` : ""
      }}`
    case "symlink":
      return `{"type":"symlink","target":${str(node.target)}}`
  }
}

/** Byte order of the names' UTF-8 (Nix's std::map of strings). */
const compareUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

/** The `.ls` file's text, byte for byte as Nix writes it (no final newline). */
export const printNarListing = (root: NarListingNode): string => `{"version":1,"root":${nodeJson(root)}}`
