// Builds the file trees described in trees.json on disk (used by generate.sh and by the tests).
import * as fs from "node:fs"
import * as path from "node:path"

/** Deterministic contents of a `size`-only regular file. */
export const patternBytes = (size) => {
  const out = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7 + (i >>> 8)) & 0xff
  return out
}

/** Contents of a regular-file spec node. */
export const regularContents = (node) =>
  node.contents !== undefined ? Buffer.from(node.contents, "utf8") : patternBytes(node.size ?? 0)

/** Creates the tree `node` at byte or string path `p` (which must not exist). */
export const materialize = (p, node) => {
  const target = Buffer.isBuffer(p) ? p : Buffer.from(p)
  switch (node.type) {
    case "regular":
      fs.writeFileSync(target, regularContents(node), { flag: "wx" })
      fs.chmodSync(target, node.executable ? 0o755 : 0o644)
      return
    case "symlink":
      fs.symlinkSync(node.target, target)
      return
    case "directory": {
      fs.mkdirSync(target)
      fs.chmodSync(target, 0o755)
      for (const [name, child] of Object.entries(node.entries ?? {})) {
        materialize(Buffer.concat([target, Buffer.from("/"), Buffer.from(name, "utf8")]), child)
      }
      for (const { nameHex, node: child } of node.rawEntries ?? []) {
        materialize(Buffer.concat([target, Buffer.from("/"), Buffer.from(nameHex, "hex")]), child)
      }
      return
    }
    default:
      throw new Error(`unknown node type ${node.type}`)
  }
}

/** The parsed trees.json next to this script. */
export const loadTrees = () =>
  JSON.parse(fs.readFileSync(new URL("./trees.json", import.meta.url), "utf8")).trees

// CLI: node materialize.mjs OUTDIR  → creates OUTDIR/<name> for every tree.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const out = process.argv[2]
  if (out === undefined) throw new Error("usage: node materialize.mjs OUTDIR")
  fs.mkdirSync(out, { recursive: true })
  for (const t of loadTrees()) materialize(path.join(out, t.name), t.root)
}
