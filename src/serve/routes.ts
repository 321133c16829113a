/**
 * The URLs `tsnix serve` answers, parsed strictly: only the names a binary
 * cache has (nix-cache-info, `<hashPart>.narinfo`, `<hashPart>.ls`, NARs by
 * hash, build logs by derivation name). Nothing in a URL ever becomes a file
 * name: a route carries hash parts and store path names that were checked
 * character by character, and anything else is refused.
 *
 * NAR URLs, as harmonia and nix-serve spell them:
 * - `nar/<hashPart>-<narHash>.nar[.ext]` (nix-serve; what tsnix's narinfos point to),
 * - `nar/<narHash>.nar[.ext]?hash=<hashPart>` (harmonia),
 * - `nar/<hashPart>.nar[.ext]` (the path's NAR, whatever its hash).
 * `narHash` is the sha256 NAR hash in nix32 (52 characters); `ext` picks the
 * compression (`.xz`, `.zst`, none).
 *
 * @since 0.1.0
 */
import { nix32Alphabet } from "../core/nix32.js"
import { hashPartLength, maxNameLength } from "../core/storePath.js"

/** Compressions a NAR can be asked for by its file extension (bzip2's codec is synchronous JavaScript: not served). */
export type NarCompression = "none" | "xz" | "zstd"

/** The NAR file extension of each compression (Nix's names). */
export const narExtension: Readonly<Record<NarCompression, string>> = {
  none: "",
  xz: ".xz",
  zstd: ".zst"
}

/** What a request asks for. */
export type Route =
  | { readonly _tag: "CacheInfo" }
  | { readonly _tag: "NarInfo"; readonly hashPart: string }
  | { readonly _tag: "Listing"; readonly hashPart: string }
  | {
    readonly _tag: "Nar"
    readonly hashPart: string
    /** The NAR hash the URL names (nix32 sha256), if it names one. */
    readonly narHash: string | undefined
    readonly compression: NarCompression
  }
  | { readonly _tag: "Log"; readonly drvBaseName: string }
  /** A URL that is well formed but names nothing a cache has (404). */
  | { readonly _tag: "NotFound" }
  /** A malformed URL (400): bad characters, a bad hash, `..`, escapes. */
  | { readonly _tag: "BadRequest"; readonly reason: string }

const nix32Chars = new Set(nix32Alphabet)
/** The characters Nix allows in a store path name. */
const nameChar = /^[A-Za-z0-9+\-._?=]$/

const isNix32Of = (s: string, length: number): boolean => {
  if (s.length !== length) return false
  for (const c of s) if (!nix32Chars.has(c)) return false
  return true
}

/** True when `s` is a store path hash part (32 nix32 characters). */
export const isHashPart = (s: string): boolean => isNix32Of(s, hashPartLength)

/** True when `s` is a sha256 hash in nix32 (52 characters). */
export const isNarHash32 = (s: string): boolean => isNix32Of(s, 52)

/** True when `s` is a store path base name (`<hashPart>-<name>`) naming a derivation (`.drv`). */
export const isDrvBaseName = (s: string): boolean => {
  if (s.length <= hashPartLength + 1 || s[hashPartLength] !== "-") return false
  if (!isHashPart(s.slice(0, hashPartLength))) return false
  const name = s.slice(hashPartLength + 1)
  if (name.length > maxNameLength || name.startsWith(".") || !name.endsWith(".drv")) return false
  for (const c of name) if (!nameChar.test(c)) return false
  return true
}

const bad = (reason: string): Route => ({ _tag: "BadRequest", reason })
const notFound: Route = { _tag: "NotFound" }

const compressionOfExt = (ext: string): NarCompression | undefined => {
  for (const [c, e] of Object.entries(narExtension)) if (e === ext) return c as NarCompression
  return undefined
}

const parseNarName = (file: string, query: URLSearchParams): Route => {
  const dot = file.indexOf(".nar")
  if (dot < 0) return bad("not a NAR name")
  const compression = compressionOfExt(file.slice(dot + 4))
  if (compression === undefined) return bad(`unknown NAR extension '${file.slice(dot + 4)}'`)
  const stem = file.slice(0, dot)
  const hashParam = query.get("hash")
  if (hashParam !== null && !isHashPart(hashParam)) return bad("bad 'hash' parameter")
  if (stem.length === 52 + 1 + hashPartLength && stem[hashPartLength] === "-") {
    const hashPart = stem.slice(0, hashPartLength)
    const narHash = stem.slice(hashPartLength + 1)
    if (!isHashPart(hashPart) || !isNarHash32(narHash)) return bad("bad hash in NAR name")
    return { _tag: "Nar", hashPart, narHash, compression }
  }
  if (isNarHash32(stem)) {
    // harmonia's form needs the path's hash part to find the NAR without a search
    if (hashParam === null) return notFound
    return { _tag: "Nar", hashPart: hashParam, narHash: stem, compression }
  }
  if (isHashPart(stem)) return { _tag: "Nar", hashPart: stem, narHash: undefined, compression }
  return bad("bad hash in NAR name")
}

/**
 * Parses a request target (path and query, as sent: `/abc….narinfo`).
 * Percent-escapes, `..`, empty segments and any character outside a cache's
 * names are refused (400); a well-formed name the cache cannot have is 404.
 */
export const parseRoute = (target: string): Route => {
  const q = target.indexOf("?")
  const path = q < 0 ? target : target.slice(0, q)
  const queryText = q < 0 ? "" : target.slice(q + 1)
  if (!path.startsWith("/")) return bad("the path must be absolute")
  if (path.includes("%")) return bad("escapes are not allowed")
  if (path.includes("\\") || path.includes("\0")) return bad("bad character")
  const segments = path.slice(1).split("/")
  for (const s of segments) {
    if (s === "" && segments.length > 1) return bad("empty path segment")
    if (s === "." || s === "..") return bad("'.' and '..' are not allowed")
  }
  if (!/^[A-Za-z0-9+\-._?=&]*$/.test(queryText)) return bad("bad character in the query")
  const query = new URLSearchParams(queryText)
  if (segments.length === 1) {
    const file = segments[0] as string
    if (file === "nix-cache-info") return { _tag: "CacheInfo" }
    if (file.endsWith(".narinfo")) {
      const hashPart = file.slice(0, -".narinfo".length)
      return isHashPart(hashPart) ? { _tag: "NarInfo", hashPart } : bad("bad hash part")
    }
    if (file.endsWith(".ls")) {
      const hashPart = file.slice(0, -".ls".length)
      return isHashPart(hashPart) ? { _tag: "Listing", hashPart } : bad("bad hash part")
    }
    return notFound
  }
  if (segments.length === 2) {
    const [dir, file] = segments as [string, string]
    if (dir === "nar") return parseNarName(file, query)
    if (dir === "log") return isDrvBaseName(file) ? { _tag: "Log", drvBaseName: file } : bad("bad derivation name")
    return notFound
  }
  return notFound
}
