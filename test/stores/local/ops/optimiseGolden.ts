/**
 * The store-optimisation goldens written by Nix 2.8 (golden/optimise/generate.sh),
 * and the two helpers of its tree.mjs redone here: materialising the input
 * trees of inputs.json, and describing a store's files, inode sharing and
 * `.links` in the same JSON shape.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** Directory of the optimisation goldens. */
export const goldenOptimiseDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../../golden/optimise"
)

/** A golden output of Nix (golden/optimise/nix/NAME). */
export const nixOut = (name: string): string => fs.readFileSync(path.join(goldenOptimiseDir, "nix", name), "utf8")

/** An input tree node of inputs.json. */
export type InputNode =
  | { readonly file: string; readonly exec?: boolean }
  | { readonly repeat: readonly [string, number]; readonly exec?: boolean }
  | { readonly symlink: string }
  | { readonly dir: Readonly<Record<string, InputNode>> }

/** The trees of one group of inputs.json (main, auto, tie), by store path name. */
export const inputGroup = (group: string): Readonly<Record<string, InputNode>> =>
  (JSON.parse(fs.readFileSync(path.join(goldenOptimiseDir, "inputs.json"), "utf8")) as Record<
    string,
    Record<string, InputNode>
  >)[group] ?? {}

const makeNode = (p: string, node: InputNode): void => {
  if ("dir" in node) {
    fs.mkdirSync(p)
    for (const [n, c] of Object.entries(node.dir)) makeNode(path.join(p, n), c)
  } else if ("symlink" in node) fs.symlinkSync(node.symlink, p)
  else {
    const text = "repeat" in node ? node.repeat[0].repeat(node.repeat[1]) : node.file
    fs.writeFileSync(p, text, { mode: node.exec === true ? 0o755 : 0o644 })
  }
}

/** Materialises a group's trees under `dir` and returns their names in inputs.json order. */
export const makeInputs = (group: string, dir: string): Array<string> => {
  fs.mkdirSync(dir, { recursive: true })
  const g = inputGroup(group)
  for (const [n, node] of Object.entries(g)) makeNode(path.join(dir, n), node)
  return Object.keys(g)
}

/** One file of a described store. */
export interface DescribedEntry {
  readonly path: string
  readonly type: string
  readonly mode: string
  readonly mtime: number
  readonly nlink?: number
  readonly size?: number
  /** The `.links` entry sharing its inode, or null. */
  readonly link?: string | null
}

/** One `.links` entry. */
export interface DescribedLink {
  readonly name: string
  readonly type: string
  readonly mode: string
  readonly nlink: number
  readonly size: number
}

/** A store as tree.mjs describes it. */
export interface DescribedStore {
  readonly entries: ReadonlyArray<DescribedEntry>
  readonly links: ReadonlyArray<DescribedLink>
  readonly linksDirMode: string | null
  readonly linksDirBlocks: number
}

const typeOf = (st: fs.Stats) => (st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "f")
const modeOf = (st: fs.Stats) => (st.mode & 0o7777).toString(8)

/** Describes the real store directory `store` (as `tree.mjs describe` does). */
export const describeStore = (store: string): DescribedStore => {
  const linksDir = path.join(store, ".links")
  const has = fs.existsSync(linksDir)
  const names = has ? fs.readdirSync(linksDir).sort() : []
  const byIno = new Map<number, string>()
  const links = names.map((name): DescribedLink => {
    const st = fs.lstatSync(path.join(linksDir, name))
    byIno.set(st.ino, name)
    return { name, type: typeOf(st), mode: modeOf(st), nlink: st.nlink, size: st.size }
  })
  const entries: Array<DescribedEntry> = []
  const walk = (rel: string): void => {
    const st = fs.lstatSync(path.join(store, rel))
    const base = { path: rel, type: typeOf(st), mode: modeOf(st), mtime: Math.floor(st.mtimeMs / 1000) }
    entries.push(st.isDirectory() ? base : { ...base, nlink: st.nlink, size: st.size, link: byIno.get(st.ino) ?? null })
    if (st.isDirectory()) { for (const n of fs.readdirSync(path.join(store, rel)).sort()) walk(`${rel}/${n}`) }
  }
  for (const n of fs.readdirSync(store).sort()) if (n !== ".links" && !n.endsWith(".lock")) walk(n)
  return {
    entries,
    links,
    linksDirMode: has ? modeOf(fs.statSync(linksDir)) : null,
    linksDirBlocks: has ? fs.statSync(linksDir).blocks : 0
  }
}

/** A golden store description (nix/NAME.json). */
export const nixStore = (name: string): DescribedStore => JSON.parse(nixOut(`${name}.json`)) as DescribedStore

/**
 * What GC's note says for a `.links` state: Σ (nlink − 1)·size − Σ size over
 * entries still used, minus the directory's `blocks`·512, in bytes.
 */
export const savedBytes = (links: ReadonlyArray<DescribedLink>, blocks: number): number =>
  links.reduce((acc, l) => acc + (l.nlink - 1) * l.size - l.size, 0) - blocks * 512
