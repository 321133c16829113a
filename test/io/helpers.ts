/**
 * Shared helpers of the NAR tests: temp directories, reading a file tree back
 * into an in-memory NAR tree, and comparing trees.
 */
import { Chunk, Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { compareBytes, type NarTree, toBytes } from "../../src/core/nar/encode.js"
import { regularContents, type SpecNode } from "../../golden/nar/materialize.mjs"

/** A fresh temp directory, removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, import("effect").Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-nar-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Reads the file tree at byte path `p` (lstat, never following symlinks) as a NarTree. */
export const readTree = (p: string | Buffer): NarTree => {
  const b = Buffer.isBuffer(p) ? p : Buffer.from(p)
  const st = fs.lstatSync(b)
  if (st.isSymbolicLink()) return { _tag: "Symlink", target: fs.readlinkSync(b, { encoding: "buffer" }) }
  if (st.isFile()) return { _tag: "Regular", executable: (st.mode & 0o100) !== 0, contents: fs.readFileSync(b) }
  if (st.isDirectory()) {
    const names = fs.readdirSync(b, { encoding: "buffer" })
    return {
      _tag: "Directory",
      entries: names.map((name) => ({ name, node: readTree(Buffer.concat([b, Buffer.from("/"), name])) }))
    }
  }
  throw new Error(`unexpected file type at ${b.toString()}`)
}

/** The NarTree a trees.json spec node describes. */
export const specToTree = (node: SpecNode): NarTree => {
  switch (node.type) {
    case "regular":
      return { _tag: "Regular", executable: node.executable ?? false, contents: regularContents(node) }
    case "symlink":
      return { _tag: "Symlink", target: node.target }
    case "directory":
      return {
        _tag: "Directory",
        entries: [
          ...Object.entries(node.entries ?? {}).map(([name, n]) => ({ name, node: specToTree(n) })),
          ...(node.rawEntries ?? []).map((e) => ({ name: Buffer.from(e.nameHex, "hex"), node: specToTree(e.node) }))
        ]
      }
  }
}

/** A plain, comparable form of a tree: hex bytes, entries sorted by name bytes. */
export type Plain =
  | { readonly regular: string; readonly executable: boolean }
  | { readonly symlink: string }
  | { readonly directory: ReadonlyArray<readonly [string, Plain]> }

/** Normalises a tree for `toEqual`. */
export const plain = (t: NarTree): Plain => {
  switch (t._tag) {
    case "Regular":
      return { regular: Buffer.from(toBytes(t.contents)).toString("hex"), executable: t.executable }
    case "Symlink":
      return { symlink: Buffer.from(toBytes(t.target)).toString("hex") }
    case "Directory":
      return {
        directory: t.entries
          .map((e) => ({ name: toBytes(e.name), node: e.node }))
          .sort((a, b) => compareBytes(a.name, b.name))
          .map((e) => [Buffer.from(e.name).toString("hex"), plain(e.node)] as const)
      }
  }
}

/** Collects a byte stream into one buffer. */
export const collectBytes = <E, R>(s: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Buffer, E, R> =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

/** A byte stream of `bytes` cut into chunks of `size` bytes. */
export const chunked = (bytes: Uint8Array, size: number): Stream.Stream<Uint8Array> => {
  const parts: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
  return Stream.fromIterable(parts)
}

/** The hex sha256 of bytes. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")
