/**
 * Structured request and reply bodies of worker operations (the fields after
 * the op code, or after STDERR_LAST), for the operations whose bodies are more
 * than a path or a path set.
 *
 * @since 0.1.0
 */
import type { ValidPathInfo } from "../../pathInfo.js"
import { bool, type Decoder, u64, u64Bounded } from "../decode.js"
import { concatBytes, encodeBool, encodePadded, encodeU64 } from "../encode.js"
import { WorkerValueError } from "./errors.js"
import { MAX_COUNT } from "./limits.js"
import { encodePathInfo, pathInfo } from "./pathInfo.js"
import {
  type CaMethodAlgo,
  caMethodAlgo,
  encodeSet,
  pathSet,
  pathString,
  renderCaMethodAlgo,
  shortString
} from "./values.js"
import { protocolMinor } from "./version.js"

// ---------------------------------------------------------------------------
// CollectGarbage (20)

/** GC actions. */
export const GcAction = { ReturnLive: 0, ReturnDead: 1, DeleteDead: 2, DeleteSpecific: 3 } as const
/** A GC action's number. */
export type GcActionValue = (typeof GcAction)[keyof typeof GcAction]

/** CollectGarbage's arguments. */
export interface GcRequest {
  readonly action: GcActionValue
  readonly pathsToDelete: ReadonlyArray<string>
  readonly ignoreLiveness: boolean
  /** Bytes to free; "unlimited" is 2^64 - 1. */
  readonly maxFreed: bigint
}

/** Encodes CollectGarbage's arguments (with the three obsolete zero fields). */
export const encodeGcRequest = (r: GcRequest): Uint8Array =>
  concatBytes([
    encodeU64(r.action),
    encodeSet(r.pathsToDelete),
    encodeBool(r.ignoreLiveness),
    encodeU64(r.maxFreed),
    encodeU64(0),
    encodeU64(0),
    encodeU64(0)
  ])

/** Reads CollectGarbage's arguments. */
export const gcRequest: Decoder<GcRequest> = (input) => {
  const offset = input.offset
  const action = u64Bounded(0xffffffff, "a GC action")(input)
  if (action > 3) throw new WorkerValueError({ offset, what: "a GC action", reason: `invalid GC action ${action}` })
  const pathsToDelete = pathSet(input)
  const ignoreLiveness = bool(input)
  const maxFreed = u64(input)
  u64(input)
  u64(input)
  u64(input)
  return { action: action as GcActionValue, pathsToDelete, ignoreLiveness, maxFreed }
}

/** CollectGarbage's reply. */
export interface GcReply {
  readonly paths: ReadonlyArray<string>
  readonly bytesFreed: number
}

/** Encodes CollectGarbage's reply: the paths (as a set), bytes freed, an obsolete 0. */
export const encodeGcReply = (r: GcReply): Uint8Array =>
  concatBytes([encodeSet(r.paths), encodeU64(r.bytesFreed), encodeU64(0)])

/** Reads CollectGarbage's reply. */
export const gcReply: Decoder<GcReply> = (input) => {
  const paths = pathSet(input)
  const bytesFreed = u64Bounded(Number.MAX_SAFE_INTEGER, "bytes freed")(input)
  u64(input)
  return { paths, bytesFreed }
}

// ---------------------------------------------------------------------------
// AddToStore (7)

/** AddToStore's header for minor ≥ 25 (a framed dump follows). */
export interface AddToStoreRequest {
  readonly name: string
  readonly method: CaMethodAlgo
  readonly references: ReadonlyArray<string>
  readonly repair: boolean
}

/** Encodes AddToStore's header (minor ≥ 25). */
export const encodeAddToStoreRequest = (r: AddToStoreRequest): Uint8Array =>
  concatBytes([
    encodePadded(r.name),
    encodePadded(renderCaMethodAlgo(r.method)),
    encodeSet(r.references),
    encodeBool(r.repair)
  ])

/** Reads AddToStore's header (minor ≥ 25). */
export const addToStoreRequest: Decoder<AddToStoreRequest> = (input) => {
  const name = shortString(input)
  const method = caMethodAlgo(input)
  const references = pathSet(input)
  return { name, method, references, repair: bool(input) }
}

/** AddToStore's header before minor 25 (a raw NAR follows): name, fixed ("obsolete"), recursive, hash algorithm. */
export interface AddToStoreOldRequest {
  readonly name: string
  readonly fixed: boolean
  readonly recursive: boolean
  readonly hashAlgo: string
}

/** Encodes the old AddToStore header. */
export const encodeAddToStoreOldRequest = (r: AddToStoreOldRequest): Uint8Array =>
  concatBytes([encodePadded(r.name), encodeBool(r.fixed), encodeU64(r.recursive ? 1 : 0), encodePadded(r.hashAlgo)])

/** Reads the old AddToStore header. */
export const addToStoreOldRequest: Decoder<AddToStoreOldRequest> = (input) => {
  const name = shortString(input)
  const fixed = bool(input)
  const recursive = bool(input)
  return { name, fixed, recursive, hashAlgo: shortString(input) }
}

