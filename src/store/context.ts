/**
 * What the store's operations share: the layout, the metadata database and
 * the locks.
 *
 * @since 0.1.0
 */
import type { StoreLayout } from "../schema/StoreLayout.js"
import type { LockShape } from "../services/Lock.js"
import type { StoreDbShape } from "../services/StoreDb.js"

/** The collaborators of the store's file operations. */
export interface StoreParts {
  readonly layout: StoreLayout
  readonly db: StoreDbShape
  readonly lock: LockShape
  /** `auto-optimise-store`: hard-link the files of each new path through `.links` before registering it. */
  readonly autoOptimise?: boolean | undefined
}
