/**
 * Substitution (Nix's substitution goal, for what a binary cache can give):
 * a path missing from a store is fetched, with its closure, from the first
 * substituter (by the caches' `Priority`, lower first, then the order of
 * `substituters`) that has it and whose narinfo is signed by a trusted key
 * (or is content-addressed), when `require-sigs` is true. An unsigned
 * substitute is skipped with Nix's warning; a substituter that fails is
 * skipped with a warning naming it. This is the function the builder calls
 * before building a derivation's outputs; `-r` of a plain path calls it too.
 * {@link repairFromSubstituters} is the repair of a damaged valid path.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Option } from "effect"
import { checkSignatures, type PublicKeys } from "../core/cache/signing.js"
import { hashEquals, printHashWithAlgo } from "../core/hash.js"
import { PathNotValidError } from "../services/errors/database.js"
import type { LocalStoreShape } from "../services/LocalStore.js"
import type { PathQueryError, StoreShape } from "../services/Store.js"
import { type BinaryCacheStore } from "./binaryCache/store.js"
import { openBinaryCache } from "./binaryCache/open.js"
import { copyClosure } from "./generic/copy.js"

/** What substitution needs from the settings. */
export interface SubstituteOptions {
  /** `substituters` (URIs). */
  readonly substituters: ReadonlyArray<string>
  /** `substitute`: false turns substitution off. */
  readonly substitute: boolean
  /** `require-sigs`. */
  readonly requireSigs: boolean
  /** `trusted-public-keys` (and the public halves of `secret-key-files`). */
  readonly publicKeys: PublicKeys
  /** Called before a path is copied (Nix prints `copying path '…' from '…'...`). */
  readonly onCopy?: ((path: string, from: string) => Effect.Effect<void>) | undefined
}

/** What substitution did. */
export interface SubstituteResult {
  /** Paths now valid in the store thanks to a substituter (requested ones and their closures). */
  readonly substituted: ReadonlyArray<string>
  /** Requested paths that no substituter could give. */
  readonly missing: ReadonlyArray<string>
}

/** Opens the substituters (skipping, with a warning, those that cannot be opened), best priority first. */
export const openSubstituters = (uris: ReadonlyArray<string>, storeDir: string) =>
  Effect.gen(function*() {
    const opened: Array<BinaryCacheStore> = []
    for (const uri of uris) {
      const s = yield* Effect.either(openBinaryCache(uri, storeDir))
      if (Either.isRight(s)) opened.push(s.right)
      else if (s.left._tag === "InvalidBinaryCacheUriError" && s.left.reason.startsWith("tsnix has no")) {
        // A scheme tsnix has no backend for (yet): skipped quietly, or every -r would warn about cache.nixos.org.
        yield* Effect.logDebug(`substituter '${uri}' skipped: ${s.left.message}`)
      } else yield* Effect.logWarning(`substituter '${uri}' cannot be used: ${s.left.message}`)
    }
    // Stable sort: equal priorities keep the order of `substituters`.
    return opened.sort((a, b) => a.cacheInfo.priority - b.cacheInfo.priority)
  })

/**
 * What `sub` says of `p`, if it has it and (with `require-sigs`) a trusted key
 * signed it; a substituter that fails to answer, or a substitute without a
 * trusted signature, is a warning and counts as none.
 */
const trustedInfo = (
  sub: BinaryCacheStore,
  p: string,
  storeDir: string,
  options: SubstituteOptions
) =>
  Effect.gen(function*() {
    const info = yield* Effect.either(sub.queryPathInfo(p))
    if (Either.isLeft(info)) {
      yield* Effect.logWarning(`substituter '${sub.backend.uri}': ${info.left.message}`)
      return Option.none()
    }
    if (Option.isNone(info.right)) return Option.none()
    if (options.requireSigs) {
      const good = checkSignatures(storeDir, info.right.value, options.publicKeys)
      if (Either.isLeft(good) || good.right < 1) {
        yield* Effect.logWarning(
          `the substitute for '${p}' from '${sub.backend.uri}' is not signed by any of the keys in 'trusted-public-keys'`
        )
        return Option.none()
      }
    }
    return info.right
  })

