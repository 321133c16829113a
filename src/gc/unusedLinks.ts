/**
 * The collector's last step, as Nix 2.8's `collectGarbage` ends a deletion
 * (`--gc`, also with `--max-freed`, and `--delete`): `deleting unused links...`
 * removes the `.links` entries no store file shares any more (link count 1),
 * then `note: currently hard linking saves X.YZ MiB` reports
 * Σ (nlink − 1)·size − Σ size − the `.links` directory's own blocks, in MiB
 * with printf's `%.2f` (so a store with nothing shared says `-0.00`). The
 * bytes of deleted links are not added to the freed total, as in Nix.
 *
 * Runs under the collector's exclusive GC lock. An optimiser racing with it
 * (a link seen with count 1 just before it links to it) starts that file over
 * (see `store/optimiseFs.ts`).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { printfFixed2 } from "../core/printf.js"
import { currentOptimiseLog, linksDirOf } from "../store/optimise.js"
import { deleteUnusedLinks, OptimiseFsError } from "../store/optimiseFs.js"
import type { GcContext } from "./context.js"
import { GcIoError } from "./errors.js"

/** Deletes unused `.links` entries and prints Nix's two lines; returns the number deleted. */
export const deleteUnusedLinksStep = (ctx: GcContext): Effect.Effect<number, GcIoError> =>
  Effect.gen(function*() {
    yield* Effect.logInfo("deleting unused links...")
    const dir = linksDirOf(ctx.layout)
    // Nix's stores always have it (every store open creates it): so does the first collection here.
    yield* Effect.try({
      try: () => void fs.mkdirSync(dir, { recursive: true }),
      catch: (cause) => new GcIoError({ path: dir, operation: "creating directory", cause })
    })
    const log = yield* currentOptimiseLog
    const r = yield* Effect.tryPromise({
      try: (signal) => deleteUnusedLinks(Buffer.from(dir), log, signal),
      catch: (cause) =>
        cause instanceof OptimiseFsError
          ? new GcIoError({ path: cause.path, operation: cause.operation, cause: cause.cause })
          : new GcIoError({ path: dir, operation: "deleting unused links in", cause })
    })
    yield* Effect.logInfo(`note: currently hard linking saves ${printfFixed2(r.savedBytes / (1024 * 1024))} MiB`)
    return r.deleted
  }).pipe(Effect.withSpan("gc.deleteUnusedLinks"))
