/**
 * Temporary names inside the real store directory, where new objects are
 * written before they are renamed into place (same file system, so the rename
 * is atomic). The name carries the owner's pid, so that leftovers of dead
 * processes can be recognised and removed.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as path from "node:path"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { removeTree } from "./removeTree.js"

/** Prefix of every temporary entry tsnix creates in the real store directory. */
export const tempPrefix = ".tsnix-tmp-"

/** A fresh temporary path in the store directory (not created). */
export const makeTempPath = (layout: StoreLayout): string =>
  path.join(layout.realStoreDir, `${tempPrefix}${process.pid}-${randomBytes(6).toString("hex")}`)

/** The pid that owns a temporary entry name, if the name is one of ours. */
export const tempPathOwner = (name: string): number | undefined => {
  if (!name.startsWith(tempPrefix)) return undefined
  const pid = Number.parseInt(name.slice(tempPrefix.length), 10)
  return Number.isFinite(pid) ? pid : undefined
}

/**
 * A temporary path that is removed (if it still exists) when the scope
 * closes: on success after it has been renamed away nothing is left to do.
 */
export const scopedTempPath = (layout: StoreLayout) =>
  Effect.acquireRelease(Effect.sync(() => makeTempPath(layout)), (p) => Effect.ignore(removeTree(p)))
