/**
 * The error a strict NAR reader reports for a malformed archive.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** Why an archive was rejected (stable, machine-readable). */
export type NarParseErrorKind =
  | "BadMagic"
  | "UnexpectedTag"
  | "TagTooLong"
  | "NonZeroPadding"
  | "Truncated"
  | "TrailingData"
  | "InvalidName"
  | "NameTooLong"
  | "UnsortedEntries"
  | "InvalidTarget"
  | "TargetTooLong"
  | "NonEmptyExecutableMarker"
  | "AbsurdLength"

/** A NAR was malformed; `offset` is the byte position where the problem was found. */
export class NarParseError extends Data.TaggedError("NarParseError")<{
  readonly kind: NarParseErrorKind
  readonly offset: number
  readonly reason: string
}> {
  override get message(): string {
    return `invalid NAR at byte ${this.offset}: ${this.reason}`
  }
}
