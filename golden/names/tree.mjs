// The file tree of tree.json: made on disk (generate.sh and the tests), or as a NAR tree (the tests).
import * as fs from "node:fs"
import * as path from "node:path"

/** The parsed root node of tree.json. */
export const loadTree = () => JSON.parse(fs.readFileSync(new URL("./tree.json", import.meta.url), "utf8")).root

/** Creates `node` at byte or string path `p` (which must not exist); names, targets and contents are hex. */
export const materialize = (p, node) => {
  const target = Buffer.isBuffer(p) ? p : Buffer.from(p)
  switch (node.type) {
    case "regular":
      fs.writeFileSync(target, Buffer.from(node.contentsHex, "hex"), { flag: "wx" })
      fs.chmodSync(target, node.executable ? 0o755 : 0o644)
      return
    case "symlink":
      fs.symlinkSync(Buffer.from(node.targetHex, "hex"), target)
      return
    case "directory":
      fs.mkdirSync(target)
      fs.chmodSync(target, 0o755)
      for (const e of node.entries) materialize(Buffer.concat([target, Buffer.from("/"), Buffer.from(e.nameHex, "hex")]), e.node)
      return
    default:
      throw new Error(`unknown node type ${node.type}`)
  }
}

// CLI: node tree.mjs OUT  → creates the tree at OUT.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const out = process.argv[2]
  if (out === undefined) throw new Error("usage: node tree.mjs OUT")
  materialize(out, loadTree())
}
