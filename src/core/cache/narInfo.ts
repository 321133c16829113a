/**
 * `.narinfo` files of a binary cache, parsed and printed as Nix 2.8 does
 * (`libstore/nar-info.cc`).
 *
 * Printing: the fields in Nix's fixed order (`StorePath`, `URL`,
 * `Compression`, `FileHash`, `FileSize`, `NarHash`, `NarSize`, `References`
 * (always, with its space even when empty), `Deriver`, `System`, one `Sig`
 * per signature (sorted), `CA` last); hashes as `sha256:<nix32>`;
 * references and the deriver as base names.
 *
 * Parsing follows Nix's rules: a line is `Name: value` (the value starts two
 * characters after the colon, the line ends at the first `\n` from there);
 * unknown names are ignored; `Deriver: unknown-deriver` means none; a missing
 * `Compression` means `bzip2`; hash fields take any prefixed form; a missing
 * `StorePath`, `NarHash` or `URL`, `NarSize` 0, a second non-empty
 * `References` or a second `CA` make the file corrupt.
 *
 * Pure: no I/O.
 *
 * @since 0.1.0
 */
import { Data, Either, Option } from "effect"
import type { ContentAddress } from "../contentAddress.js"
import { parse as parseCa, render as renderCa } from "../contentAddress.js"
import type { Hash } from "../hash.js"
import { parseHash, printHashWithAlgo } from "../hash.js"
import type { ValidPathInfo } from "../pathInfo.js"
import { parseStorePathBaseName } from "../storePath.js"
import type { StorePath } from "../storePathBrand.js"
import { baseName, parse as parseStorePath, unsafeMake } from "../storePathBrand.js"
import { compareStrings } from "../topoSort.js"

/** A `.narinfo`: the path's info plus where its (compressed) NAR file is. */
export interface NarInfo extends ValidPathInfo {
  /** The NAR file, relative to the cache (`nar/<fileHash>.nar.xz`) or an absolute URL. */
  readonly url: string
  /** `xz`, `zstd`, `bzip2`, `none`, `br`, `gzip`, … (what the NAR file is compressed with). */
  readonly compression: string
  /** sha256 of the NAR file as stored (compressed). */
  readonly fileHash: Option.Option<Hash>
  /** Size of the NAR file as stored; 0 when unknown. */
  readonly fileSize: number
  /** The `System:` field, if any. */
  readonly system: Option.Option<string>
}

/** A `.narinfo` that cannot be read; `whence` names the file, `reason` says what is wrong. */
export class NarInfoParseError extends Data.TaggedError("NarInfoParseError")<{
  readonly whence: string
  readonly reason: string
  /** Nix's message: `NAR info file '…' is corrupt`, or the store path error it reports. */
  readonly nixMessage: string
}> {
  override get message(): string {
    return this.nixMessage === `NAR info file '${this.whence}' is corrupt`
      ? `${this.nixMessage} (${this.reason})`
      : this.nixMessage
  }
}

/** The file name of a path's narinfo in a cache: `<hash part>.narinfo`. */
export const narInfoFileFor = (path: StorePath): string => `${baseName(path).slice(0, 32)}.narinfo`

/** The NAR file's extension for a compression, as Nix names it (gzip and others: none). */
export const narExtension = (compression: string): string => {
  switch (compression) {
    case "xz":
      return ".xz"
    case "bzip2":
      return ".bz2"
    case "zstd":
      return ".zst"
    case "lzip":
      return ".lzip"
    case "lz4":
      return ".lz4"
    case "br":
      return ".br"
    default:
      return ""
  }
}

/** The URL Nix gives a NAR file: `nar/<fileHash nix32>.nar<ext>`. */
export const narUrlFor = (fileHash: Hash, compression: string): string =>
  `nar/${printHashWithAlgo(fileHash, "nix32").slice(fileHash.algo.length + 1)}.nar${narExtension(compression)}`

/** Prints a narinfo exactly as Nix 2.8 writes it (`NarInfo::to_string`). */
export const printNarInfo = (ni: NarInfo): string => {
  let out = `StorePath: ${ni.path}\n`
  out += `URL: ${ni.url}\n`
  out += `Compression: ${ni.compression}\n`
  if (Option.isSome(ni.fileHash)) out += `FileHash: ${printHashWithAlgo(ni.fileHash.value, "nix32")}\n`
  out += `FileSize: ${ni.fileSize}\n`
  out += `NarHash: ${printHashWithAlgo(ni.narHash, "nix32")}\n`
  out += `NarSize: ${ni.narSize}\n`
  out += `References: ${[...new Set(ni.references.map(baseName))].sort(compareStrings).join(" ")}\n`
  if (Option.isSome(ni.deriver)) out += `Deriver: ${baseName(ni.deriver.value)}\n`
  if (Option.isSome(ni.system) && ni.system.value !== "") out += `System: ${ni.system.value}\n`
  for (const sig of [...new Set(ni.sigs)].sort(compareStrings)) out += `Sig: ${sig}\n`
  if (Option.isSome(ni.ca)) out += `CA: ${renderCa(ni.ca.value)}\n`
  return out
}

