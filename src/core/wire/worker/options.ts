/**
 * SetOptions (op 19) on the wire, as the 2.8 client sends it: keepFailed,
 * keepGoing, tryFallback, verbosity, maxBuildJobs, maxSilentTime,
 * useBuildHook (obsolete, 1), verboseBuild as a level (0 = verbose,
 * 7 = not), logType (0), printBuildTrace (0), buildCores, useSubstitutes,
 * then (minor ≥ 12) the overridden settings as name/value pairs.
 *
 * @since 0.1.0
 */
import { bool, type Decoder, u64Bounded } from "../decode.js"
import { concatBytes, encodeBool, encodePadded, encodeU64 } from "../encode.js"
import { MAX_COUNT } from "./limits.js"
import { longString, shortString } from "./values.js"
import { protocolMinor } from "./version.js"

/** The client's settings. */
export interface ClientOptions {
  readonly keepFailed: boolean
  readonly keepGoing: boolean
  readonly tryFallback: boolean
  readonly verbosity: number
  readonly maxBuildJobs: number
  readonly maxSilentTime: number
  readonly verboseBuild: boolean
  readonly buildCores: number
  readonly useSubstitutes: boolean
  /** Settings set explicitly by the client (name, value), as sent. */
  readonly overrides: ReadonlyArray<readonly [string, string]>
}

/** What a 2.8 client sends without any option given. */
export const defaultClientOptions: ClientOptions = {
  keepFailed: false,
  keepGoing: false,
  tryFallback: false,
  verbosity: 3,
  maxBuildJobs: 1,
  maxSilentTime: 0,
  verboseBuild: true,
  buildCores: 0,
  useSubstitutes: true,
  overrides: []
}

/** Encodes SetOptions' arguments (without the op code) for a daemon of `daemonVersion`. */
export const encodeClientOptions = (daemonVersion: number, o: ClientOptions): Uint8Array => {
  const parts = [
    encodeBool(o.keepFailed),
    encodeBool(o.keepGoing),
    encodeBool(o.tryFallback),
    encodeU64(o.verbosity),
    encodeU64(o.maxBuildJobs),
    encodeU64(o.maxSilentTime),
    encodeU64(1),
    encodeU64(o.verboseBuild ? 0 : 7),
    encodeU64(0),
    encodeU64(0),
    encodeU64(o.buildCores),
    encodeBool(o.useSubstitutes)
  ]
  if (protocolMinor(daemonVersion) >= 12) {
    parts.push(encodeU64(o.overrides.length))
    for (const [k, v] of o.overrides) parts.push(encodePadded(k), encodePadded(v))
  }
  return concatBytes(parts)
}

const num = (what: string) => u64Bounded(0xffffffff, what)

/** Reads SetOptions' arguments from a client of `clientVersion`. */
export const clientOptions = (clientVersion: number): Decoder<ClientOptions> => (input) => {
  const keepFailed = bool(input)
  const keepGoing = bool(input)
  const tryFallback = bool(input)
  const verbosity = num("verbosity")(input)
  const maxBuildJobs = num("max-jobs")(input)
  const maxSilentTime = num("max-silent-time")(input)
  num("useBuildHook")(input)
  const verboseBuild = num("verboseBuild")(input) === 0
  num("logType")(input)
  num("printBuildTrace")(input)
  const buildCores = num("cores")(input)
  const useSubstitutes = bool(input)
  const overrides: Array<[string, string]> = []
  if (protocolMinor(clientVersion) >= 12) {
    const n = u64Bounded(MAX_COUNT, "the number of settings")(input)
    for (let i = 0; i < n; i++) {
      const k = shortString(input)
      overrides.push([k, longString(input)])
    }
  }
  return {
    keepFailed,
    keepGoing,
    tryFallback,
    verbosity,
    maxBuildJobs,
    maxSilentTime,
    verboseBuild,
    buildCores,
    useSubstitutes,
    overrides
  }
}
