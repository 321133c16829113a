/**
 * Cleaning up after dead processes at the first write operation (not only in
 * `--gc`): a process killed while it wrote to the store leaves its
 * temp-roots file (`<state>/temproots/<pid>`, no longer locked), and in the
 * store directory what that file names: its temporaries, copies moved into
 * place but not registered, and the `.lock` files of the paths it held.
 *
 * For each temp-roots file whose write lock can be taken (its owner is dead,
 * the test Nix 2.8's collector uses), the roots it names are looked at:
 * a tsnix temporary is removed; for a store path, its path lock is tried
 * without waiting and, if taken, an invalid copy that no live process holds
 * as a temporary root is removed and the lock file deleted with the lock
 * (Nix's deletion protocol). Then the file itself goes (unlinked, `d`
 * written into it, as Nix does). A path whose lock is busy is left alone (its
 * holder is alive); leftovers no file names are left to the collector.
 * Nothing here fails a write: errors are logged at debug level and ignored.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option } from "effect"
import * as path from "node:path"
import { toRealPath } from "../../../core/storeLayout.js"
import { parseStorePath } from "../../../core/storePath.js"
import { closeFd, listDir, openLockFile, readAll, tryFlock, unlinkQuiet, writeAll } from "../lock/flock.js"
import { parseTempRoots } from "../lock/tempRootsFormat.js"
import type { StoreParts } from "./context.js"
import { removeTree } from "./removeTree.js"
import { isTempName } from "./tempPath.js"

/** The hash part of a logical store path (`<storeDir>/<hash>-<name>`). */
const hashPart = (storeDir: string, p: string): string => p.slice(storeDir.length + 1, storeDir.length + 33)

/** Cleans what the dead owner of one temp-roots file left; the live roots' hash parts are spared. */
const cleanFile = (parts: StoreParts, file: string, liveHashes: ReadonlySet<string>) =>
  Effect.gen(function*() {
    const { db, layout, lock } = parts
    const fd = yield* openLockFile(file, false)
    if (fd === undefined) return
    yield* Effect.gen(function*() {
      // Only possible if the owner is dead (a live owner holds it for its whole life).
      if (!(yield* tryFlock(fd, "exclusive", file))) return
      const roots = parseTempRoots(yield* readAll(fd, file))
      for (const root of roots) {
        const name = root.slice(layout.storeDir.length + 1)
        if (!root.startsWith(layout.storeDir + "/") || name.includes("/")) continue
        if (liveHashes.has(hashPart(layout.storeDir, root))) continue
        if (isTempName(name)) {
          yield* Effect.ignore(removeTree(path.join(layout.realStoreDir, name)))
          continue
        }
        if (Either.isLeft(parseStorePath(layout.storeDir, root))) continue
        yield* Effect.scoped(Effect.gen(function*() {
          const held = yield* lock.tryLockPaths([root])
          if (Option.isNone(held)) return
          if (!(yield* db.isValidPath(root))) yield* removeTree(toRealPath(layout, root))
          yield* held.value.setDeletion(true)
        })).pipe(Effect.ignore)
      }
      yield* unlinkQuiet(file)
      yield* writeAll(fd, new Uint8Array([0x64]), file)
    }).pipe(Effect.ensuring(closeFd(fd)))
  })

/**
 * Removes the leftovers of dead processes named by their temp-roots files
 * (see the module comment). Never fails.
 */
export const cleanDeadLeftovers = (parts: StoreParts): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { layout, lock } = parts
    const dir = path.join(layout.stateDir, "temproots")
    const own = String(process.pid)
    const names = (yield* listDir(dir)).filter((n) => !n.startsWith(".") && n !== own)
    if (names.length === 0) return
    const live = yield* lock.readTempRoots({ removeDead: false })
    if (live.deadFiles.length === 0) return
    const liveHashes = new Set([...live.roots].map((r) => hashPart(layout.storeDir, r)))
    for (const file of live.deadFiles) yield* cleanFile(parts, file, liveHashes)
  }).pipe(
    Effect.catchAll((e) => Effect.logDebug("cleaning up after dead processes failed", e)),
    Effect.withSpan("Store.cleanDeadLeftovers")
  )
