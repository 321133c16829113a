/**
 * What the collector's operations share.
 *
 * @since 0.1.0
 */
import type { StoreLayout } from "../../../core/storeLayout.js"
import type { LockShape } from "../../../services/Lock.js"
import type { StoreDbShape } from "../../../services/StoreDb.js"

/** The collector's settings (nix.conf names in comments). */
export interface GcSettings {
  /** `keep-outputs` (default false): a live derivation keeps its valid outputs alive. */
  readonly keepOutputs: boolean
  /** `keep-derivations` (default true): a live path keeps its valid deriver alive. */
  readonly keepDerivations: boolean
  /** `gc-runtime-roots` (tsnix, default true): paths used by running processes are roots (Linux). */
  readonly gcRuntimeRoots: boolean
}

/** Nix 2.8's defaults. */
export const defaultGcSettings: GcSettings = { keepOutputs: false, keepDerivations: true, gcRuntimeRoots: true }

/** The collaborators of the collector. */
export interface GcContext {
  readonly layout: StoreLayout
  readonly db: StoreDbShape
  readonly lock: LockShape
  readonly settings: GcSettings
}
