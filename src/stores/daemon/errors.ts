/**
 * The daemon's error messages that name a condition the contracts type:
 * they become the contracts' errors (the rest stay RemoteStoreError, their
 * text verbatim).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { PathNotValidError } from "../../services/errors/database.js"
import { PathAliveError } from "../../services/errors/gc.js"
import { HashMismatchError, PathIsTempRootError } from "../../services/errors/store.js"
import type { RemoteStoreError } from "../../services/errors/remote.js"

/** A daemon error as the contracts' error it stands for, when it names one. */
export const typedRemoteError = (
  e: RemoteStoreError
): RemoteStoreError | PathNotValidError | PathAliveError | HashMismatchError | PathIsTempRootError => {
  const msg = e.message
  let m = /^path '([^']+)' is not valid$/.exec(msg)
  if (m !== null) return new PathNotValidError({ path: m[1] as string })
  m = /^Cannot delete path '([^']+)' since it is still alive/.exec(msg)
  if (m !== null) return new PathAliveError({ path: m[1] as string })
  m = /^cannot delete path '([^']+)' since it is a temporary root/.exec(msg)
  if (m !== null) return new PathIsTempRootError({ path: m[1] as string })
  m = /^hash mismatch importing path '([^']+)';\s+specified: (\S+)\s+got:\s+(\S+)/.exec(msg)
  if (m !== null) {
    return new HashMismatchError({ path: m[1] as string, expected: m[2] as string, actual: m[3] as string })
  }
  return e
}

/** Maps a daemon's "path … is not valid" to PathNotValidError (other errors unchanged). */
export const notValidAsTyped = <A, E, R>(eff: Effect.Effect<A, E | RemoteStoreError, R>) =>
  Effect.catchIf(
    eff,
    (e): e is RemoteStoreError => typeof e === "object" && e !== null && "_tag" in e && e._tag === "RemoteStoreError",
    (e) => {
      const t = typedRemoteError(e)
      return Effect.fail(t._tag === "PathNotValidError" ? t : e)
    }
  )
