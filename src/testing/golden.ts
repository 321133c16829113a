/**
 * Loads the goldens the conformance suite compares against (written by Nix
 * 2.8: `golden/core/generate.sh`, `golden/store/generate.sh` of a tsnix
 * checkout).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** A store path Nix 2.8 computed for an input (golden/core/paths.json). */
export interface GoldenCorePath {
  readonly kind: "source" | "fixed" | "text" | "selfref"
  readonly input?: string
  readonly name: string
  readonly method?: "flat" | "recursive"
  readonly algo?: "md5" | "sha1" | "sha256" | "sha512"
  readonly contents?: string
  readonly path: string
  readonly references: ReadonlyArray<string>
}

/** The goldens under `dir` (a `golden/` directory). */
export const loadGolden = (dir: string) => {
  const storeDir = path.join(dir, "store")
  const goldenBytes = (name: string): Buffer => fs.readFileSync(path.join(storeDir, name))
  const goldenText = (name: string): string => fs.readFileSync(path.join(storeDir, name), "utf8")
  const goldenPaths: Record<string, string> = Object.fromEntries(
    goldenText("paths.txt").trim().split("\n").map((l) => {
      const i = l.indexOf("=")
      return [l.slice(0, i), l.slice(i + 1)]
    })
  )
  const need = (key: string): string => {
    const v = goldenPaths[key]
    if (v === undefined) throw new Error(`golden/store/paths.txt has no '${key}'`)
    return v
  }
  const named = { hello: need("hello"), top: need("top"), mid: need("mid"), leaf: need("leaf"), out: need("out") }
  const goldenAll: Array<string> = goldenText("all.txt").trim().split("\n")
  const corePaths = JSON.parse(fs.readFileSync(path.join(dir, "core", "paths.json"), "utf8")) as {
    readonly paths: ReadonlyArray<GoldenCorePath>
  }
  const goldenInput = (name: string): Uint8Array | undefined => {
    const p = path.join(dir, "core", "inputs", name)
    return fs.existsSync(p) ? new Uint8Array(fs.readFileSync(p)) : undefined
  }
  return { corePaths, goldenAll, goldenBytes, goldenInput, goldenPaths, goldenText, named }
}
