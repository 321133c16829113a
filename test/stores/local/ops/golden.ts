/**
 * The Store goldens written by Nix 2.8 (golden/store/generate.sh).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** Directory of the Store goldens. */
export const goldenStoreDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../golden/store")

/** Reads a golden file as bytes. */
export const goldenBytes = (name: string): Buffer => fs.readFileSync(path.join(goldenStoreDir, name))

/** Reads a golden file as text. */
export const goldenText = (name: string): string => fs.readFileSync(path.join(goldenStoreDir, name), "utf8")

/** Named paths of the golden store (paths.txt). */
export const goldenPaths: Record<string, string> = Object.fromEntries(
  goldenText("paths.txt").trim().split("\n").map((l) => {
    const i = l.indexOf("=")
    return [l.slice(0, i), l.slice(i + 1)]
  })
)

/** Every valid path of the golden store, sorted. */
export const goldenAll: Array<string> = goldenText("all.txt").trim().split("\n")

/** One recorded nix-store invocation: its arguments and outputs. */
export interface GoldenCommand {
  readonly name: string
  readonly args: Array<string>
  readonly stdout: Buffer
  readonly stderr?: string
  readonly status?: number
}

const argsOf = (file: string) => fs.readFileSync(file, "utf8").replace(/\n$/, "").split("\n")

/** The recorded successful queries (queries/NAME.args + NAME.out). */
export const goldenQueries: Array<GoldenCommand> = fs.readdirSync(path.join(goldenStoreDir, "queries"))
  .filter((f) => f.endsWith(".args"))
  .sort()
  .map((f) => {
    const name = f.slice(0, -5)
    return {
      name,
      args: argsOf(path.join(goldenStoreDir, "queries", f)),
      stdout: goldenBytes(`queries/${name}.out`)
    }
  })

/** A recorded failing command (errors/NAME.*). */
export const goldenError = (name: string): GoldenCommand => ({
  name,
  args: argsOf(path.join(goldenStoreDir, "errors", `${name}.args`)),
  stdout: goldenBytes(`errors/${name}.stdout`),
  stderr: goldenText(`errors/${name}.stderr`),
  status: Number(goldenText(`errors/${name}.status`).trim())
})

const need = (key: string): string => {
  const v = goldenPaths[key]
  if (v === undefined) throw new Error(`golden/store/paths.txt has no '${key}'`)
  return v
}

/** The named paths of the golden store, typed. */
export const named = {
  hello: need("hello"),
  tree: need("tree"),
  flat: need("flat"),
  rsha1: need("rsha1"),
  drv: need("drv"),
  depdrv: need("depdrv"),
  top: need("top"),
  mid: need("mid"),
  leaf: need("leaf"),
  out: need("out")
}
