/**
 * Repairing a valid path from a NAR (what `--repair-path` and
 * `--verify --check-contents --repair` do once a substituter has the path):
 * the NAR is unpacked to a temporary path while it is hashed, and only when
 * its hash and size are the ones registered for the path is it canonicalised
 * and swapped in, under the path's lock: the damaged copy is renamed aside,
 * the new one renamed into place, the old one removed. The registration is
 * not touched (the path is the same path). A NAR that does not match leaves
 * the store as it was (the damaged copy included) and nothing behind.
 *
 * @since 0.1.0
 */
import { Effect, Option, type Stream } from "effect"
import * as fs from "node:fs/promises"
import { type Hash, hashEquals, printHashWithAlgo } from "../../../core/hash.js"
import { toRealPath } from "../../../core/storeLayout.js"
import { restoreFromSource } from "../../../io/restore.js"
import { byteSourceFromStream } from "../../../io/source.js"
import { PathNotValidError } from "../../../services/errors/database.js"
import { HashMismatchError, StoreIoError } from "../../../services/errors/store.js"
import { canonicaliseChecked } from "./canonicalise.js"
import type { StoreParts } from "./context.js"
import { removeTree } from "./removeTree.js"
import { scopedTempPath } from "./tempPath.js"

const io = (path: string, operation: string) => (cause: unknown) => new StoreIoError({ path, operation, cause })

/** Replaces the files of the valid path `p` by the NAR `nar`, which must be the registered one (see the module comment). */
export const repairPathFromNar = <E>(parts: StoreParts, p: string, nar: Stream.Stream<Uint8Array, E>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { db, layout, lock } = parts
      yield* lock.addTempRoot(p)
      const info = yield* Effect.flatMap(
        db.queryPathInfo(p),
        Option.match({ onNone: () => Effect.fail(new PathNotValidError({ path: p })), onSome: Effect.succeed })
      )
      const temp = yield* scopedTempPath(layout, lock)
      const got = yield* restoreFromSource(temp, yield* byteSourceFromStream(nar))
      const actual: Hash = { algo: "sha256", bytes: got.narHash }
      if (!hashEquals(info.narHash, actual) || (info.narSize !== 0 && info.narSize !== got.narSize)) {
        const sized = info.narSize !== 0 && info.narSize !== got.narSize
        const show = (h: Hash, size: number) => `${printHashWithAlgo(h, "base16")}${sized ? ` (${size} bytes)` : ""}`
        return yield* new HashMismatchError({
          path: p,
          expected: show(info.narHash, info.narSize),
          actual: show(actual, got.narSize)
        })
      }
      yield* canonicaliseChecked(temp, got)
      yield* lock.lockPaths([p], { waitMessage: `waiting for lock on '${p}'...` })
      const realPath = toRealPath(layout, p)
      const aside = yield* scopedTempPath(layout, lock)
      const present = yield* Effect.tryPromise({
        try: () => fs.lstat(realPath),
        catch: io(realPath, "getting status of")
      })
        .pipe(
          Effect.as(true),
          Effect.catchIf((e) => (e.cause as { code?: string }).code === "ENOENT", () => Effect.succeed(false))
        )
      if (present) {
        yield* Effect.tryPromise({ try: () => fs.rename(realPath, aside), catch: io(realPath, "renaming aside") })
      }
      yield* Effect.tryPromise({ try: () => fs.rename(temp, realPath), catch: io(realPath, "renaming into") }).pipe(
        // the damaged copy goes back: the path is never left without files
        Effect.tapError(() =>
          present ? Effect.ignore(Effect.tryPromise(() => fs.rename(aside, realPath))) : Effect.void
        )
      )
      yield* removeTree(aside)
    })
  ).pipe(Effect.withSpan("LocalStore.repairPath", { attributes: { path: p } }))
