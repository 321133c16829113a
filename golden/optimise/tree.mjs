// Helpers for golden/optimise/generate.sh (node, no dependencies):
//   node tree.mjs make SPEC_GROUP DIR     materialise inputs.json's group under DIR
//   node tree.mjs describe REALSTOREDIR   print the store's files, inode sharing and .links as JSON
import * as fs from "node:fs"
import * as path from "node:path"

const here = path.dirname(new URL(import.meta.url).pathname)
const [cmd, a, b] = process.argv.slice(2)

const make = (dir, node) => {
  if (node.dir) {
    fs.mkdirSync(dir)
    for (const [n, c] of Object.entries(node.dir)) make(path.join(dir, n), c)
  } else if (node.symlink !== undefined) fs.symlinkSync(node.symlink, dir)
  else {
    const text = node.repeat ? node.repeat[0].repeat(node.repeat[1]) : node.file
    fs.writeFileSync(dir, text, { mode: node.exec ? 0o755 : 0o644 })
  }
}

const type = (st) => (st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "f")
const mode = (st) => (st.mode & 0o7777).toString(8)

const describe = (store) => {
  const linksDir = path.join(store, ".links")
  const links = fs.existsSync(linksDir) ? fs.readdirSync(linksDir).sort() : []
  const byIno = new Map()
  const linkInfo = links.map((name) => {
    const st = fs.lstatSync(path.join(linksDir, name))
    byIno.set(st.ino, name)
    return { name, type: type(st), mode: mode(st), nlink: st.nlink, size: st.size }
  })
  const entries = []
  const walk = (rel) => {
    const st = fs.lstatSync(path.join(store, rel))
    const e = { path: rel, type: type(st), mode: mode(st), mtime: Math.floor(st.mtimeMs / 1000) }
    if (!st.isDirectory()) Object.assign(e, { nlink: st.nlink, size: st.size, link: byIno.get(st.ino) ?? null })
    entries.push(e)
    if (st.isDirectory()) for (const n of fs.readdirSync(path.join(store, rel)).sort()) walk(`${rel}/${n}`)
  }
  for (const n of fs.readdirSync(store).sort()) if (n !== ".links" && !n.endsWith(".lock")) walk(n)
  const blocks = fs.existsSync(linksDir) ? fs.statSync(linksDir).blocks : 0
  return { entries, links: linkInfo, linksDirMode: fs.existsSync(linksDir) ? mode(fs.statSync(linksDir)) : null, linksDirBlocks: blocks }
}

if (cmd === "make") {
  const spec = JSON.parse(fs.readFileSync(path.join(here, "inputs.json"), "utf8"))[a]
  fs.mkdirSync(b, { recursive: true })
  for (const [n, node] of Object.entries(spec)) make(path.join(b, n), node)
} else if (cmd === "describe") {
  process.stdout.write(JSON.stringify(describe(a), null, 1) + "\n")
} else {
  process.stderr.write("usage: tree.mjs make GROUP DIR | describe STOREDIR\n")
  process.exit(2)
}
