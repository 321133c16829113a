/**
 * The builder's environment and the files Nix 2.8 writes into the build
 * directory before starting it (`initEnv`, `initTmpDir`, `writeStructuredAttrs`,
 * exportReferencesGraph): nothing is inherited; placeholders of outputs are
 * rewritten to the output paths. Pure: the closure information of
 * exportReferencesGraph is given by the caller.
 *
 * Strings are byte strings (one code unit per byte), as in derivations.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { Buffer } from "node:buffer"
import { hashBytes } from "../core/hash.js"
import { encodeNix32 } from "../core/nix32.js"
import { byteStringFromUtf8, byteStringToUtf8 } from "../core/derivation/schema.js"
import type { Derivation } from "../core/derivation/schema.js"
import { nlohmannDump } from "./json.js"

/** The derivation cannot be started (Nix's BuildError before the builder runs). */
export class BuildSetupError extends Data.TaggedError("BuildSetupError")<{ readonly message: string }> {}

/** Nix's `hashPlaceholder(outputName)`: `/` + nix32(sha256("nix-output:" + name)). */
export const hashPlaceholder = (outputName: string): string =>
  "/" + encodeNix32(hashBytes("sha256", "nix-output:" + outputName).bytes)

/** Replaces every occurrence of each key by its value, left to right (Nix's rewriteStrings). */
export const rewriteStrings = (s: string, rewrites: ReadonlyMap<string, string>): string => {
  let out = s
  for (const [from, to] of rewrites) if (from !== "" && out.includes(from)) out = out.split(from).join(to)
  return out
}

/** One path's information as exportReferencesGraph needs it. */
export interface ExportedPathInfo {
  readonly path: string
  /** `sha256:<base16>` as the store keeps it. */
  readonly narHashBase16: string
  /** `sha256:<nix32>`, for the structured JSON. */
  readonly narHashNix32: string
  readonly narSize: number
  readonly references: ReadonlyArray<string>
  readonly ca?: string | undefined
  readonly closureSize: number
}

/** What the caller provides to compute the environment. */
export interface EnvInput {
  readonly drv: Derivation
  /** The logical store directory. */
  readonly storeDir: string
  /** The build directory as the builder sees it (`/build` in the sandbox, else the host temp dir). */
  readonly buildTop: string
  /**
   * The build directory on the host. Nix 2.8 names the structured-attrs files by it even in the
   * sandbox (`NIX_ATTRS_JSON_FILE=/tmp/nix-build-….drv-0/.attrs.json`), a quirk kept for equal outputs.
   */
  readonly hostBuildDir?: string | undefined
  readonly cores: number
  /** Output name → the path the builder writes it to (the placeholders' rewrites). */
  readonly outputPaths: ReadonlyMap<string, string>
  /** The closure of a path given in exportReferencesGraph (sorted, derivations' outputs included). */
  readonly exportReferences: (paths: ReadonlyArray<string>) => ReadonlyArray<ExportedPathInfo> | BuildSetupError
  /** More rewrites (hash part of a valid output → its scratch path's, for `--check`). */
  readonly hashRewrites?: ReadonlyMap<string, string> | undefined
  /** The caller's environment (for `impureEnvVars` of fixed-output derivations). */
  readonly hostEnv: Readonly<Record<string, string | undefined>>
}

/** The environment (byte strings) and the files to create in the build directory (name → bytes as a byte string). */
export interface BuildEnvironment {
  readonly env: ReadonlyMap<string, string>
  readonly files: ReadonlyArray<readonly [name: string, contents: string]>
  readonly args: ReadonlyArray<string>
}

const tokenize = (s: string): Array<string> => s.split(/[ \t\n\r]+/).filter((t) => t !== "")

const shVarName = /^[A-Za-z_][A-Za-z0-9_]*$/
const fileNameRe = /^[A-Za-z_][A-Za-z0-9_.-]*$/

/** Nix's shellEscape: single quotes, `'` written as `'\''`. */
const shellEscape = (s: string): string => "'" + s.split("'").join("'\\''") + "'"

const simpleShell = (v: unknown): string | undefined => {
  if (typeof v === "string") return shellEscape(v)
  if (typeof v === "number" && Math.ceil(v) === v) return String(Math.trunc(v))
  if (v === null) return "''"
  if (typeof v === "boolean") return v ? "1" : ""
  return undefined
}

const sortedKeys = (o: object): Array<string> =>
  Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))

/** Nix's writeStructuredAttrsShell: the `.attrs.sh` text of a structured-attrs JSON object (UTF-8 text). */
export const structuredAttrsShell = (json: Readonly<Record<string, unknown>>): string => {
  let out = ""
  for (const key of sortedKeys(json)) {
    if (!shVarName.test(key)) continue
    const value = json[key]
    const s = simpleShell(value)
    if (s !== undefined) out += `declare ${key}=${s}\n`
    else if (Array.isArray(value)) {
      let s2 = ""
      let good = true
      for (const v of value) {
        const s3 = simpleShell(v)
        if (s3 === undefined) {
          good = false
          break
        }
        s2 += s3 + " "
      }
      if (good) out += `declare -a ${key}=(${s2})\n`
    } else if (typeof value === "object" && value !== null) {
      let s2 = ""
      let good = true
      const obj = value as Record<string, unknown>
      for (const k2 of sortedKeys(obj)) {
        const s3 = simpleShell(obj[k2])
        if (s3 === undefined) {
          good = false
          break
        }
        s2 += `[${shellEscape(k2)}]=${s3} `
      }
      if (good) out += `declare -A ${key}=(${s2})\n`
    }
  }
  return out
}

