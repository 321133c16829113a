/**
 * ValidPathInfo on the wire (Nix 2.8's `ValidPathInfo::write/read`):
 * `[path]`, deriver (`""` none), narHash (base16, no algorithm prefix),
 * references (set), registrationTime, narSize, and from format 16:
 * ultimate, sigs (set), ca (`""` none).
 *
 * QueryPathInfo answers without the path and gates the last three on the
 * client's minor (and prefixes a valid flag from minor 17); AddToStore (≥ 1.25)
 * and AddMultipleToStore always use format 16 with the path.
 *
 * @since 0.1.0
 */
import { Either, Option } from "effect"
import { parseHash, printHash } from "../../hash.js"
import type { ValidPathInfo } from "../../pathInfo.js"
import type { StorePath } from "../../storePathBrand.js"
import { parse as parseStorePath } from "../../storePathBrand.js"
import { bool, type Decoder, u64, u64Bounded } from "../decode.js"
import { concatBytes, encodeBool, encodePadded, encodeU64 } from "../encode.js"
import { WorkerValueError } from "./errors.js"
import { optionalCa, pathSet, pathString, renderOptionalCa, shortString, shortStrings, sortedUnique } from "./values.js"
import { protocolMinor } from "./version.js"

/** How a ValidPathInfo is laid out: with or without its path, and the format (a minor; 16 and up carry ultimate/sigs/ca). */
export interface PathInfoFormat {
  readonly withPath: boolean
  readonly format: number
}

/** Encodes a path info. */
export const encodePathInfo = (info: ValidPathInfo, layout: PathInfoFormat): Uint8Array => {
  const parts: Array<Uint8Array> = []
  if (layout.withPath) parts.push(encodePadded(info.path))
  parts.push(
    encodePadded(Option.getOrElse(info.deriver, () => "")),
    encodePadded(printHash(info.narHash, "base16")),
    encodeU64(info.references.length),
    ...sortedUnique(info.references).map((r) => encodePadded(r)),
    encodeU64(info.registrationTime),
    encodeU64(info.narSize)
  )
  if (layout.format >= 16) {
    const sigs = sortedUnique(info.sigs)
    parts.push(
      encodeBool(info.ultimate),
      encodeU64(sigs.length),
      ...sigs.map((s) => encodePadded(s)),
      encodePadded(renderOptionalCa(Option.getOrUndefined(info.ca)))
    )
  }
  return concatBytes(parts)
}

const storePath = (storeDir: string, what: string): Decoder<StorePath> => (input) => {
  const offset = input.offset
  const s = pathString(input)
  const p = parseStorePath(storeDir, s)
  if (Either.isLeft(p)) throw new WorkerValueError({ offset, what, reason: p.left.message })
  return p.right
}

/**
 * Reads a path info of `storeDir`. Without the path in the layout, `path` names it.
 * Every field is checked (store paths, the hash); references come back sorted.
 */
export const pathInfo = (storeDir: string, layout: PathInfoFormat, path?: StorePath): Decoder<ValidPathInfo> => {
  const readPath = storePath(storeDir, "a path info's path")
  const readRef = storePath(storeDir, "a reference")
  return (input) => {
    let p: StorePath
    if (layout.withPath) p = readPath(input)
    else if (path !== undefined) p = path
    else throw new Error("pathInfo: a layout without the path needs the path")
    const dOffset = input.offset
    const d = shortString(input)
    let deriver = Option.none<StorePath>()
    if (d !== "") {
      const dp = parseStorePath(storeDir, d)
      if (Either.isLeft(dp)) throw new WorkerValueError({ offset: dOffset, what: "a deriver", reason: dp.left.message })
      deriver = Option.some(dp.right)
    }
    const hOffset = input.offset
    const h = parseHash(shortString(input), "sha256")
    if (Either.isLeft(h)) throw new WorkerValueError({ offset: hOffset, what: "a NAR hash", reason: h.left.message })
    const nRefs = u64Bounded(4 * 1024 * 1024, "the number of references")(input)
    const refs: Array<StorePath> = []
    for (let i = 0; i < nRefs; i++) refs.push(readRef(input))
    const registrationTime = u64Bounded(Number.MAX_SAFE_INTEGER, "a registration time")(input)
    const narSize = u64Bounded(Number.MAX_SAFE_INTEGER, "a NAR size")(input)
    let ultimate = false
    let sigs: ReadonlyArray<string> = []
    let ca: ValidPathInfo["ca"] = Option.none()
    if (layout.format >= 16) {
      ultimate = bool(input)
      sigs = sortedUnique(shortStrings(input))
      ca = Option.fromNullable(optionalCa(input))
    }
    return {
      path: p,
      deriver,
      narHash: h.right,
      references: sortedUnique(refs) as Array<StorePath>,
      registrationTime,
      narSize,
      ultimate,
      sigs,
      ca
    }
  }
}

/**
 * The QueryPathInfo (26) reply after STDERR_LAST for a client of `clientVersion`:
 * from minor 17 a valid flag, then (when valid) the info without its path, format = the minor.
 * An invalid path for a client below 17 is an error, not a reply: the caller sends it.
 */
export const encodeQueryPathInfoReply = (clientVersion: number, info: ValidPathInfo | undefined): Uint8Array => {
  const minor = protocolMinor(clientVersion)
  const info_ = info === undefined ? [] : [encodePathInfo(info, { withPath: false, format: minor })]
  return minor >= 17 ? concatBytes([encodeBool(info !== undefined), ...info_]) : concatBytes(info_)
}

/** Reads a QueryPathInfo reply from a daemon of `daemonVersion` (undefined: not valid). */
export const queryPathInfoReply = (
  storeDir: string,
  daemonVersion: number,
  path: StorePath
): Decoder<ValidPathInfo | undefined> => {
  const minor = protocolMinor(daemonVersion)
  const read = pathInfo(storeDir, { withPath: false, format: minor }, path)
  return (input) => {
    if (minor >= 17 && u64(input) === 0n) return undefined
    return read(input)
  }
}

/** Reads a sorted set of store paths of `storeDir`, each validated. */
export const storePathSet = (storeDir: string): Decoder<Array<StorePath>> => (input) => {
  const offset = input.offset
  const xs = pathSet(input)
  const out: Array<StorePath> = []
  for (const x of xs) {
    const p = parseStorePath(storeDir, x)
    if (Either.isLeft(p)) throw new WorkerValueError({ offset, what: "a store path", reason: p.left.message })
    out.push(p.right)
  }
  return out
}
