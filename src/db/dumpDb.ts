/**
 * Text formats of `nix-store --dump-db`, `--load-db` and `--register-validity`
 * (pure: no I/O). One item per line: path, [narHash base16, narSize,] deriver
 * (empty line when none), reference count, references.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"
import { parseHash, printHash, printHashWithAlgo } from "../core/hash.js"
import { parseStorePath } from "../core/storePath.js"

/** One record of the validity-registration text format. */
export interface ValidityRecord {
  readonly path: string
  /** `sha256:<base16>`; absent in plain `--register-validity` input. */
  readonly narHash?: string | undefined
  readonly narSize?: number | undefined
  /** Absent when the deriver line is empty. */
  readonly deriver?: string | undefined
  readonly references: ReadonlyArray<string>
}

/** What `printDumpDb` needs of a path's info. */
export interface DumpDbInfo {
  readonly path: string
  /** `sha256:<base16>` (as stored in the database) or any form parseHash accepts. */
  readonly narHash: string
  readonly narSize: number
  readonly deriver?: string | undefined
  readonly references: ReadonlyArray<string>
}

/** The validity text could not be parsed. */
export class ValidityParseError extends Data.TaggedError("ValidityParseError")<{
  readonly line: number
  readonly reason: string
}> {
  override get message() {
    return `line ${this.line}: ${this.reason}`
  }
}

const base16Sha256 = /^[0-9a-f]{64}$/

const bareBase16 = (narHash: string): string => {
  const h = parseHash(narHash, "sha256")
  return Either.isRight(h) ? printHash(h.right, "base16") : narHash.replace(/^sha256:/, "")
}

/** Prints records as `nix-store --dump-db` does (references sorted, hash base16 without algorithm). */
export const printDumpDb = (infos: ReadonlyArray<DumpDbInfo>): string => {
  const out: Array<string> = []
  for (const i of infos) {
    out.push(i.path, bareBase16(i.narHash), String(i.narSize), i.deriver ?? "", String(i.references.length))
    for (const r of [...i.references].sort()) out.push(r)
  }
  return out.length === 0 ? "" : out.join("\n") + "\n"
}

/**
 * Parses validity records. `hashGiven` (true for `--load-db` and
 * `--register-validity --hash-given`) expects the hash and size lines.
 */
export const parseValidity = (
  text: string,
  options: { readonly storeDir: string; readonly hashGiven: boolean }
): Either.Either<Array<ValidityRecord>, ValidityParseError> => {
  // Lines are read one at a time (no array of all lines: load-db inputs can be tens of MB).
  // Same lines as text.split("\n") without a trailing empty one.
  const body = text.endsWith("\n") ? text.slice(0, -1) : text
  let pos = text === "" ? 1 : 0
  let lineNo = 0
  const next = (): string | undefined => {
    lineNo++ // counts a missing line too, so end-of-input errors name the line expected
    if (pos > body.length) return undefined
    let nl = body.indexOf("\n", pos)
    if (nl < 0) nl = body.length
    const line = body.slice(pos, nl)
    pos = nl + 1
    return line
  }
  const fastPath = new RegExp(
    `^${options.storeDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/[0-9a-df-np-sv-z]{32}-[a-zA-Z0-9+_?=-][a-zA-Z0-9+._?=-]{0,210}$`
  )
  const records: Array<ValidityRecord> = []
  const fail = (reason: string) => Either.left(new ValidityParseError({ line: lineNo, reason }))
  const storePath = (s: string | undefined, what: string): Either.Either<string, string> => {
    if (s === undefined) return Either.left(`unexpected end of input, expected ${what}`)
    // Fast path for the common case; anything unusual goes through the full parser.
    if (fastPath.test(s)) return Either.right(s)
    const p = parseStorePath(options.storeDir, s)
    return Either.isLeft(p) ? Either.left(`bad ${what} ${JSON.stringify(s)}: ${p.left.reason}`) : Either.right(s)
  }
  const count = (s: string | undefined, what: string): Either.Either<number, string> =>
    s !== undefined && /^[0-9]{1,15}$/.test(s) ? Either.right(Number(s)) : Either.left(`${what} expected, got ${JSON.stringify(s)}`)
  for (let first = next(); first !== undefined; first = next()) {
    const path = storePath(first, "store path")
    if (Either.isLeft(path)) return fail(path.left)
    let narHash: string | undefined
    let narSize: number | undefined
    if (options.hashGiven) {
      const hashLine = next()
      if (hashLine !== undefined && base16Sha256.test(hashLine)) {
        narHash = `sha256:${hashLine}`
      } else {
        const h = hashLine === undefined ? undefined : parseHash(hashLine, "sha256")
        if (h === undefined || Either.isLeft(h) || h.right.algo !== "sha256") {
          return fail(`sha256 hash expected, got ${JSON.stringify(hashLine)}`)
        }
        narHash = printHashWithAlgo(h.right, "base16")
      }
      const n = count(next(), "NAR size")
      if (Either.isLeft(n)) return fail(n.left)
      narSize = n.right
    }
    const deriverLine = next()
    if (deriverLine === undefined) return fail("unexpected end of input, expected deriver")
    let deriver: string | undefined
    if (deriverLine !== "") {
      const d = storePath(deriverLine, "deriver")
      if (Either.isLeft(d)) return fail(d.left)
      deriver = d.right
    }
    const n = count(next(), "reference count")
    if (Either.isLeft(n)) return fail(n.left)
    const references: Array<string> = []
    for (let k = 0; k < n.right; k++) {
      const r = storePath(next(), "reference")
      if (Either.isLeft(r)) return fail(r.left)
      references.push(r.right)
    }
    records.push({ path: path.right, narHash, narSize, deriver, references })
  }
  return Either.right(records)
}