/**
 * The method and algorithm the old AddToStore asks for, as the 2.8 daemon
 * reads it: `fixed` false forces sha256 + recursive (the "obsolete" flag).
 */
export const oldAddToStoreMethod = (r: AddToStoreOldRequest): { readonly recursive: boolean; readonly algo: string } =>
  r.fixed ? { recursive: r.recursive, algo: r.hashAlgo } : { recursive: true, algo: "sha256" }

// ---------------------------------------------------------------------------
// AddToStoreNar (39)

/** AddToStoreNar's header: the path info (format 16, with the path), repair, dontCheckSigs. */
export interface AddToStoreNarRequest {
  readonly info: ValidPathInfo
  readonly repair: boolean
  readonly dontCheckSigs: boolean
}

/** Encodes AddToStoreNar's header (the NAR follows: framed from 1.23, via STDERR_READ 1.21–1.22, raw before). */
export const encodeAddToStoreNarRequest = (r: AddToStoreNarRequest): Uint8Array =>
  concatBytes([
    encodePathInfo(r.info, { withPath: true, format: 16 }),
    encodeBool(r.repair),
    encodeBool(r.dontCheckSigs)
  ])

/** Reads AddToStoreNar's header for a store in `storeDir`. */
export const addToStoreNarRequest = (storeDir: string): Decoder<AddToStoreNarRequest> => {
  const info = pathInfo(storeDir, { withPath: true, format: 16 })
  return (input) => {
    const i = info(input)
    const repair = bool(input)
    return { info: i, repair, dontCheckSigs: bool(input) }
  }
}

/** How AddToStoreNar's NAR travels to a daemon, by the negotiated minor. */
export const addToStoreNarTransport = (version: number): "framed" | "read" | "raw" => {
  const minor = protocolMinor(version)
  return minor >= 23 ? "framed" : minor >= 21 ? "read" : "raw"
}

// ---------------------------------------------------------------------------
// QueryMissing (40), FindRoots (14), QuerySubstitutablePathInfos (30)

/** QueryMissing's reply. */
export interface MissingReply {
  readonly willBuild: ReadonlyArray<string>
  readonly willSubstitute: ReadonlyArray<string>
  readonly unknown: ReadonlyArray<string>
  readonly downloadSize: number
  readonly narSize: number
}

/** Encodes QueryMissing's reply. */
export const encodeMissingReply = (r: MissingReply): Uint8Array =>
  concatBytes([
    encodeSet(r.willBuild),
    encodeSet(r.willSubstitute),
    encodeSet(r.unknown),
    encodeU64(r.downloadSize),
    encodeU64(r.narSize)
  ])

/** Reads QueryMissing's reply. */
export const missingReply: Decoder<MissingReply> = (input) => {
  const willBuild = pathSet(input)
  const willSubstitute = pathSet(input)
  const unknown = pathSet(input)
  const downloadSize = u64Bounded(Number.MAX_SAFE_INTEGER, "a download size")(input)
  return {
    willBuild,
    willSubstitute,
    unknown,
    downloadSize,
    narSize: u64Bounded(Number.MAX_SAFE_INTEGER, "a NAR size")(input)
  }
}

/** Encodes FindRoots' reply: u64 n, then n × (link, target). */
export const encodeRootsReply = (
  roots: ReadonlyArray<{ readonly link: string; readonly target: string }>
): Uint8Array =>
  concatBytes([encodeU64(roots.length), ...roots.flatMap((r) => [encodePadded(r.link), encodePadded(r.target)])])

/** Reads FindRoots' reply. */
export const rootsReply: Decoder<Array<{ link: string; target: string }>> = (input) => {
  const n = u64Bounded(MAX_COUNT, "the number of roots")(input)
  const out: Array<{ link: string; target: string }> = []
  for (let i = 0; i < n; i++) {
    const link = shortString(input)
    out.push({ link, target: pathString(input) })
  }
  return out
}

/** A substitutable path's info (QuerySubstitutablePathInfo(s)). */
export interface SubstitutableInfo {
  readonly path: string
  readonly deriver: string
  readonly references: ReadonlyArray<string>
  readonly downloadSize: number
  readonly narSize: number
}

/** Encodes QuerySubstitutablePathInfos' reply: u64 n, n × (path, deriver, refs, downloadSize, narSize). */
export const encodeSubstitutableInfos = (infos: ReadonlyArray<SubstitutableInfo>): Uint8Array =>
  concatBytes([
    encodeU64(infos.length),
    ...infos.flatMap((i) => [
      encodePadded(i.path),
      encodePadded(i.deriver),
      encodeSet(i.references),
      encodeU64(i.downloadSize),
      encodeU64(i.narSize)
    ])
  ])

/** The paths of a QuerySubstitutablePathInfos request: from minor 22 a map path → optional CA, before a set. */
export const substitutablePathInfosRequest = (clientVersion: number): Decoder<Array<string>> => (input) => {
  if (protocolMinor(clientVersion) < 22) return pathSet(input)
  const n = u64Bounded(MAX_COUNT, "the number of paths")(input)
  const out: Array<string> = []
  for (let i = 0; i < n; i++) {
    out.push(pathString(input))
    shortString(input)
  }
  return out
}