const validityRegistration = (infos: ReadonlyArray<ExportedPathInfo>): string =>
  infos.map((i) => `${i.path}\n\n${i.references.length}\n${i.references.map((r) => r + "\n").join("")}`).join("")

const pathInfoJson = (i: ExportedPathInfo): Record<string, unknown> => ({
  path: i.path,
  narHash: i.narHashNix32,
  narSize: i.narSize,
  references: i.references,
  ...(i.ca === undefined ? {} : { ca: i.ca }),
  closureSize: i.closureSize
})

/** Computes the builder's environment, arguments and the files of its build directory, as Nix 2.8 does. */
export const buildEnvironment = (input: EnvInput): BuildEnvironment | BuildSetupError => {
  const { drv, buildTop } = input
  const rewrites = new Map<string, string>()
  for (const [name, p] of input.outputPaths) rewrites.set(hashPlaceholder(name), p)
  for (const [from, to] of input.hashRewrites ?? []) rewrites.set(from, to)
  const env = new Map<string, string>()
  const files: Array<readonly [string, string]> = []
  env.set("PATH", "/path-not-set")
  env.set("HOME", "/homeless-shelter")
  env.set("NIX_STORE", input.storeDir)
  env.set("NIX_BUILD_CORES", String(input.cores))
  const jsonText = drv.env.get("__json")
  if (jsonText === undefined) {
    const passAsFile = new Set(tokenize(drv.env.get("passAsFile") ?? ""))
    for (const [k, v] of drv.env) {
      if (!passAsFile.has(k)) env.set(k, v)
      else {
        const fn = ".attr-" + encodeNix32(hashBytes("sha256", k).bytes)
        files.push([fn, rewriteStrings(v, rewrites)])
        env.set(k + "Path", buildTop + "/" + fn)
      }
    }
  }
  env.set("NIX_BUILD_TOP", buildTop)
  for (const k of ["TMPDIR", "TEMPDIR", "TMP", "TEMP", "PWD"]) env.set(k, buildTop)
  const fixed = [...drv.outputs.values()].some((o) => o.hash !== "" && o.hashAlgo !== "")
  if (fixed) {
    env.set("NIX_OUTPUT_CHECKED", "1")
    const impure = jsonText === undefined
      ? tokenize(drv.env.get("impureEnvVars") ?? "")
      : impureFromJson(jsonText)
    for (const name of impure) env.set(name, byteStringFromUtf8(input.hostEnv[name] ?? ""))
  }
  env.set("NIX_LOG_FD", "2")
  env.set("TERM", "xterm-256color")

  if (jsonText !== undefined) {
    let json: Record<string, unknown>
    try {
      const parsed: unknown = JSON.parse(byteStringToUtf8(jsonText))
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object")
      json = parsed as Record<string, unknown>
    } catch (e) {
      return new BuildSetupError({ message: `cannot process __json attribute of '${drv.name}': ${String(e)}` })
    }
    const outputs: Record<string, string> = {}
    for (const name of drv.outputs.keys()) {
      outputs[name] = byteStringToUtf8(rewriteStrings(hashPlaceholder(name), rewrites))
    }
    json["outputs"] = outputs
    const erg = json["exportReferencesGraph"]
    if (typeof erg === "object" && erg !== null && !Array.isArray(erg)) {
      for (const [key, paths] of Object.entries(erg as Record<string, unknown>)) {
        const list = Array.isArray(paths) ? paths.map(String) : [String(paths)]
        const infos = input.exportReferences(list)
        if (infos instanceof BuildSetupError) return infos
        json[key] = infos.map(pathInfoJson)
      }
    }
    files.push([".attrs.sh", rewriteStrings(byteStringFromUtf8(structuredAttrsShell(json)), rewrites)])
    const attrsDir = input.hostBuildDir ?? buildTop
    env.set("NIX_ATTRS_SH_FILE", attrsDir + "/.attrs.sh")
    files.push([".attrs.json", rewriteStrings(byteStringFromUtf8(nlohmannDump(json)), rewrites)])
    env.set("NIX_ATTRS_JSON_FILE", attrsDir + "/.attrs.json")
  } else {
    const s = drv.env.get("exportReferencesGraph") ?? ""
    const ss = tokenize(s)
    if (ss.length % 2 !== 0) {
      return new BuildSetupError({ message: `odd number of tokens in 'exportReferencesGraph': '${s}'` })
    }
    for (let i = 0; i < ss.length; i += 2) {
      const fileName = ss[i]!
      const storePath = ss[i + 1]!
      if (!fileNameRe.test(fileName)) {
        return new BuildSetupError({ message: `invalid file name '${fileName}' in 'exportReferencesGraph'` })
      }
      if (!storePath.startsWith(input.storeDir + "/")) {
        return new BuildSetupError({
          message: `'exportReferencesGraph' contains a non-store path '${storePath}'`
        })
      }
      const infos = input.exportReferences([storePath])
      if (infos instanceof BuildSetupError) return infos
      files.push([fileName, validityRegistration(infos)])
    }
  }
  const finalEnv = new Map<string, string>()
  for (const [k, v] of env) {
    const kv = rewriteStrings(k + "=" + v, rewrites)
    const eq = kv.indexOf("=")
    finalEnv.set(kv.slice(0, eq), kv.slice(eq + 1))
  }
  return { env: finalEnv, files, args: drv.args.map((a) => rewriteStrings(a, rewrites)) }
}

const impureFromJson = (jsonText: string): Array<string> => {
  try {
    const parsed: unknown = JSON.parse(byteStringToUtf8(jsonText))
    const v = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>)["impureEnvVars"] : []
    return Array.isArray(v) ? v.map(String) : []
  } catch {
    return []
  }
}
