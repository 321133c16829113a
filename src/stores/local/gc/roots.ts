/**
 * Permanent garbage-collector roots, found as Nix 2.8's `findRoots` finds them:
 * symlinks (recursively) under `<state>/gcroots` and `<state>/profiles`.
 *
 * - A symlink into the store (its target compared as a logical path) is a
 *   root; the link is recorded.
 * - A symlink pointing outside the store is an indirect root: its target
 *   (resolved against the link's directory, a real file-system path) is
 *   followed one hop; if that is a symlink into the store, it is the root
 *   (recorded under the target's name). A missing target under
 *   `gcroots/auto/` makes the link stale: it is removed.
 * - A regular file whose name is a store path's base name roots that path.
 *
 * Unlike Nix, a roots directory that cannot be read aborts the search with a
 * {@link GcRootsError} (skipping it could delete live paths). Entries that
 * vanish while being looked at are skipped.
 *
 * The roots found here are candidates: the caller keeps the valid ones.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import { nixInfo } from "../../../core/nixLog.js"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { parseStorePathBaseName, storePathToString, toStorePath } from "../../../core/storePath.js"
import { dirnameBytes, displayPath, joinBytes, resolveBytes } from "../../../io/fsOps.js"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { GcRootsError } from "../../../services/errors/gc.js"

/** Store path → the links (or pseudo-links such as `{temp:123}`) that root it. */
export type RootMap = Map<string, Set<string>>

/** Adds `link` as a root of `storePath`. */
export const addRoot = (roots: RootMap, storePath: string, link: string): void => {
  const s = roots.get(storePath)
  if (s === undefined) roots.set(storePath, new Set([link]))
  else s.add(link)
}

const code = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code?: unknown }).code) : undefined

/** Errors meaning "this entry is gone / not what we thought": skip it, as Nix does. */
const vanished = (e: unknown) => {
  const c = code(e)
  return c === "ENOENT" || c === "ENOTDIR"
}

/** The top-level store path a logical path inside the store belongs to, if any. */
export const storePathOf = (storeDir: string, target: string): string | undefined => {
  const r = toStorePath(storeDir, target)
  return Either.isRight(r) ? storePathToString(storeDir, r.right.path) : undefined
}

/** Whether a path is inside the logical store directory. */
export const isInStore = (storeDir: string, p: string): boolean => p.startsWith(storeDir + "/")

/** Whether byte path `p` is inside directory `dir`. */
const isInDirBytes = (p: Buffer, dir: Buffer) =>
  p.length > dir.length + 1 && p[dir.length] === 0x2f && p.subarray(0, dir.length).equals(dir)

/**
 * Scans `dir` (a real directory, e.g. `<state>/gcroots`) for roots, adding
 * them to `roots`. Stale links under `autoDir` are removed (logged).
 */
export const scanRootsDir = (
  storeDir: string,
  dir: string,
  autoDir: string,
  roots: RootMap
): Effect.Effect<void, GcRootsError> =>
  Effect.gen(function*() {
    const fail = (p: string, operation: string) => (cause: unknown) => new GcRootsError({ path: p, operation, cause })
    const logs: Array<string> = []
    // Byte paths throughout: a root's name or target need not be valid UTF-8, and a decoded
    // name would not reach the link (the root would be missed, its path collected).
    const autoBytes = Buffer.from(autoDir)
    const walk = async (pb: Buffer, top: boolean): Promise<void> => {
      const p = displayPath(pb)
      let st
      try {
        st = await fs.lstat(pb)
      } catch (e) {
        if (vanished(e)) return
        throw fail(p, "getting status of")(e)
      }
      if (st.isDirectory()) {
        let names: Array<Buffer>
        try {
          names = await fs.readdir(pb, { encoding: "buffer" })
        } catch (e) {
          if (vanished(e) && !top) return
          throw fail(p, "reading roots directory")(e)
        }
        names.sort(Buffer.compare)
        for (const n of names) await walk(joinBytes(pb, n), false)
      } else if (st.isSymbolicLink()) {
        let target: Buffer
        try {
          target = await fs.readlink(pb, { encoding: "buffer" })
        } catch (e) {
          if (vanished(e)) return
          throw fail(p, "reading symlink")(e)
        }
        // The store path part is ASCII: decoding (lossy after it) finds it.
        if (isInStore(storeDir, displayPath(target))) {
          const sp = storePathOf(storeDir, displayPath(target))
          if (sp !== undefined) addRoot(roots, sp, p)
          return
        }
        // An indirect root: follow one hop on the real file system.
        const absBytes = resolveBytes(dirnameBytes(pb), target)
        const abs = displayPath(absBytes)
        let st2
        try {
          st2 = await fs.lstat(absBytes)
        } catch (e) {
          if (!vanished(e)) {
            logs.push(`cannot read potential root '${p}'`)
            return
          }
          if (isInDirBytes(pb, autoBytes)) {
            logs.push(`removing stale link from '${p}' to '${abs}'`)
            await fs.unlink(pb).catch((e2: unknown) => {
              if (!vanished(e2)) throw fail(p, "removing stale link")(e2)
            })
          }
          return
        }
        if (!st2.isSymbolicLink()) return
        let target2: string
        try {
          target2 = displayPath(await fs.readlink(absBytes, { encoding: "buffer" }))
        } catch (e) {
          if (vanished(e)) return
          logs.push(`cannot read potential root '${abs}'`)
          return
        }
        if (isInStore(storeDir, target2)) {
          const sp = storePathOf(storeDir, target2)
          if (sp !== undefined) addRoot(roots, sp, abs)
        }
      } else if (st.isFile()) {
        const parsed = parseStorePathBaseName(path.basename(p))
        if (Either.isRight(parsed)) addRoot(roots, storePathToString(storeDir, parsed.right), p)
      }
    }
    yield* Effect.tryPromise({
      try: () => walk(Buffer.from(dir), true),
      catch: (e) => (e instanceof GcRootsError ? e : fail(dir, "scanning roots")(e))
    })
    for (const l of logs) yield* nixInfo(l)
  })

/** The permanent roots of a store: `<state>/gcroots` and `<state>/profiles` (candidates, not yet checked for validity). */
export const findPermanentRoots = (layout: StoreLayout): Effect.Effect<RootMap, GcRootsError> =>
  Effect.gen(function*() {
    const roots: RootMap = new Map()
    const gcroots = path.join(layout.stateDir, "gcroots")
    const auto = path.join(gcroots, "auto")
    yield* scanRootsDir(layout.storeDir, gcroots, auto, roots)
    yield* scanRootsDir(layout.storeDir, path.join(layout.stateDir, "profiles"), auto, roots)
    return roots
  })
