/**
 * The Derivations service: parse, print, read, JSON, modulo hashes, output
 * paths and validation of Nix derivations. Implementations live in
 * `src/stores/local/derivations.ts`; the pure codecs in `src/core/derivation/`.
 *
 * @since 0.1.0
 */
import { Context, Data } from "effect"
import type { Effect } from "effect"
import type { Derivation } from "../core/derivation/schema.js"
import type {
  DerivationJsonError,
  DerivationParseError,
  DerivationResolveError,
  DerivationValidationError
} from "../core/derivation/errors.js"
import type { JsonDerivation, ShowDerivationEntry } from "../core/derivation/json.js"
import type { DrvHashModulo } from "../core/derivation/outputs.js"
import type { ParseOptions } from "../core/derivation/aterm.js"

/** A `.drv` file that could not be read (missing, unreadable, not in the store). */
export class DerivationReadError extends Data.TaggedError("DerivationReadError")<{
  readonly path: string
  readonly reason: string
  /** The file that could not be opened (the real path of a store path), for Nix's wording. */
  readonly file?: string
}> {
  override get message(): string {
    return this.file === undefined
      ? `cannot read derivation '${this.path}': ${this.reason}`
      : `opening file '${this.file}': ${this.reason}`
  }
}

/** Why an input derivation could not be looked up. */
export type DerivationLookupError = DerivationReadError | DerivationParseError | DerivationResolveError

/** Finds the derivation stored at a `.drv` path. */
export type DerivationResolver = (drvPath: string) => Effect.Effect<Derivation, DerivationLookupError>

/** Options for modulo hashes, output paths and validation. */
export interface ResolveOptions {
  /** Looks up input derivations; by default they are read from the service's store. */
  readonly resolve?: DerivationResolver
  /**
   * Memo of input derivations' (unmasked) modulo hashes, keyed by `.drv` path.
   * By default the service's own cache when reading from its store, else a fresh one per call.
   */
  readonly cache?: Map<string, DrvHashModulo>
}

/** Options for {@link DerivationsShape.hashModulo}. */
export interface HashModuloOptions extends ResolveOptions {
  /** Blank output paths and output env vars (to compute the derivation's own outputs). Default false. */
  readonly maskOutputs?: boolean
}

/** The `.drv` store path of a derivation, with the bytes and references it is made from. */
export interface DerivationStorePathInfo {
  readonly path: string
  readonly bytes: Uint8Array
  readonly references: ReadonlyArray<string>
}

/** What `nix show-derivation` prints: the object (text strings) and its exact bytes. */
export interface ShowDerivationResult {
  readonly json: Record<string, ShowDerivationEntry>
  readonly bytes: Uint8Array
}

/** The operations of the Derivations service. */
export interface DerivationsShape {
  /** The logical store directory paths are computed in. */
  readonly storeDir: string
  /** Parses `.drv` bytes (ATerm). */
  readonly parse: (bytes: Uint8Array, options?: ParseOptions) => Effect.Effect<Derivation, DerivationParseError>
  /** Prints the ATerm bytes, exactly as Nix writes the `.drv` file. */
  readonly print: (drv: Derivation) => Effect.Effect<Uint8Array>
  /** Reads and parses a `.drv`: a store path of the service's store, or a plain file. */
  readonly read: (pathOrFile: string) => Effect.Effect<Derivation, DerivationReadError | DerivationParseError>
  /** `nix show-derivation` for these `.drv` store paths or files (keyed by the path as given). */
  readonly showDerivation: (
    paths: ReadonlyArray<string>
  ) => Effect.Effect<ShowDerivationResult, DerivationReadError | DerivationParseError>
  /** The same, for derivations already in hand. */
  readonly toJson: (
    entries: ReadonlyArray<readonly [path: string, drv: Derivation]>
  ) => Effect.Effect<ShowDerivationResult>
  /** Reads `nix show-derivation` JSON bytes: the object keyed by path, or one bare derivation. */
  readonly fromJson: (bytes: Uint8Array) => Effect.Effect<ReadonlyArray<JsonDerivation>, DerivationJsonError>
  /** Nix's `hashDerivationModulo`, resolving input derivations (memoised). */
  readonly hashModulo: (
    drv: Derivation,
    options?: HashModuloOptions
  ) => Effect.Effect<DrvHashModulo, DerivationValidationError | DerivationLookupError>
  /** The output paths Nix computes for this derivation (fixed and input-addressed outputs). */
  readonly outputPaths: (
    drv: Derivation,
    options?: ResolveOptions
  ) => Effect.Effect<ReadonlyMap<string, string>, DerivationValidationError | DerivationLookupError>
  /**
   * Checks the derivation: shape (fixed-output has exactly one output `out`,
   * valid output names, input derivations end in `.drv`, valid store paths)
   * and that declared output paths and their env vars equal the computed ones.
   */
  readonly validate: (
    drv: Derivation,
    options?: ResolveOptions
  ) => Effect.Effect<void, DerivationValidationError | DerivationLookupError>
  /** The `.drv` text path (`<name>.drv`, references = inputSrcs + inputDrvs) and its bytes. */
  readonly storePath: (drv: Derivation) => Effect.Effect<DerivationStorePathInfo, DerivationValidationError>
}

/** The Derivations service tag. */
export class Derivations extends Context.Tag("tsnix/Derivations")<Derivations, DerivationsShape>() {}
