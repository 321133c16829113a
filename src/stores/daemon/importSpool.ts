/**
 * `importPaths` for a daemon store: the export stream is read and checked
 * whole first, each NAR spooled to a temporary file (never held in memory)
 * and hashed, so a malformed or truncated stream fails before anything
 * reaches the daemon. The caller then adds the paths one by one.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type ExportDecodeError, ExportDecoder, isExportFormatError } from "../../core/exportFormat.js"
import { type Hash } from "../../core/hash.js"
import { isNeedInput } from "../../core/wire/decode.js"
import { isWireError } from "../../core/wire/errors.js"
import { parse as parseStorePath, type StorePath } from "../../core/storePathBrand.js"
import { makeNarHasher } from "../../io/hash.js"
import { BadExportStreamError, StoreIoError } from "../../services/errors/store.js"

/** One path of an export stream, its NAR in `file`. */
export interface SpooledPath {
  readonly path: StorePath
  readonly references: ReadonlyArray<StorePath>
  readonly deriver: Option.Option<StorePath>
  readonly narHash: Hash
  readonly narSize: number
  readonly file: string
}

const describe = (e: ExportDecodeError): BadExportStreamError => {
  if (e._tag === "WireTruncatedError") {
    return new BadExportStreamError({ reason: `the stream ended early (${e.message})` })
  }
  if (e._tag === "NarParseError" && e.kind === "Truncated") {
    return new BadExportStreamError({ reason: `the stream ended early (${e.reason} at byte ${e.offset} of a NAR)` })
  }
  if (isWireError(e)) return new BadExportStreamError({ reason: e.message })
  if (isExportFormatError(e)) return new BadExportStreamError({ reason: e.reason })
  return new BadExportStreamError({ reason: e.reason, offset: e.offset })
}

const storePathOf = (storeDir: string, s: string, what: string) =>
  Either.match(parseStorePath(storeDir, s), {
    onLeft: (e) => Effect.fail(new BadExportStreamError({ reason: `${what}: ${e.message}` })),
    onRight: (p) => Effect.succeed(p)
  })

/** Reads and checks a whole export stream; the spool directory goes with the scope. */
export const spoolExport = <E>(
  storeDir: string,
  input: Stream.Stream<Uint8Array, E>
): Effect.Effect<ReadonlyArray<SpooledPath>, E | BadExportStreamError | StoreIoError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.try({
        try: () => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-import-")),
        catch: (cause) => new StoreIoError({ path: os.tmpdir(), operation: "creating a directory in", cause })
      }),
      (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
    )
    const decoder = new ExportDecoder()
    const out: Array<SpooledPath> = []
    let fd: number | undefined
    let file = ""
    let hasher = makeNarHasher()
    const io = <A>(f: () => A) =>
      Effect.try({ try: f, catch: (cause) => new StoreIoError({ path: file, operation: "writing", cause }) })
    const drain = Effect.gen(function*() {
      for (;;) {
        const ev = decoder.next()
        if (isNeedInput(ev)) return false
        if (ev instanceof Error) return yield* describe(ev)
        switch (ev._tag) {
          case "PathStart":
            file = path.join(dir, String(out.length))
            fd = yield* io(() => fs.openSync(file, "w"))
            hasher = makeNarHasher()
            break
          case "NarBytes": {
            const chunk = ev.chunk
            hasher.update(chunk)
            yield* io(() => fs.writeSync(fd as number, chunk))
            break
          }
          case "PathEnd": {
            yield* io(() => fs.closeSync(fd as number))
            fd = undefined
            const { narHash, narSize } = hasher.result()
            const p = yield* storePathOf(storeDir, ev.trailer.path, "store path")
            const refs: Array<StorePath> = []
            for (const r of ev.trailer.references) refs.push(yield* storePathOf(storeDir, r, "reference"))
            const deriver = ev.trailer.deriver === undefined
              ? Option.none<StorePath>()
              : Option.some(yield* storePathOf(storeDir, ev.trailer.deriver, "deriver"))
            out.push({
              path: p,
              references: refs,
              deriver,
              narHash: { algo: "sha256", bytes: narHash },
              narSize,
              file
            })
            break
          }
          case "End":
            return true
        }
      }
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (fd !== undefined) fs.closeSync(fd)
      })
    )
    let ended = false
    yield* Stream.runForEachWhile(input, (chunk) =>
      Effect.gen(function*() {
        decoder.feed(chunk)
        ended = yield* drain
        return !ended
      }))
    if (!ended) {
      decoder.end()
      ended = yield* drain
      if (!ended) return yield* new BadExportStreamError({ reason: "the stream ended early" })
    }
    return out
  })
