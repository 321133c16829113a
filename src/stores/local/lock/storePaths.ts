/**
 * The store-path checks the Lock service needs (kept local and minimal: a lock
 * only needs the path to be one component directly under the store directory).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { LockPathError } from "../../../services/Lock.js"

/**
 * Checks that `path` is `<storeDir>/<name>` with a single, non-empty name
 * component other than `.` and `..`, and no NUL byte.
 */
export const checkStorePath = (storeDir: string, path: string): Effect.Effect<string, LockPathError> => {
  const prefix = storeDir === "/" ? "/" : storeDir + "/"
  const fail = (reason: string) => Effect.fail(new LockPathError({ path, reason }))
  if (!path.startsWith(prefix)) return fail(`not in the store directory '${storeDir}'`)
  const name = path.slice(prefix.length)
  if (name.length === 0 || name === "." || name === "..") return fail("empty or special name")
  if (name.includes("/")) return fail("not a top-level store path")
  if (name.includes("\0")) return fail("contains a NUL byte")
  return Effect.succeed(path)
}

/** Checks every path with {@link checkStorePath}, then sorts (by code unit, i.e. byte order for ASCII) and deduplicates. */
export const sortedStorePaths = (
  storeDir: string,
  paths: Iterable<string>
): Effect.Effect<ReadonlyArray<string>, LockPathError> =>
  Effect.map(
    Effect.forEach(Array.from(paths), (p) => checkStorePath(storeDir, p)),
    (ps) => Array.from(new Set(ps)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  )
