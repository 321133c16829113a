/**
 * `nix-store --export` and `--import` streams.
 *
 * Format, per path: u64 1, the path's NAR, u64 0x4558494e ("NIXE"), the path,
 * its references (u64 count, then each), its deriver (or ""), u64 0 (no
 * legacy signature); after the last path, u64 0. Strings are NAR strings
 * (u64 length, bytes, zero padding to 8). Paths are exported in dependency
 * order (references first), as Nix sorts them. The framing is read and
 * written with the pure codec of core/exportFormat.ts.
 *
 * Export refuses a path whose content no longer matches its registered hash.
 * Import is all-or-nothing, unlike Nix's: every NAR is unpacked into a
 * temporary name first, the hash and size are recomputed, every reference
 * must be valid or come earlier in the stream; only then are the new paths
 * moved into place and registered in one transaction. A stream cut short,
 * inside a NAR or not, is a BadExportStreamError ("the stream ended early").
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs/promises"
import { hashEquals, printHashWithAlgo } from "../../../core/hash.js"
import {
  EXPORT_END,
  EXPORT_MAGIC,
  EXPORT_PATH_START,
  encodeExportTrailer,
  exportDeriverString,
  exportLegacySignature,
  exportMarker,
  exportPathString,
  exportReferenceCount,
  exportReferenceString,
  exportTrailerMagic,
  isExportFormatError
} from "../../../core/exportFormat.js"
import { NarParseError } from "../../../core/nar/errors.js"
import { isDerivationPath, parseStorePath } from "../../../core/storePath.js"
import { topoSort } from "../../../core/topoSort.js"
import { type Decoder, isNeedInput, isWireError, WireReader, WireTruncatedError } from "../../../core/wire/index.js"
import { dumpPath } from "../../../io/dump.js"
import type { NarDumpError } from "../../../core/nar/ioErrors.js"
import { makeNarHasher, tapNarHasher } from "../../../io/hash.js"
import { restoreFromSource } from "../../../io/restore.js"
import { byteSourceFromStream, type ByteSource } from "../../../io/source.js"
import { toRealPath } from "../../../core/storeLayout.js"
import { reportProgress } from "../../../services/Progress.js"
import { PathNotValidError } from "../../../services/errors/database.js"
import type { PathRegistration, ValidPathInfo } from "../../../services/StoreDb.js"
import { canonicaliseChecked, type TreeTally } from "./canonicalise.js"
import { removeTree } from "./removeTree.js"
import type { StoreParts } from "./context.js"
import { derivationOutputsFromBytes } from "./drvOutputs.js"
import { BadExportStreamError, HashMismatchError, StoreIoError } from "../../../services/errors/store.js"
import { autoOptimise } from "./optimise.js"
import { makeRootedTempPath } from "./tempPath.js"
import { isZeroHash, sha256Of, toNix32Form } from "./verify.js"

/** The magic number that follows each NAR in an export stream. */
export const exportMagic = EXPORT_MAGIC

/** The trailer that follows a path's NAR in an export stream. */
export const exportTrailer = (info: ValidPathInfo): Uint8Array =>
  encodeExportTrailer({ path: info.path, references: info.references, deriver: Option.getOrUndefined(info.deriver) })

/** Dumps a valid path and fails at the end if its NAR hash differs from the registered one. */
export const checkedNar = (
  parts: StoreParts,
  info: ValidPathInfo
): Stream.Stream<Uint8Array, HashMismatchError | NarDumpError> =>
  Stream.suspend(() => {
    const hasher = makeNarHasher()
    const check = Effect.suspend(() => {
      const actual = sha256Of(hasher.result().narHash)
      return hashEquals(actual, info.narHash) || isZeroHash(info.narHash)
        ? Effect.void
        : Effect.fail(
          new HashMismatchError({
            path: info.path,
            expected: toNix32Form(info.narHash),
            actual: toNix32Form(actual),
            during: "export"
          })
        )
    })
    return Stream.concat(
      tapNarHasher(hasher)(dumpPath(toRealPath(parts.layout, info.path))),
      Stream.drain(Stream.fromEffect(check))
    )
  })

/** The export stream of `paths` (all must be valid), references first. */
export const exportPaths = (parts: StoreParts, paths: ReadonlyArray<string>) =>
  Stream.unwrap(
    Effect.gen(function*() {
      const unique = [...new Set(paths)]
      const infos = new Map<string, ValidPathInfo>((yield* parts.db.queryPathInfos(unique)).map((i) => [i.path, i]))
      const missing = unique.find((p) => !infos.has(p))
      if (missing !== undefined) return yield* new PathNotValidError({ path: missing })
      const order = yield* topoSort(infos.keys(), (p) => infos.get(p)?.references ?? [])
      order.reverse()
      const items = order.map((p) => {
        const info = infos.get(p) as ValidPathInfo
        return Stream.concat(
          Stream.concat(Stream.make(EXPORT_PATH_START), checkedNar(parts, info)),
          Stream.make(exportTrailer(info))
        )
      })
      return Stream.concat(Stream.concatAll(Chunk.fromIterable(items)), Stream.make(EXPORT_END))
    })
  ).pipe(Stream.withSpan("Store.exportPaths"))

