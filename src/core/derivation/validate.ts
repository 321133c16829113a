/**
 * Validation of derivations against Nix's rules.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import { parseStorePath, validateStorePathName } from "../storePath.js"
import { outputKind } from "./schema.js"
import type { Derivation } from "./schema.js"
import { DerivationValidationError } from "./errors.js"
import { derivationType, fixedOutputPath, validateOutputName } from "./outputs.js"

const invalid = (drv: Derivation, reason: string) =>
  Either.left(new DerivationValidationError({ name: drv.name, reason }))

/**
 * Checks everything that needs no input derivations: the name; the
 * derivation type (fixed-output derivations have exactly one output, `out`);
 * output names; fixed outputs' algorithm, hash, declared path and env var;
 * input derivations are store paths ending in `.drv` with at least one
 * output; input sources are store paths.
 */
export const validateDerivationShape = (
  drv: Derivation,
  storeDir = "/nix/store"
): Either.Either<void, DerivationValidationError> => {
  if (Either.isLeft(validateStorePathName(drv.name + ".drv"))) {
    return invalid(drv, `invalid derivation name '${drv.name}'`)
  }
  const type = derivationType(drv)
  if (Either.isLeft(type)) return Either.left(type.left)
  for (const [name, o] of drv.outputs) {
    const v = validateOutputName(drv, name)
    if (Either.isLeft(v)) return Either.left(v.left)
    const k = outputKind(o)
    if (k._tag === "Fixed") {
      const f = fixedOutputPath(drv, name, o, storeDir)
      if (Either.isLeft(f)) return Either.left(f.left)
      if (o.path !== f.right.path) {
        return invalid(drv, `output '${name}' has path '${o.path}', should be '${f.right.path}'`)
      }
      if (drv.env.get(name) !== f.right.path) {
        return invalid(drv, `environment variable '${name}' should be '${f.right.path}'`)
      }
    } else if (k._tag === "InputAddressed" && Either.isLeft(parseStorePath(storeDir, o.path))) {
      return invalid(drv, `output '${name}' has an invalid store path '${o.path}'`)
    }
  }
  for (const [p, outs] of drv.inputDrvs) {
    if (!p.endsWith(".drv")) return invalid(drv, `input derivation '${p}' does not end in '.drv'`)
    if (Either.isLeft(parseStorePath(storeDir, p))) {
      return invalid(drv, `input derivation '${p}' is not a valid store path`)
    }
    if (outs.length === 0) return invalid(drv, `input derivation '${p}' lists no outputs`)
    if (new Set(outs).size !== outs.length) return invalid(drv, `input derivation '${p}' lists an output twice`)
  }
  if (new Set(drv.inputSrcs).size !== drv.inputSrcs.length) return invalid(drv, "an input source is listed twice")
  for (const p of drv.inputSrcs) {
    if (Either.isLeft(parseStorePath(storeDir, p))) return invalid(drv, `input source '${p}' is not a valid store path`)
  }
  return Either.right(undefined)
}

/**
 * Checks declared input-addressed output paths (and the env vars named after
 * outputs) against the computed ones (from `computeOutputPaths`), as Nix's
 * `checkDerivationOutputs` does.
 */
export const checkOutputPaths = (
  drv: Derivation,
  computed: ReadonlyMap<string, string>
): Either.Either<void, DerivationValidationError> => {
  for (const [name, o] of drv.outputs) {
    if (outputKind(o)._tag !== "InputAddressed") continue
    const want = computed.get(name)
    if (want === undefined) return invalid(drv, `output '${name}' has no computable path`)
    if (o.path !== want) return invalid(drv, `output '${name}' has path '${o.path}', should be '${want}'`)
    if (drv.env.get(name) !== want) return invalid(drv, `environment variable '${name}' should be '${want}'`)
  }
  return Either.right(undefined)
}
