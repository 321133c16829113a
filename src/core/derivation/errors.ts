/**
 * Typed errors of the derivation codecs.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** A `.drv` file (ATerm) that does not parse. Offsets are 0-based bytes; line and column are 1-based. */
export class DerivationParseError extends Data.TaggedError("DerivationParseError")<{
  /** The file the bytes came from, when known. */
  readonly file?: string
  readonly offset: number
  readonly line: number
  readonly column: number
  /** What the parser wanted at `offset`. */
  readonly expected: string
  /** A short rendering of what it found instead. */
  readonly found: string
}> {
  override get message(): string {
    return `${
      this.file ?? "<derivation>"
    }:${this.line}:${this.column} (byte ${this.offset}): expected ${this.expected}, found ${this.found}`
  }
}

/** JSON that is not a valid `nix show-derivation` document or derivation. */
export class DerivationJsonError extends Data.TaggedError("DerivationJsonError")<{
  /** Where in the document (e.g. `$.env.foo`). */
  readonly at: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid derivation JSON at ${this.at}: ${this.reason}`
  }
}

/** A derivation that parses but breaks one of Nix's rules. */
export class DerivationValidationError extends Data.TaggedError("DerivationValidationError")<{
  readonly name: string
  readonly reason: string
}> {
  override get message(): string {
    return `derivation '${this.name}' is invalid: ${this.reason}`
  }
}

/** An input derivation that could not be looked up (missing, or a cycle). */
export class DerivationResolveError extends Data.TaggedError("DerivationResolveError")<{
  readonly drvPath: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot resolve input derivation '${this.drvPath}': ${this.reason}`
  }
}