/**
 * Reads one value of the export framing from `source` with a core/wire decoder
 * and gives back to `source` the bytes after it. Malformed framing is a
 * BadExportStreamError with the decoder's message.
 */
const readFraming = <A, E>(source: ByteSource<E>, decoder: Decoder<A>) =>
  Effect.gen(function*() {
    const reader = new WireReader()
    for (;;) {
      const r = reader.read(decoder, isExportFormatError)
      if (isNeedInput(r)) {
        const next = yield* source.pull
        if (Option.isNone(next)) reader.end()
        else reader.feed(next.value)
        continue
      }
      const rest = reader.takeRemainder()
      for (let i = rest.length - 1; i >= 0; i--) source.unread(rest[i] as Uint8Array)
      if (r instanceof WireTruncatedError) {
        return yield* new BadExportStreamError({ reason: `the stream ended early (${r.message})` })
      }
      if (isWireError(r)) return yield* new BadExportStreamError({ reason: r.message })
      if (isExportFormatError(r)) return yield* new BadExportStreamError({ reason: r.reason })
      return r
    }
  })

/** A NAR cut short inside an import stream is the stream ending early, like a cut anywhere else. */
const truncatedNar = (e: NarParseError) =>
  new BadExportStreamError({ reason: `the stream ended early (${e.reason} at byte ${e.offset} of a NAR)` })

/**
 * How many path locks an import holds at once: one lock file descriptor each,
 * kept well below the usual soft limit of 1024 open files.
 */
export const importLockBatch = 128