/** Nix's string2Int for an unsigned 64-bit field, limited to safe integers. */
const parseSize = (s: string): number | undefined => {
  if (!/^[0-9]+$/.test(s)) return undefined
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Hash::parseAnyPrefixed: `algo:digest` or SRI; a bare digest is refused. */
const parsePrefixedHash = (s: string): Hash | undefined => {
  if (!/^[a-z0-9]+[:-]/.test(s)) return undefined
  const h = parseHash(s)
  return Either.isRight(h) ? h.right : undefined
}

/**
 * Parses a narinfo (Nix's `NarInfo(store, s, whence)`), for a store in
 * `storeDir`; `whence` names the file in errors. The result's
 * `registrationTime` is 0 and `ultimate` false (a cache does not know them).
 */
export const parseNarInfo = (
  storeDir: string,
  s: string,
  whence: string
): Either.Either<NarInfo, NarInfoParseError> => {
  const corruptMessage = `NAR info file '${whence}' is corrupt`
  const corrupt = (reason: string) => Either.left(new NarInfoParseError({ whence, reason, nixMessage: corruptMessage }))
  const badPath = (reason: string, nixMessage: string) =>
    Either.left(new NarInfoParseError({ whence, reason, nixMessage }))
  const baseNamePath = (field: string, v: string): Either.Either<StorePath, NarInfoParseError> => {
    const p = parseStorePathBaseName(v)
    if (Either.isLeft(p)) return badPath(`${field}: ${p.left.reason}`, `path '${v}' is not a valid store path`)
    return Either.right(unsafeMake(storeDir, `${storeDir}/${v}`))
  }

  let path: StorePath | undefined
  let url = ""
  let compression = ""
  let fileHash = Option.none<Hash>()
  let fileSize = 0
  let narHash: Hash | undefined
  let narSize = 0
  const references: Array<StorePath> = []
  let deriver = Option.none<StorePath>()
  let system = Option.none<string>()
  const sigs = new Set<string>()
  let ca = Option.none<ContentAddress>()
  let haveCa = false

  let pos = 0
  while (pos < s.length) {
    const colon = s.indexOf(":", pos)
    if (colon < 0) return corrupt(`no ':' in the line at offset ${pos}`)
    const name = s.slice(pos, colon)
    const eol = s.indexOf("\n", colon + 2)
    if (eol < 0) return corrupt(`the line of '${name}' does not end`)
    const value = s.slice(colon + 2, eol)
    switch (name) {
      case "StorePath": {
        if (!value.startsWith("/")) return badPath(`StorePath: not absolute`, `not an absolute path: '${value}'`)
        const p = parseStorePath(storeDir, value)
        if (Either.isLeft(p)) {
          return badPath(`StorePath: ${p.left.reason}`, `path '${value}' is not in the Nix store`)
        }
        path = p.right
        break
      }
      case "URL":
        url = value
        break
      case "Compression":
        compression = value
        break
      case "FileHash": {
        const h = parsePrefixedHash(value)
        if (h === undefined) return corrupt(`bad FileHash '${value}'`)
        fileHash = Option.some(h)
        break
      }
      case "FileSize": {
        const n = parseSize(value)
        if (n === undefined) return corrupt(`bad FileSize '${value}'`)
        fileSize = n
        break
      }
      case "NarHash": {
        const h = parsePrefixedHash(value)
        if (h === undefined) return corrupt(`bad NarHash '${value}'`)
        narHash = h
        break
      }
      case "NarSize": {
        const n = parseSize(value)
        if (n === undefined) return corrupt(`bad NarSize '${value}'`)
        narSize = n
        break
      }
      case "References": {
        if (references.length > 0) return corrupt("a second References line")
        for (const r of value.split(" ")) {
          if (r === "") continue
          const p = baseNamePath("References", r)
          if (Either.isLeft(p)) return Either.left(p.left)
          references.push(p.right)
        }
        break
      }
      case "Deriver": {
        if (value !== "unknown-deriver") {
          const p = baseNamePath("Deriver", value)
          if (Either.isLeft(p)) return Either.left(p.left)
          deriver = Option.some(p.right)
        }
        break
      }
      case "System":
        system = Option.some(value)
        break
      case "Sig":
        sigs.add(value)
        break
      case "CA": {
        if (haveCa) return corrupt("a second CA line")
        if (value !== "") {
          const c = parseCa(value)
          if (Either.isLeft(c)) return badPath(`CA: ${c.left.reason}`, c.left.message)
          ca = Option.some(c.right)
          haveCa = true
        }
        break
      }
      default:
        break
    }
    pos = eol + 1
  }
  if (compression === "") compression = "bzip2"
  if (path === undefined) return corrupt("no StorePath")
  if (narHash === undefined) return corrupt("no NarHash")
  if (url === "") return corrupt("no URL")
  if (narSize === 0) return corrupt("NarSize is 0")
  return Either.right({
    path,
    url,
    compression,
    fileHash,
    fileSize,
    narHash,
    narSize,
    references: [...new Set(references)].sort(compareStrings),
    deriver,
    system,
    sigs: [...sigs].sort(compareStrings),
    ca,
    registrationTime: 0,
    ultimate: false
  })
}

/** A path's info as a narinfo for a NAR file at `url` (what a cache writes after storing the file). */
export const makeNarInfo = (
  info: ValidPathInfo,
  file: { readonly url: string; readonly compression: string; readonly fileHash: Hash; readonly fileSize: number }
): NarInfo => ({
  ...info,
  url: file.url,
  compression: file.compression,
  fileHash: Option.some(file.fileHash),
  fileSize: file.fileSize,
  system: Option.none()
})

/** The plain path info of a narinfo (the cache-specific fields dropped). */
export const toPathInfo = (ni: NarInfo): ValidPathInfo => ({
  path: ni.path,
  narHash: ni.narHash,
  narSize: ni.narSize,
  deriver: ni.deriver,
  references: ni.references,
  registrationTime: ni.registrationTime,
  ultimate: ni.ultimate,
  sigs: ni.sigs,
  ca: ni.ca
})
