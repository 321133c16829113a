/**
 * The CLI's use of substitution: the settings' substituters and keys,
 * Nix's `copying path '…' from '…'...` lines.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option } from "effect"
import type { Settings } from "../../config/schema.js"
import type { StoreShape } from "../../services/Store.js"
import { openSubstituters, substitutePaths } from "../../stores/substitute.js"
import { trustedKeys } from "./copy.js"

/** Substitutes the invalid ones of `paths` into `store` as the settings say; what stays invalid is left to the caller. */
export const substituteForRealise = (store: StoreShape, settings: Settings, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (paths.length === 0 || !settings.substitute || settings.substituters.length === 0) return
    const publicKeys = yield* trustedKeys(settings)
    yield* substitutePaths(store, paths, {
      substituters: settings.substituters,
      substitute: settings.substitute,
      requireSigs: settings.requireSigs,
      publicKeys,
      onCopy: (p, from) => Effect.logInfo(`copying path '${p}' from '${from}'...`)
    })
  })

/** What a substituter says about a path it has (Nix's SubstitutablePathInfo). */
export interface SubstitutableInfo {
  readonly references: ReadonlyArray<string>
  readonly narSize: number
  /** The compressed NAR's size (the download). */
  readonly downloadSize: number
}

/**
 * The substitutable ones of `paths` (Nix's querySubstitutablePathInfos: the first substituter, by
 * priority, with a narinfo; signatures are checked when fetching, not here). Empty when
 * substitution is off. A substituter that fails is skipped with a warning.
 */
export const querySubstitutable = (storeDir: string, settings: Settings, paths: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const found = new Map<string, SubstitutableInfo>()
    if (paths.length === 0 || !settings.substitute || settings.substituters.length === 0) return found
    const subs = yield* openSubstituters(settings.substituters, storeDir)
    for (const p of paths) {
      for (const sub of subs) {
        const info = yield* Effect.either(sub.queryNarInfo(p))
        if (Either.isLeft(info)) {
          yield* Effect.logWarning(`substituter '${sub.backend.uri}': ${info.left.message}`)
          continue
        }
        if (Option.isNone(info.right)) continue
        const ni = info.right.value
        found.set(p, { references: ni.references, narSize: ni.narSize, downloadSize: ni.fileSize })
        break
      }
    }
    return found
  }))
