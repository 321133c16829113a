/**
 * What the store's operations share: the layout, the metadata database, the
 * locks and the derivation parser.
 *
 * @since 0.1.0
 */
import type { StoreLayout } from "../../../core/storeLayout.js"
import type { DerivationsShape } from "../../../services/Derivations.js"
import type { LockShape } from "../../../services/Lock.js"
import type { StoreDbShape } from "../../../services/StoreDb.js"

/** The collaborators of the store's file operations. */
export interface StoreParts {
  readonly layout: StoreLayout
  readonly db: StoreDbShape
  readonly lock: LockShape
  /** Parses the `.drv` files the store adds (their outputs are recorded). */
  readonly derivations: DerivationsShape
  /** `auto-optimise-store`: hard-link the files of each new path through `.links` before registering it. */
  readonly autoOptimise?: boolean | undefined
}
