/**
 * `tsnix hash`: nix-hash's job with tsnix's defaults.
 *
 * `tsnix hash [--type ALGO] [--base32|--base64|--sri] [--flat] PATH...` prints
 * the hash of each path's NAR serialisation (or of the file's bytes with
 * `--flat`), sha256 in base16 by default. `tsnix hash --to-base16|--to-base32|
 * --to-base64|--to-sri [--type ALGO] HASH...` converts hashes.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Stream } from "effect"
import * as fs from "node:fs"
import { sysErrorText } from "../../core/sysError.js"
import { UsageError } from "../argv.js"
import { ArgumentStatError } from "../storePathArg.js"
import { inNixWords } from "../fsErrors.js"
import { Cli } from "../context.js"
import { printLines } from "../io.js"
import type { Operation } from "../operation.js"
import {
  type Hash,
  type HashAlgo,
  type HashEncoding,
  makeHasher,
  parseHash,
  parseHashAlgo,
  printHash
} from "../../core/hash.js"
import { dumpPath, narHashPath } from "../../io/dump.js"
import type { NarDumpError } from "../../core/nar/ioErrors.js"

/** Reading a file to hash it failed. */
export class HashInputError
  extends Data.TaggedError("HashInputError")<{ readonly path: string; readonly cause: unknown }>
{
  override get message() {
    return `opening file '${this.path}': ${sysErrorText(this.cause)}`
  }
}

/** Hashes a byte stream incrementally. */
export const hashStream = <E, R>(algo: HashAlgo, stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<Hash, E, R> =>
  Effect.suspend(() => {
    const hasher = makeHasher(algo)
    return Stream.runForEach(stream, (chunk) => Effect.sync(() => hasher.update(chunk))).pipe(
      Effect.map(() => hasher.digest())
    )
  })

/** A file's bytes as a stream, read in 1 MiB chunks. */
export const fileStream = (path: string): Stream.Stream<Uint8Array, HashInputError> =>
  Stream.fromAsyncIterable(
    fs.createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>,
    (cause) => new HashInputError({ path, cause })
  )

const chooseEncoding = (flags: ReadonlySet<string>, prefix: "" | "to-"): HashEncoding | undefined => {
  if (flags.has(`${prefix}sri`)) return "sri"
  if (flags.has(`${prefix}base32`)) return "nix32"
  if (flags.has(`${prefix}base64`)) return "base64"
  if (flags.has(`${prefix}base16`)) return "base16"
  return undefined
}

/** The `hash` operation. */
export const hashOperation: Operation = Effect.gen(function*() {
  const { parsed } = yield* Cli
  const typeFlag = parsed.values.get("type")
  // An unknown algorithm is a usage error in Nix (parseHashType throws UsageError).
  const algo = typeFlag === undefined
    ? undefined
    : yield* Either.mapLeft(parseHashAlgo(typeFlag), (e) => new UsageError({ message: e.message }))
  const convertTo = chooseEncoding(parsed.flags, "to-")
  if (convertTo !== undefined) {
    // As `nix hash to-*`: typed input (`algo:…`, SRI) needs no --type; an untyped digest does.
    const out: Array<string> = []
    for (const s of parsed.args) {
      const h = yield* Either.mapLeft(
        parseHash(s, algo),
        (e) => e.reason.startsWith("unknown hash algorithm") ? new UsageError({ message: e.message }) : e
      )
      out.push(printHash(h, convertTo))
    }
    return yield* printLines(out)
  }
  if (parsed.args.length === 0) return yield* new UsageError({ message: "'hash' needs at least one path" })
  const enc = chooseEncoding(parsed.flags, "") ?? "base16"
  const flat = parsed.flags.has("flat")
  const out: Array<string> = []
  for (const p of parsed.args) {
    // nix-hash names the argument as given: "getting status of 'x': No such file or directory".
    if (!flat) {
      yield* Effect.tryPromise({
        try: () => fs.promises.lstat(p),
        catch: (cause) => new ArgumentStatError({ path: p, cause })
      })
    }
    let h: Hash
    if (!flat && (algo ?? "sha256") === "sha256") {
      // The common case: the NAR module's own sha256 pass reuses its buffers.
      h = { algo: "sha256", bytes: (yield* narHashPath(p).pipe(inNixWords(false))).narHash }
    } else {
      const input: Stream.Stream<Uint8Array, HashInputError | NarDumpError> = flat ? fileStream(p) : dumpPath(p)
      h = yield* hashStream(algo ?? "sha256", input).pipe(inNixWords(false))
    }
    out.push(printHash(h, enc))
  }
  yield* printLines(out)
})
