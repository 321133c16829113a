/**
 * The goldens of golden/names (generate.sh, Nix 2.8): a tree whose names are
 * not valid UTF-8, and flat `--add-fixed` of executable and plain files.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { NarTree } from "../../../../src/core/nar/encode.js"
import { type HexNode, loadTree, materialize } from "../../../../golden/names/tree.mjs"

/** Directory of the names goldens. */
export const namesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../golden/names")

/** A golden file's bytes. */
export const namesBytes = (name: string): Buffer => fs.readFileSync(path.join(namesDir, name))

/** The tree of tree.json. */
export const namesTree: HexNode = loadTree()

/** Creates the tree of tree.json at `p` (which must not exist). */
export const materializeNamesTree = (p: string | Buffer): void => materialize(p, namesTree)

/** A tree.json node as an in-memory NAR tree (the pure encoder's input). */
export const hexToNarTree = (node: HexNode): NarTree => {
  switch (node.type) {
    case "regular":
      return { _tag: "Regular", executable: node.executable ?? false, contents: Buffer.from(node.contentsHex, "hex") }
    case "symlink":
      return { _tag: "Symlink", target: Buffer.from(node.targetHex, "hex") }
    case "directory":
      return {
        _tag: "Directory",
        entries: node.entries.map((e) => ({ name: Buffer.from(e.nameHex, "hex"), node: hexToNarTree(e.node) }))
      }
  }
}

/** tree.txt: add, fixed-sha256, fixed-sha1 and their `.hash` / `.size`. */
export const namesTreeFacts: Record<string, string> = Object.fromEntries(
  namesBytes("tree.txt").toString("utf8").trim().split("\n").map((l) => {
    const i = l.indexOf("=")
    return [l.slice(0, i), l.slice(i + 1)]
  })
)

/** One flat `--add-fixed` of flat.txt. */
export interface FlatAdd {
  readonly algo: "md5" | "sha1" | "sha256" | "sha512"
  /** exe: mode 0755; plain: 0644; groupx: 0654 (no owner execute bit). */
  readonly kind: "exe" | "plain" | "groupx"
  readonly path: string
  /** `nix-store -q --hash` (sha256:nix32). */
  readonly narHash: string
  readonly narSize: number
  /** The stored file's mode, octal (555 or 444). */
  readonly mode: string
  /** `nix-store --export` of the path. */
  readonly exportBytes: Buffer
}

/** The source mode of each flat kind, and its contents (the same for all). */
export const flatSource = {
  modes: { exe: 0o755, plain: 0o644, groupx: 0o654 },
  contents: "#!/bin/sh\necho flat\n"
} as const

/** The flat adds of flat.txt. */
export const flatAdds: ReadonlyArray<FlatAdd> = namesBytes("flat.txt").toString("utf8").trim().split("\n").map((l) => {
  const [algo, kind, p, narHash, narSize, mode] = l.split(" ") as [
    FlatAdd["algo"],
    FlatAdd["kind"],
    string,
    string,
    string,
    string
  ]
  return {
    algo,
    kind,
    path: p,
    narHash,
    narSize: Number(narSize),
    mode,
    exportBytes: namesBytes(`flat/${algo}-${kind}.export`)
  }
})