/** `list` cut into consecutive pieces of at most `size` elements. */
const chunksOf = <A>(list: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

/** One path read from an import stream, unpacked at `temp`. */
interface ImportedItem {
  readonly temp: string
  /** What the restore wrote into `temp` (checked again before it is moved into place). */
  readonly written: TreeTally
  readonly registration: PathRegistration
}

const storePathOf = (parts: StoreParts, s: string, what: string) =>
  Either.match(parseStorePath(parts.layout.storeDir, s), {
    onLeft: (e) => Effect.fail(new BadExportStreamError({ reason: `${what}: ${e.message}` })),
    onRight: () => Effect.succeed(s)
  })

/**
 * Imports an export stream. Returns the paths in stream order (already-valid
 * ones included, as Nix prints them).
 */
export const importPaths = <E>(parts: StoreParts, input: Stream.Stream<Uint8Array, E>) =>
  Effect.scoped(
    Effect.gen(function*() {
      const { db, layout, lock } = parts
      const source = yield* byteSourceFromStream(input)
      const items: Array<ImportedItem> = []
      const temps: Array<string> = []
      // Whatever happens, no temporary copy survives the import.
      yield* Effect.addFinalizer(() => Effect.forEach(temps, (t) => Effect.ignore(removeTree(t)), { discard: true }))
      const seen = new Set<string>()
      const order: Array<string> = []
      const outside: Array<readonly [path: string, reference: string]> = []
      for (;;) {
        if ((yield* readFraming(source, exportMarker)) === "end") break
        const temp = yield* makeRootedTempPath(layout, lock)
        temps.push(temp)
        const { narHash, narSize, entries, bytes: contentBytes } = yield* restoreFromSource(temp, source).pipe(
          Effect.catchIf(
            (e): e is NarParseError => e instanceof NarParseError && e.kind === "Truncated",
            (e) => Effect.fail(truncatedNar(e))
          )
        )
        yield* readFraming(source, exportTrailerMagic)
        const p = yield* storePathOf(parts, yield* readFraming(source, exportPathString), "store path")
        const count = yield* readFraming(source, exportReferenceCount)
        const references: Array<string> = []
        for (let i = 0; i < count; i++) {
          references.push(
            yield* storePathOf(parts, yield* readFraming(source, exportReferenceString), `reference of ${p}`)
          )
        }
        const deriverText = yield* readFraming(source, exportDeriverString)
        const deriver = deriverText === "" ? undefined : yield* storePathOf(parts, deriverText, `deriver of ${p}`)
        yield* readFraming(source, exportLegacySignature)
        // A reference must be earlier in the stream or already valid (checked in bulk below).
        for (const r of references) if (r !== p && !seen.has(r)) outside.push([p, r])
        let derivationOutputs: Record<string, string> | undefined
        if (isDerivationPath(p)) {
          const bytes = yield* Effect.tryPromise({
            try: () => fs.readFile(temp),
            catch: (cause) => new StoreIoError({ path: p, operation: "reading derivation", cause })
          })
          derivationOutputs = yield* derivationOutputsFromBytes(parts.derivations, bytes, p)
        }
        seen.add(p)
        yield* reportProgress({ activity: "importing paths", done: order.length + 1, unit: "paths" })
        order.push(p)
        items.push({
          temp,
          written: { entries, bytes: contentBytes },
          registration: {
            path: p,
            narHash: printHashWithAlgo({ algo: "sha256", bytes: narHash }, "base16"),
            narSize,
            references: Array.from(new Set(references)).sort(),
            deriver,
            derivationOutputs
          }
        })
      }
      const validOutside = new Set(yield* db.queryValidPaths([...new Set(outside.map(([, r]) => r))]))
      const dangling = outside.find(([, r]) => !validOutside.has(r))
      if (dangling !== undefined) {
        return yield* new BadExportStreamError({
          reason: `path '${dangling[0]}' refers to '${dangling[1]}', which is neither valid nor earlier in the stream`
        })
      }
      // Everything read and checked: install the new paths and register them at once.
      //
      // Locks are taken in bounded batches (importLockBatch paths at a time, so one lock file
      // descriptor each, whatever the size of the stream), and each batch is held only while its
      // paths are checked and moved into place; the registration of every path is still one
      // transaction, so nothing is registered unless everything is. Why this is safe:
      // - against a concurrent GC: every path (hash part) is a temporary root of this process
      //   before the first one is moved in, and stays one until the process ends; the GC keeps
      //   a temp-rooted entry (and its `.lock`) whether valid or not, so an installed but not yet
      //   registered path is never deleted;
      // - against a concurrent add of the same path (tsnix or Nix: both lock the path, check its
      //   validity, replace the content and register, all under the path lock): while we hold a
      //   batch's locks nobody else installs those paths; once they are released, another adder
      //   may replace our copy with its own and register it. So the validity of every path is
      //   checked again just before registering, and a path that became valid meanwhile is left
      //   to its adder (its content and registration agree; ours are dropped). The one window
      //   left is an adder whose registration lands between that check and our commit, or that
      //   replaces the content and dies before registering; for the same store path the content
      //   is the same except for a non-reproducible input-addressed path, where verify would
      //   then report the path as modified. Nix's own import has no all-or-nothing at all
      //   (one path locked and registered at a time).
      // - on failure, the installed copies are removed again under their path locks (batch by
      //   batch), and only if they are still invalid, so no concurrent adder's copy is touched.
      for (const item of items) yield* lock.addTempRoot(item.registration.path)
      // The same path twice in the stream: it is installed once, from its first copy, as in Nix
      // (where the later copies find it valid).
      const firsts = new Map<string, ImportedItem>()
      for (const item of items) if (!firsts.has(item.registration.path)) firsts.set(item.registration.path, item)
      const unique = Array.from(firsts.values())
      const installed: Array<ImportedItem> = []
      const inBatches = <A, E2, R2>(
        list: ReadonlyArray<ImportedItem>,
        f: (batch: ReadonlyArray<ImportedItem>) => Effect.Effect<A, E2, R2>
      ) =>
        Effect.forEach(chunksOf(list, importLockBatch), (batch) =>
          Effect.scoped(Effect.gen(function*() {
            const locks = yield* lock.lockPaths(batch.map((i) => i.registration.path), {
              waitMessage: "waiting for locks on imported paths..."
            })
            const out = yield* f(batch)
            // The lock files go with the locks (Nix's deletion protocol), so none is left behind.
            yield* locks.setDeletion(true)
            return out
          })), { discard: true })
      const install = Effect.gen(function*() {
        yield* inBatches(unique, (batch) =>
          Effect.gen(function*() {
            const valid = new Set(yield* db.queryValidPaths(batch.map((i) => i.registration.path)))
            for (const item of batch) {
              if (valid.has(item.registration.path)) continue
              const real = toRealPath(layout, item.registration.path)
              yield* canonicaliseChecked(item.temp, item.written)
              yield* removeTree(real)
              yield* Effect.tryPromise({
                try: () => fs.rename(item.temp, real),
                catch: (cause) => new StoreIoError({ path: real, operation: "renaming into", cause })
              })
              installed.push(item)
              yield* autoOptimise(parts, real)
            }
          }))
        const nowValid = new Set(yield* db.queryValidPaths(installed.map((i) => i.registration.path)))
        yield* db.registerValidPaths(
          installed.filter((i) => !nowValid.has(i.registration.path)).map((i) => i.registration)
        )
      })
      const rollback = inBatches(installed, (batch) =>
        Effect.gen(function*() {
          const valid = new Set(yield* db.queryValidPaths(batch.map((i) => i.registration.path)))
          for (const item of batch) {
            if (!valid.has(item.registration.path)) {
              yield* Effect.ignore(removeTree(toRealPath(layout, item.registration.path)))
            }
          }
        }))
      yield* install.pipe(Effect.onError(() => Effect.ignore(rollback)))
      return order
    })
  ).pipe(Effect.withSpan("Store.importPaths"))
