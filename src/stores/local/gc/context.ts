/**
 * What the collector's operations share.
 *
 * @since 0.1.0
 */
import type { StoreLayout } from "../../../core/storeLayout.js"
import type { LockShape } from "../../../services/Lock.js"
import type { GcSettings } from "../../../services/GcStore.js"
import type { StoreDbShape } from "../../../services/StoreDb.js"

export type { GcSettings } from "../../../services/GcStore.js"

/** Nix 2.8's defaults. */
export const defaultGcSettings: GcSettings = { keepOutputs: false, keepDerivations: true, gcRuntimeRoots: true }

/** The collaborators of the collector. */
export interface GcContext {
  readonly layout: StoreLayout
  readonly db: StoreDbShape
  readonly lock: LockShape
  readonly settings: GcSettings
}
