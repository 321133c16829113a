/**
 * Parsing of nix.conf syntax, as Nix reads `nix.conf` files and `NIX_CONFIG`.
 *
 * Pure: text in, ordered `name → value` assignments out. Each non-empty line
 * is `name = value`; `#` starts a comment; values are whitespace-separated
 * tokens joined by single spaces (as Nix normalises them); `extra-NAME`
 * appends to `NAME`. `include`/`!include` directives are reported to the
 * caller, which decides whether to read files.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"

/** One `name = value` line. */
export interface ConfAssignment {
  readonly name: string
  readonly value: string
  /** True for `extra-NAME = …`, which appends to NAME instead of replacing it. */
  readonly append: boolean
  /** 1-based line number in its source. */
  readonly line: number
}

/** A nix.conf line that is neither blank, a comment, an include nor an assignment. */
export class NixConfParseError extends Data.TaggedError("NixConfParseError")<{
  readonly source: string
  readonly line: number
  readonly text: string
}> {
  override get message() {
    return `syntax error in configuration line '${this.text}' in '${this.source}' (line ${this.line})`
  }
}

/**
 * Parses nix.conf text into its assignments, in order. `source` names the
 * text in error messages (a file name or `NIX_CONFIG`).
 */
export const parseNixConf = (
  text: string,
  source: string
): Either.Either<ReadonlyArray<ConfAssignment>, NixConfParseError> => {
  const out: Array<ConfAssignment> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ""
    const hash = raw.indexOf("#")
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim()
    if (line === "") continue
    const tokens = line.split(/[ \t\r]+/).filter((t) => t !== "")
    const first = tokens[0] ?? ""
    if (first === "include" || first === "!include") continue
    if (tokens.length < 2 || tokens[1] !== "=") {
      return Either.left(new NixConfParseError({ source, line: i + 1, text: raw }))
    }
    const value = tokens.slice(2).join(" ")
    const append = first.startsWith("extra-")
    out.push({ name: append ? first.slice("extra-".length) : first, value, append, line: i + 1 })
  }
  return Either.right(out)
}
