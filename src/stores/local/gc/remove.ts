/**
 * Removing a store entry for the collector: the store's own remover
 * ({@link removeTree}: in slices, letting the event loop run between them),
 * failing with the collector's {@link GcIoError}.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { displayPath } from "../../../io/fsOps.js"
import { removeTree } from "../ops/removeTree.js"
import { GcIoError } from "../../../services/errors/gc.js"

/** Removes the entry at `real` (made writable first; a byte path keeps any name) and returns the bytes freed. */
export const removeEntry = (real: string | Buffer): Effect.Effect<number, GcIoError> =>
  removeTree(real).pipe(
    Effect.mapError((e) =>
      new GcIoError({
        path: typeof real === "string" ? real : displayPath(real),
        operation: "deleting",
        cause: e.cause
      })
    )
  )
