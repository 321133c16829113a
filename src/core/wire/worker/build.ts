/**
 * Build modes and BuildResult on the wire (Nix 2.8's `worker_proto` BuildResult
 * and the BuildDerivation reply).
 *
 * BuildPathsWithResults (46) sends each result whole: path (a DerivedPath
 * string), status, errorMsg, timesBuilt, isNonDeterministic, startTime,
 * stopTime, builtOutputs (DrvOutput string → Realisation JSON). The
 * BuildDerivation (36) reply has no path, carries the times from minor 29 and
 * builtOutputs from minor 28.
 *
 * @since 0.1.0
 */
import { bool, type Decoder, u64Bounded } from "../decode.js"
import { concatBytes, encodeBool, encodePadded, encodeU64 } from "../encode.js"
import { WorkerValueError } from "./errors.js"
import { MAX_COUNT } from "./limits.js"
import { longString, shortString } from "./values.js"
import { protocolMinor } from "./version.js"

/** Build modes (BuildPaths ≥ 1.15, BuildDerivation, BuildPathsWithResults). */
export const BuildMode = { Normal: 0, Repair: 1, Check: 2 } as const
/** A build mode's number. */
export type BuildModeValue = (typeof BuildMode)[keyof typeof BuildMode]

/** Reads a build mode (an unknown value: WorkerValueError). */
export const buildMode: Decoder<BuildModeValue> = (input) => {
  const offset = input.offset
  const m = u64Bounded(0xffffffff, "a build mode")(input)
  if (m !== 0 && m !== 1 && m !== 2) {
    throw new WorkerValueError({ offset, what: "a build mode", reason: `invalid build mode ${m}` })
  }
  return m
}

/** BuildResult statuses. */
export const BuildStatus = {
  Built: 0,
  Substituted: 1,
  AlreadyValid: 2,
  PermanentFailure: 3,
  InputRejected: 4,
  OutputRejected: 5,
  TransientFailure: 6,
  CachedFailure: 7,
  TimedOut: 8,
  MiscFailure: 9,
  DependencyFailed: 10,
  LogLimitExceeded: 11,
  NotDeterministic: 12,
  ResolvesToAlreadyValid: 13,
  NoSubstituters: 14
} as const

/** A build's result. */
export interface BuildResult {
  /** The DerivedPath string (BuildPathsWithResults only; "" otherwise). */
  readonly path: string
  readonly status: number
  readonly errorMsg: string
  readonly timesBuilt: number
  readonly isNonDeterministic: boolean
  readonly startTime: number
  readonly stopTime: number
  /** DrvOutput string (`sha256:<hex>!out`) → Realisation JSON. */
  readonly builtOutputs: ReadonlyArray<readonly [string, string]>
}

const encodeOutputs = (outs: BuildResult["builtOutputs"]): Array<Uint8Array> => [
  encodeU64(outs.length),
  ...outs.flatMap(([k, v]) => [encodePadded(k), encodePadded(v)])
]

/** Encodes one BuildPathsWithResults result. */
export const encodeBuildResult = (r: BuildResult): Uint8Array =>
  concatBytes([
    encodePadded(r.path),
    encodeU64(r.status),
    encodePadded(r.errorMsg),
    encodeU64(r.timesBuilt),
    encodeBool(r.isNonDeterministic),
    encodeU64(r.startTime),
    encodeU64(r.stopTime),
    ...encodeOutputs(r.builtOutputs)
  ])

const n64 = (what: string) => u64Bounded(Number.MAX_SAFE_INTEGER, what)

const outputs: Decoder<Array<[string, string]>> = (input) => {
  const n = u64Bounded(MAX_COUNT, "the number of built outputs")(input)
  const out: Array<[string, string]> = []
  for (let i = 0; i < n; i++) {
    const k = shortString(input)
    out.push([k, longString(input)])
  }
  return out
}

/** Reads one BuildPathsWithResults result. */
export const buildResult: Decoder<BuildResult> = (input) => {
  const path = shortString(input)
  const status = n64("a build status")(input)
  const errorMsg = longString(input)
  const timesBuilt = n64("timesBuilt")(input)
  const isNonDeterministic = bool(input)
  const startTime = n64("startTime")(input)
  const stopTime = n64("stopTime")(input)
  return { path, status, errorMsg, timesBuilt, isNonDeterministic, startTime, stopTime, builtOutputs: outputs(input) }
}

/** Encodes the BuildDerivation reply for a client of `clientVersion`. */
export const encodeBuildDerivationReply = (clientVersion: number, r: BuildResult): Uint8Array => {
  const minor = protocolMinor(clientVersion)
  const parts = [encodeU64(r.status), encodePadded(r.errorMsg)]
  if (minor >= 29) {
    parts.push(encodeU64(r.timesBuilt), encodeBool(r.isNonDeterministic), encodeU64(r.startTime), encodeU64(r.stopTime))
  }
  if (minor >= 28) parts.push(...encodeOutputs(r.builtOutputs))
  return concatBytes(parts)
}

/** Reads the BuildDerivation reply from a daemon of `daemonVersion`. */
export const buildDerivationReply = (daemonVersion: number): Decoder<BuildResult> => (input) => {
  const minor = protocolMinor(daemonVersion)
  const status = n64("a build status")(input)
  const errorMsg = longString(input)
  let timesBuilt = 0
  let isNonDeterministic = false
  let startTime = 0
  let stopTime = 0
  if (minor >= 29) {
    timesBuilt = n64("timesBuilt")(input)
    isNonDeterministic = bool(input)
    startTime = n64("startTime")(input)
    stopTime = n64("stopTime")(input)
  }
  const builtOutputs = minor >= 28 ? outputs(input) : []
  return { path: "", status, errorMsg, timesBuilt, isNonDeterministic, startTime, stopTime, builtOutputs }
}
