/**
 * Parser for the schema-5 (pre-SQLite) per-path info files `db/info/<basename>`.
 *
 * @since 0.1.0
 */
import { Either } from "effect"

/** The content of one schema-5 info file. */
export interface OldPathInfo {
  /** `sha256:<base16>` as written in the file. */
  readonly hash: string
  readonly references: ReadonlyArray<string>
  readonly deriver: string | undefined
  readonly registrationTime: number
}

/**
 * Parses an info file (`Key: value` lines). Hash is required and must be
 * `sha256:<64 hex>`; unknown keys are ignored; a line without `: ` is an error.
 */
export const parseInfoFile = (text: string): Either.Either<OldPathInfo, string> => {
  let hash: string | undefined
  let references: ReadonlyArray<string> = []
  let deriver: string | undefined
  let registrationTime = 0
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line === "") continue
    const sep = line.indexOf(": ")
    if (sep <= 0) return Either.left(`line ${i + 1} is not "Key: value": ${JSON.stringify(line.slice(0, 80))}`)
    const key = line.slice(0, sep)
    const value = line.slice(sep + 2)
    switch (key) {
      case "Hash":
        if (!/^sha256:[0-9a-f]{64}$/.test(value)) return Either.left(`line ${i + 1}: bad hash ${JSON.stringify(value)}`)
        hash = value
        break
      case "References":
        references = value.split(" ").filter((s) => s !== "")
        if (references.some((r) => !r.startsWith("/"))) return Either.left(`line ${i + 1}: bad reference list`)
        break
      case "Deriver":
        if (value !== "" && !value.startsWith("/")) {
          return Either.left(`line ${i + 1}: bad deriver ${JSON.stringify(value)}`)
        }
        deriver = value === "" ? undefined : value
        break
      case "Registered-At":
        if (!/^[0-9]{1,15}$/.test(value)) {
          return Either.left(`line ${i + 1}: bad registration time ${JSON.stringify(value)}`)
        }
        registrationTime = Number(value)
        break
      default:
        break
    }
  }
  if (hash === undefined) return Either.left("no Hash line")
  return Either.right({ hash, references, deriver, registrationTime })
}
