/**
 * Derivations named on the command line, as nix-store and `nix
 * show-derivation` find them: `useDeriver` (an output path stands for its
 * deriver), `derivationFromPath` (the `.drv` must be valid), and the
 * Derivations service for the current store. The `.drv` is always read
 * through the Derivations service.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Data, Effect, Layer, Option } from "effect"
import type { DerivationParseError } from "../core/derivation/errors.js"
import * as DerivationsLive from "../stores/local/derivations.js"
import type { Derivation } from "../core/derivation/schema.js"
import { Derivations, type DerivationsShape } from "../services/Derivations.js"
import type { StoreShape } from "../services/Store.js"
import { isDerivationPath } from "../core/storePath.js"
import { Cli } from "./context.js"

/** The Derivations service reading the current invocation's store. */
export const derivationsLayer = Effect.map(
  Cli,
  ({ layout }) => DerivationsLive.layer(layout).pipe(Layer.provide(NodeFileSystem.layer))
)

/** A derivation named on the command line could not be used (Nix's wording in `message`). */
export class DerivationArgError extends Data.TaggedError("DerivationArgError")<{ readonly message: string }> {}

/** nix-store's `useDeriver`: a `.drv` stands for itself, any other path for its recorded deriver. */
export const useDeriver = (store: StoreShape, p: string) =>
  Effect.gen(function*() {
    if (isDerivationPath(p)) return p
    const info = yield* store.queryPathInfo(p)
    const deriver = Option.flatMap(info, (i) => i.deriver)
    if (Option.isNone(info)) return yield* new DerivationArgError({ message: `path '${p}' is not valid` })
    if (Option.isNone(deriver)) return yield* new DerivationArgError({ message: `deriver of path '${p}' is not known` })
    return deriver.value
  })

/** Nix's message for a file that does not parse as a derivation. */
export const notADerivation = (file: string, e: DerivationParseError) =>
  new DerivationArgError({
    message: `error parsing derivation '${file}': error: expected ${e.expected}, found ${e.found}`
  })

/**
 * nix-store's `derivationFromPath`: the `.drv` must be a valid store path
 * (there is no substituter to fetch it from), then it is read and parsed.
 */
export const derivationFromPath = (store: StoreShape, derivations: DerivationsShape, drvPath: string) =>
  Effect.gen(function*() {
    if (!(yield* store.isValidPath(drvPath))) {
      return yield* new DerivationArgError({ message: `path '${drvPath}' does not exist and cannot be created` })
    }
    const drv: Derivation = yield* derivations.read(drvPath).pipe(
      Effect.catchTag("DerivationParseError", (e) => Effect.fail(notADerivation(drvPath, e)))
    )
    return drv
  })

/** Runs `effect` with the Derivations service of the current store. */
export const withDerivations = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(derivationsLayer, (layer) => Effect.provide(effect, layer))

export { Derivations }
