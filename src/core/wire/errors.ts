/**
 * The typed errors of malformed wire input.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** The input ended inside a value: `expected` bytes were wanted, `got` were there. */
export class WireTruncatedError extends Data.TaggedError("WireTruncatedError")<{
  readonly offset: number
  readonly expected: number
  readonly got: number
}> {
  override get message(): string {
    return `unexpected end of input: expected ${this.expected} bytes, got ${this.got}`
  }
}

/** The padding after a string was not zero. */
export class WirePaddingError extends Data.TaggedError("WirePaddingError")<{
  readonly offset: number
  readonly what: string
}> {
  override get message(): string {
    return `non-zero padding after ${this.what}`
  }
}

/** A string's length is above the bound the caller set. */
export class WireLengthError extends Data.TaggedError("WireLengthError")<{
  readonly offset: number
  readonly what: string
  readonly length: bigint
  readonly max: number
}> {
  override get message(): string {
    return `${this.what} is ${this.length} bytes long, which is absurd`
  }
}

/** An integer (a count, a size) is above the bound the caller set (Nix: "too large for type"). */
export class WireIntegerError extends Data.TaggedError("WireIntegerError")<{
  readonly offset: number
  readonly what: string
  readonly value: bigint
  readonly max: number
}> {
  override get message(): string {
    return `serialised integer ${this.value} is too large for ${this.what}`
  }
}

/** Any malformed wire input. */
export type WireError = WireTruncatedError | WirePaddingError | WireLengthError | WireIntegerError

/** True for the errors of this module. */
export const isWireError = (e: unknown): e is WireError =>
  e instanceof WireTruncatedError || e instanceof WirePaddingError || e instanceof WireLengthError ||
  e instanceof WireIntegerError