/** Makes `paths` valid in `dst` from the substituters where possible (see the module documentation). */
export const substitutePaths = (dst: StoreShape, paths: ReadonlyArray<string>, options: SubstituteOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const wanted = [...new Set(paths)]
    const invalid = wanted.filter((p) => p !== "")
    const valid = new Set(yield* dst.queryValidPaths(invalid))
    const todo = invalid.filter((p) => !valid.has(p))
    if (todo.length === 0 || !options.substitute || options.substituters.length === 0) {
      return { substituted: [], missing: todo } satisfies SubstituteResult
    }
    const subs = yield* openSubstituters(options.substituters, dst.storeDir)
    const substituted: Array<string> = []
    const missing: Array<string> = []
    for (const p of todo) {
      let done = false
      for (const sub of subs) {
        const info = yield* trustedInfo(sub, p, dst.storeDir, options)
        if (Option.isNone(info)) continue
        const copied = yield* Effect.either(copyClosure(sub, dst, [p], {
          checkSigs: options.requireSigs,
          publicKeys: options.publicKeys,
          onStart: (q) => options.onCopy === undefined ? Effect.void : options.onCopy(q, sub.backend.uri)
        }))
        if (Either.isLeft(copied)) {
          yield* Effect.logWarning(`substituting '${p}' from '${sub.backend.uri}' failed: ${copied.left.message}`)
          continue
        }
        substituted.push(...copied.right.copied)
        done = true
        break
      }
      if (!done) missing.push(p)
    }
    return { substituted, missing } satisfies SubstituteResult
  }))

/** `--repair-path` (or `--verify --repair`) found no substituter that could give the path back. */
export class CannotRepairError extends Data.TaggedError("CannotRepairError")<{ readonly path: string }> {
  override get message(): string {
    return `cannot repair path '${this.path}'`
  }
}

/**
 * Repairs the valid path `p` of `local` from the substituters (Nix's
 * `repairPath`: a substitution in repair mode): the first one (by priority)
 * whose narinfo for `p` is trusted (as in {@link substitutePaths}) and
 * names the NAR hash the store registered gives its NAR, which replaces the
 * path's files once it hashes right. A substituter that fails, or whose NAR
 * is not the registered one, is skipped with a warning. Fails with
 * CannotRepairError when none could (Nix then rebuilds the path's deriver
 * if it is valid; tsnix does not).
 */
export const repairFromSubstituters = (
  store: StoreShape,
  local: LocalStoreShape,
  p: string,
  options: SubstituteOptions
): Effect.Effect<void, CannotRepairError | PathQueryError> =>
  Effect.scoped(Effect.gen(function*() {
    const registered = yield* store.queryPathInfo(p)
    if (Option.isNone(registered)) return yield* new PathNotValidError({ path: p })
    if (!options.substitute || options.substituters.length === 0) return yield* new CannotRepairError({ path: p })
    const subs = yield* openSubstituters(options.substituters, store.storeDir)
    for (const sub of subs) {
      const found = yield* trustedInfo(sub, p, store.storeDir, options)
      if (Option.isNone(found)) continue
      if (!hashEquals(found.value.narHash, registered.value.narHash)) {
        yield* Effect.logWarning(
          `the substitute for '${p}' from '${sub.backend.uri}' has NAR hash '${
            printHashWithAlgo(found.value.narHash, "nix32")
          }', not the registered '${printHashWithAlgo(registered.value.narHash, "nix32")}'`
        )
        continue
      }
      if (options.onCopy !== undefined) yield* options.onCopy(p, sub.backend.uri)
      const repaired = yield* Effect.either(local.repairPath(p, sub.narFromPath(p)))
      if (Either.isLeft(repaired)) {
        yield* Effect.logWarning(`repairing '${p}' from '${sub.backend.uri}' failed: ${repaired.left.message}`)
        continue
      }
      return
    }
    return yield* new CannotRepairError({ path: p })
  }))
