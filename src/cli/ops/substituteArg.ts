/**
 * The CLI's use of substitution: the settings' substituters and keys,
 * Nix's `copying path '…' from '…'...` lines.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Settings } from "../../config/schema.js"
import type { StoreShape } from "../../services/Store.js"
import { substitutePaths } from "../../stores/substitute.js"
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
