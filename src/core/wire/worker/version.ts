/**
 * Worker protocol versions and the handshake, as Nix 2.8 speaks them
 * (`worker-protocol.hh`, `daemon.cc`, `remote-store.cc`):
 *
 * ```
 * C→D  WORKER_MAGIC_1
 * D→C  WORKER_MAGIC_2, daemon version
 * C→D  client version, [daemon minor ≥ 14] affinity flag (+ affinity), [daemon minor ≥ 11] reserveSpace
 * D→C  [client minor ≥ 33] daemon's Nix version string, then STDERR_LAST (or STDERR_ERROR)
 * ```
 *
 * A version is `major << 8 | minor`; Nix 2.8 is 1.34 and accepts minors 10 to 34.
 * Each side gates a feature on the peer's minor.
 *
 * @since 0.1.0
 */
import { type Decoder, u64 } from "../decode.js"
import { concatBytes, encodePadded, encodeU64 } from "../encode.js"
import { paddedString } from "../decode.js"
import { WorkerValueError } from "./errors.js"

/** The client's magic number ("cxin"). */
export const WORKER_MAGIC_1 = 0x6e697863
/** The daemon's magic number ("oixd"). */
export const WORKER_MAGIC_2 = 0x6478696f
/** The version Nix 2.8 speaks: 1.34. */
export const PROTOCOL_VERSION = (1 << 8) | 34
/** The oldest version Nix 2.8 accepts: 1.10. */
export const MIN_PROTOCOL_VERSION = (1 << 8) | 10

/** The major part of a version. */
export const protocolMajor = (v: number): number => v & 0xff00
/** The minor part of a version. */
export const protocolMinor = (v: number): number => v & 0x00ff
/** A version from its parts. */
export const makeVersion = (major: number, minor: number): number => (major << 8) | minor
/** Prints a version as Nix does: `1.34`. */
export const printVersion = (v: number): string => `${v >> 8}.${protocolMinor(v)}`

const magic = (expected: number, what: string): Decoder<void> => (input) => {
  const offset = input.offset
  const m = u64(input)
  if (m !== BigInt(expected)) throw new WorkerValueError({ offset, what, reason: "protocol mismatch" })
}

/** C→D: the client's magic number. */
export const encodeClientMagic = (): Uint8Array => encodeU64(WORKER_MAGIC_1)

/** Reads the client's magic number (a mismatch: WorkerValueError "protocol mismatch"). */
export const clientMagic: Decoder<void> = magic(WORKER_MAGIC_1, "the client's magic number")

/** D→C: the daemon's magic number and version. */
export const encodeServerHello = (version: number = PROTOCOL_VERSION): Uint8Array =>
  concatBytes([encodeU64(WORKER_MAGIC_2), encodeU64(version)])

/** Reads the daemon's magic number and version (the client checks the major and minimum itself). */
export const serverHello: Decoder<number> = (input) => {
  magic(WORKER_MAGIC_2, "the daemon's magic number")(input)
  const offset = input.offset
  const v = u64(input)
  if (v > 0xffffn) throw new WorkerValueError({ offset, what: "the daemon's version", reason: `absurd version ${v}` })
  return Number(v)
}

/** What the client sends after the daemon's hello. */
export interface ClientHello {
  readonly version: number
  /** The obsolete CPU affinity (None: not sent as set). */
  readonly affinity?: bigint | undefined
  /** The obsolete reserveSpace flag. */
  readonly reserveSpace?: boolean | undefined
}

/** C→D: the client's version, then the fields the daemon's minor asks for (affinity ≥ 14, reserveSpace ≥ 11). */
export const encodeClientHello = (hello: ClientHello, daemonVersion: number): Uint8Array => {
  const parts = [encodeU64(hello.version)]
  const minor = protocolMinor(daemonVersion)
  if (minor >= 14) {
    if (hello.affinity === undefined) parts.push(encodeU64(0))
    else parts.push(encodeU64(1), encodeU64(hello.affinity))
  }
  if (minor >= 11) parts.push(encodeU64(hello.reserveSpace === true ? 1 : 0))
  return concatBytes(parts)
}

/**
 * Reads the client's version and the fields its minor implies (as the 2.8
 * daemon does). The version itself is not checked here (see {@link checkClientVersion}).
 */
export const clientHello: Decoder<ClientHello> = (input) => {
  const offset = input.offset
  const v = u64(input)
  if (v > 0xffffn) throw new WorkerValueError({ offset, what: "the client's version", reason: `absurd version ${v}` })
  const version = Number(v)
  const minor = protocolMinor(version)
  let affinity: bigint | undefined
  if (minor >= 14 && u64(input) !== 0n) affinity = u64(input)
  let reserveSpace: boolean | undefined
  if (minor >= 11) reserveSpace = u64(input) !== 0n
  return { version, affinity, reserveSpace }
}

/** Nix 2.8's daemon check of a client version: undefined when acceptable, else the (daemon-log) reason. */
export const checkClientVersion = (version: number): string | undefined =>
  protocolMajor(version) !== 0x100 || version < MIN_PROTOCOL_VERSION ? "the Nix client version is too old" : undefined

/** The version both sides use: the lower of the two. */
export const negotiate = (daemonVersion: number, clientVersion: number): number =>
  Math.min(daemonVersion, clientVersion)

/** D→C, for clients of minor ≥ 33: the daemon's Nix version string. */
export const encodeDaemonNixVersion = (clientVersion: number, nixVersion: string): Uint8Array =>
  protocolMinor(clientVersion) >= 33 ? encodePadded(nixVersion) : new Uint8Array(0)

/** Reads the daemon's Nix version string when the daemon's minor is ≥ 33 (else undefined, nothing read). */
export const daemonNixVersion = (daemonVersion: number): Decoder<string | undefined> => (input) =>
  protocolMinor(daemonVersion) >= 33 ? paddedString(1024, "the daemon's version string")(input) : undefined
