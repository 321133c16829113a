/**
 * Text formats of `nix-store --dump-db`, `--load-db` and `--register-validity`
 * (pure: no I/O). One item per line: path, [narHash base16, narSize,] deriver
 * (empty line when none), reference count, references.
 *
 * @since 0.1.0
 */
import { Data, Either, Option } from "effect"
import type { Hash } from "./hash.js"
import { parseHash, printHash, printHashWithAlgo } from "./hash.js"
import { parseStorePath } from "./storePath.js"

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

/** What `printDumpDb` needs of a path's info (a typed ValidPathInfo has it all). */
export interface DumpDbInfo {
  readonly path: string
  readonly narHash: Hash
  readonly narSize: number
  readonly deriver: Option.Option<string>
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

/** Prints records as `nix-store --dump-db` does (references sorted, hash base16 without algorithm). */
export const printDumpDb = (infos: ReadonlyArray<DumpDbInfo>): string => {
  const out: Array<string> = []
  for (const i of infos) {
    out.push(
      i.path,
      printHash(i.narHash, "base16"),
      String(i.narSize),
      Option.getOrElse(i.deriver, () => ""),
      String(i.references.length)
    )
    for (const r of [...i.references].sort()) out.push(r)
  }
  return out.length === 0 ? "" : out.join("\n") + "\n"
}

/** Options of the validity parsers. */
export interface ValidityParseOptions {
  readonly storeDir: string
  /** True for `--load-db` and `--register-validity --hash-given`: hash and size lines follow each path. */
  readonly hashGiven: boolean
}

/**
 * An incremental parser of validity records: text goes in piece by piece
 * (pieces may end anywhere, mid-line included), so input of any size is
 * parsed as it arrives and never held whole. After an error, further input
 * is ignored and the same error is returned.
 */
export interface ValidityParser {
  /** Parses what `text` completes; the first error, if any. */
  readonly push: (text: string) => ValidityParseError | undefined
  /** Ends the input: every record, or the first error (e.g. a record cut short). */
  readonly end: () => Either.Either<Array<ValidityRecord>, ValidityParseError>
}

/**
 * The longest line accepted. Valid lines are far shorter (a store path is at
 * most ~260 characters); the limit keeps input without newlines (a binary
 * file piped in by mistake) from being buffered whole before it fails.
 */
const MAX_LINE = 4096

const lineTooLong = (line: number) =>
  new ValidityParseError({ line, reason: `line too long (more than ${MAX_LINE} characters)` })

/** What the next line of a record holds. */
const enum Field {
  Path,
  Hash,
  Size,
  Deriver,
  Count,
  Reference
}

/**
 * A fresh {@link ValidityParser}. The input is ASCII when it is valid (store
 * paths, base16 hashes, numbers), so callers may decode bytes as latin1: any
 * other byte then fails the line it is on.
 */
export const makeValidityParser = (options: ValidityParseOptions): ValidityParser => {
  const fastPath = new RegExp(
    `^${
      options.storeDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    }/[0-9a-df-np-sv-z]{32}-[a-zA-Z0-9+_?=-][a-zA-Z0-9+._?=-]{0,210}$`
  )
  const records: Array<ValidityRecord> = []
  let carry = ""
  let lineNo = 0
  let failure: ValidityParseError | undefined
  // The record being read.
  let field = Field.Path
  let path = ""
  let narHash: string | undefined
  let narSize: number | undefined
  let deriver: string | undefined
  let references: Array<string> = []
  let remaining = 0

  const storePath = (s: string | undefined, what: string): string | ValidityParseError => {
    if (s === undefined) {
      return new ValidityParseError({ line: lineNo, reason: `unexpected end of input, expected ${what}` })
    }
    // Fast path for the common case; anything unusual goes through the full parser.
    if (fastPath.test(s)) return s
    const p = parseStorePath(options.storeDir, s)
    return Either.isLeft(p)
      ? new ValidityParseError({ line: lineNo, reason: `bad ${what} ${JSON.stringify(s)}: ${p.left.reason}` })
      : s
  }
  const count = (s: string | undefined, what: string): number | ValidityParseError =>
    s !== undefined && /^[0-9]{1,15}$/.test(s)
      ? Number(s)
      : new ValidityParseError({ line: lineNo, reason: `number expected (${what}), got ${JSON.stringify(s)}` })
  const finishRecord = () => {
    records.push({ path, narHash, narSize, deriver, references })
    references = []
    field = Field.Path
  }

  /** One line, or `undefined` for the end of the input; the error it causes, if any. */
  const line = (l: string | undefined): ValidityParseError | undefined => {
    lineNo++ // counts a missing line too, so end-of-input errors name the line expected
    if (l !== undefined && l.length > MAX_LINE) return lineTooLong(lineNo)
    switch (field) {
      case Field.Path: {
        if (l === undefined) return undefined
        const p = storePath(l, "store path")
        if (typeof p !== "string") return p
        path = p
        narHash = undefined
        narSize = undefined
        deriver = undefined
        field = options.hashGiven ? Field.Hash : Field.Deriver
        return undefined
      }
      case Field.Hash: {
        if (l !== undefined && base16Sha256.test(l)) {
          narHash = `sha256:${l}`
        } else {
          const h = l === undefined ? undefined : parseHash(l, "sha256")
          if (h === undefined || Either.isLeft(h) || h.right.algo !== "sha256") {
            // Nix's BadHash wording where there is a line to blame ("hash 'x' has wrong length …").
            const reason = h !== undefined && Either.isLeft(h)
              ? h.left.message
              : `sha256 hash expected, got ${JSON.stringify(l)}`
            return new ValidityParseError({ line: lineNo, reason })
          }
          narHash = printHashWithAlgo(h.right, "base16")
        }
        field = Field.Size
        return undefined
      }
      case Field.Size: {
        const n = count(l, "NAR size")
        if (typeof n !== "number") return n
        narSize = n
        field = Field.Deriver
        return undefined
      }
      case Field.Deriver: {
        if (l === undefined) {
          return new ValidityParseError({ line: lineNo, reason: "unexpected end of input, expected deriver" })
        }
        if (l !== "") {
          const d = storePath(l, "deriver")
          if (typeof d !== "string") return d
          deriver = d
        }
        field = Field.Count
        return undefined
      }
      case Field.Count: {
        const n = count(l, "reference count")
        if (typeof n !== "number") return n
        remaining = n
        if (n === 0) finishRecord()
        else field = Field.Reference
        return undefined
      }
      case Field.Reference: {
        const r = storePath(l, "reference")
        if (typeof r !== "string") return r
        references.push(r)
        if (--remaining === 0) finishRecord()
        return undefined
      }
    }
  }

  const push = (text: string): ValidityParseError | undefined => {
    if (failure !== undefined) return failure
    const s = carry === "" ? text : carry + text
    let pos = 0
    for (let nl = s.indexOf("\n", pos); nl >= 0; nl = s.indexOf("\n", pos)) {
      const e = line(s.slice(pos, nl))
      pos = nl + 1
      if (e !== undefined) {
        failure = e
        carry = ""
        return e
      }
    }
    carry = pos === 0 ? s : s.slice(pos)
    if (carry.length > MAX_LINE) {
      // The next line is already too long: fail now rather than buffer the rest of it.
      failure = lineTooLong(lineNo + 1)
      carry = ""
    }
    return failure
  }

  const end = (): Either.Either<Array<ValidityRecord>, ValidityParseError> => {
    if (failure === undefined && carry !== "") {
      // The last line had no newline.
      failure = line(carry)
      carry = ""
    }
    failure ??= line(undefined)
    return failure === undefined ? Either.right(records) : Either.left(failure)
  }

  return { push, end }
}

/**
 * Parses validity records. `hashGiven` (true for `--load-db` and
 * `--register-validity --hash-given`) expects the hash and size lines.
 */
export const parseValidity = (
  text: string,
  options: ValidityParseOptions
): Either.Either<Array<ValidityRecord>, ValidityParseError> => {
  const parser = makeValidityParser(options)
  parser.push(text)
  return parser.end()
}
