/**
 * The outputs of a `.drv` to record in DerivationOutputs when it is
 * registered, as Nix 2.8's `registerValidPaths` does (outputs whose path is
 * known: input-addressed and fixed). The bytes are parsed by the Derivations
 * service the store was given (the one readDerivation of the code base).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { recordedOutputPaths } from "../../../core/derivation/outputs.js"
import type { DerivationsShape } from "../../../services/Derivations.js"

/** Output name → path of the derivation held in `bytes` (file named for errors). */
export const derivationOutputsFromBytes = (derivations: DerivationsShape, bytes: Uint8Array, file: string) =>
  Effect.map(derivations.parse(bytes, { file }), recordedOutputPaths)
