/**
 * What the store knows about a valid path (a row of ValidPaths plus its
 * references), and what a caller supplies to register one.
 *
 * @since 0.1.0
 */
import type { Hash } from "../core/hash.js"

/** Metadata of a valid store path. All paths are logical store paths. */
export interface PathInfo {
  readonly path: string
  /** sha256 of the path's NAR serialisation. */
  readonly narHash: Hash
  /** Length of the NAR serialisation in bytes (0 when unknown, as in old databases). */
  readonly narSize: number
  /** The derivation that produced the path, if recorded. */
  readonly deriver: string | undefined
  /** Paths this path refers to, sorted. */
  readonly references: ReadonlyArray<string>
  /** Seconds since the epoch at registration. */
  readonly registrationTime: number
  /** Whether the path was built locally ("ultimately trusted"). */
  readonly ultimate: boolean
  /** Signatures, e.g. `cache.nixos.org-1:…`. */
  readonly sigs: ReadonlyArray<string>
  /** Content address (`text:sha256:…`, `fixed:r:sha256:…`), if content-addressed. */
  readonly ca: string | undefined
}

/** What registering a path needs; omitted fields take the obvious defaults. */
export interface NewPathInfo {
  readonly path: string
  readonly narHash: Hash
  readonly narSize: number
  readonly references: ReadonlyArray<string>
  readonly deriver?: string | undefined
  readonly registrationTime?: number | undefined
  readonly ultimate?: boolean | undefined
  readonly sigs?: ReadonlyArray<string> | undefined
  readonly ca?: string | undefined
  /** For a `.drv`: its outputs (name → output path), recorded in DerivationOutputs. */
  readonly derivationOutputs?: Readonly<Record<string, string>> | undefined
}
