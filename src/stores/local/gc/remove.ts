/**
 * Removing a store entry for the collector: the store's own remover
 * ({@link removeTreeSync}), failing with the collector's {@link GcIoError}.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { displayPath } from "../../../io/fsOps.js"
import { removeTreeSync } from "../ops/removeTree.js"
import { GcIoError } from "../../../services/errors/gc.js"

/** Removes the entry at `real` (made writable first; a byte path keeps any name) and returns the bytes freed. */
export const removeEntry = (real: string | Buffer): Effect.Effect<number, GcIoError> =>
  Effect.try({
    try: () => removeTreeSync(real),
    catch: (cause) => new GcIoError({ path: typeof real === "string" ? real : displayPath(real), operation: "deleting", cause })
  })
