/**
 * `nix-store --export` and `--import` streams.
 *
 * Format, per path: u64 1, the path's NAR, u64 0x4558494e ("NIXE"), the path,
 * its references (u64 count, then each), its deriver (or ""), u64 0 (no
 * legacy signature); after the last path, u64 0. Strings are NAR strings
 * (u64 length, bytes, zero padding to 8). Paths are exported in dependency
 * order (references first), as Nix sorts them.
 *
 * Export refuses a path whose content no longer matches its registered hash.
 * Import is all-or-nothing, unlike Nix's: every NAR is unpacked into a
 * temporary name first, the hash and size are recomputed, every reference
 * must be valid or come earlier in the stream; only then are the new paths
 * moved into place and registered in one transaction.
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs/promises"
import { printHashWithAlgo } from "../core/hash.js"
import { encodeU64, str } from "../core/nar/encode.js"
import { parseStorePath } from "../core/storePath.js"
import { topoSort } from "../core/topoSort.js"
import { dumpPath } from "../nar/dump.js"
import type { NarDumpError } from "../nar/errors.js"
import { makeNarHasher, tapNarHasher } from "../nar/hash.js"
import { restoreFromSource } from "../nar/restore.js"
import { byteSourceFromStream, readExactly, type ByteSource, UnexpectedEndOfInput } from "../nar/source.js"
import { toRealPath } from "../schema/StoreLayout.js"
import { reportProgress } from "../services/Progress.js"
import { PathNotValidError } from "../db/errors.js"
import type { PathRegistration, ValidPathInfo } from "../services/StoreDb.js"
import { canonicalisePath } from "./canonicalise.js"
import { removeTree } from "./removeTree.js"
import type { StoreParts } from "./context.js"
import { derivationOutputsFromBytes, isDerivationPath } from "./drvOutputs.js"
import { BadExportStreamError, HashMismatchError, StoreIoError } from "./errors.js"
import { autoOptimise } from "./optimise.js"
import { makeTempPath } from "./tempPath.js"
import { toNix32Form, zeroHash } from "./verify.js"

/** The magic number that follows each NAR in an export stream. */
export const exportMagic = 0x4558494e


/** The trailer that follows a path's NAR in an export stream. */
export const exportTrailer = (info: ValidPathInfo): Uint8Array =>
  Buffer.concat([
    encodeU64(exportMagic),
    str(info.path),
    encodeU64(info.references.length),
    ...info.references.map((r) => str(r)),
    str(Option.getOrElse(info.deriver, () => "")),
    encodeU64(0)
  ])

/** Dumps a valid path and fails at the end if its NAR hash differs from the registered one. */
export const checkedNar = (parts: StoreParts, info: ValidPathInfo): Stream.Stream<Uint8Array, HashMismatchError | NarDumpError> =>
  Stream.suspend(() => {
    const hasher = makeNarHasher()
    const check = Effect.suspend(() => {
      const actual = printHashWithAlgo({ algo: "sha256", bytes: hasher.result().narHash }, "base16")
      return actual === info.narHash.toLowerCase() || info.narHash === zeroHash
        ? Effect.void
        : Effect.fail(
          new HashMismatchError({ path: info.path, expected: toNix32Form(info.narHash), actual: toNix32Form(actual), during: "export" })
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
      const infos = new Map((yield* parts.db.queryPathInfos(unique)).map((i) => [i.path, i] as const))
      const missing = unique.find((p) => !infos.has(p))
      if (missing !== undefined) return yield* new PathNotValidError({ path: missing })
      const order = yield* topoSort(infos.keys(), (p) => infos.get(p)?.references ?? [])
      order.reverse()
      const items = order.map((p) => {
        const info = infos.get(p) as ValidPathInfo
        return Stream.concat(
          Stream.concat(Stream.make(encodeU64(1)), checkedNar(parts, info)),
          Stream.make(exportTrailer(info))
        )
      })
      return Stream.concat(Stream.concatAll(Chunk.fromIterable(items)), Stream.make(encodeU64(0)))
    })
  ).pipe(Stream.withSpan("Store.exportPaths"))

const readU64 = <E>(source: ByteSource<E>) =>
  Effect.map(readExactly(source, 8), (b) => {
    const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true)
    return v
  })

const maxStringLength = 4096

const readString = <E>(source: ByteSource<E>, what: string) =>
  Effect.gen(function*() {
    const len = yield* readU64(source)
    if (len > BigInt(maxStringLength)) {
      return yield* new BadExportStreamError({ reason: `${what} is ${len} bytes long, which is absurd` })
    }
    const n = Number(len)
    const padded = n + ((8 - (n % 8)) % 8)
    const bytes = yield* readExactly(source, padded)
    for (let i = n; i < padded; i++) {
      if (bytes[i] !== 0) return yield* new BadExportStreamError({ reason: `non-zero padding after ${what}` })
    }
    return Buffer.from(bytes.subarray(0, n)).toString("utf8")
  })

/** One path read from an import stream, unpacked at `temp`. */
interface ImportedItem {
  readonly temp: string
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
        const n = yield* readU64(source)
        if (n === 0n) break
        if (n !== 1n) {
          return yield* new BadExportStreamError({ reason: "input doesn't look like something created by 'nix-store --export'" })
        }
        const temp = makeTempPath(layout)
        temps.push(temp)
        const { narHash, narSize } = yield* restoreFromSource(temp, source)
        const magic = yield* readU64(source)
        if (magic !== BigInt(exportMagic)) {
          return yield* new BadExportStreamError({ reason: "Nix archive cannot be imported; wrong format" })
        }
        const p = yield* storePathOf(parts, yield* readString(source, "store path"), "store path")
        const count = yield* readU64(source)
        if (count > 1_000_000n) return yield* new BadExportStreamError({ reason: `absurd reference count ${count}` })
        const references: Array<string> = []
        for (let i = 0n; i < count; i++) {
          references.push(yield* storePathOf(parts, yield* readString(source, "reference"), `reference of ${p}`))
        }
        const deriverText = yield* readString(source, "deriver")
        const deriver = deriverText === "" ? undefined : yield* storePathOf(parts, deriverText, `deriver of ${p}`)
        if ((yield* readU64(source)) === 1n) yield* readString(source, "signature")
        // A reference must be earlier in the stream or already valid (checked in bulk below).
        for (const r of references) if (r !== p && !seen.has(r)) outside.push([p, r])
        let derivationOutputs: Record<string, string> | undefined
        if (isDerivationPath(p)) {
          const bytes = yield* Effect.tryPromise({
            try: () => fs.readFile(temp),
            catch: (cause) => new StoreIoError({ path: p, operation: "reading derivation", cause })
          })
          derivationOutputs = yield* derivationOutputsFromBytes(bytes, p)
        }
        seen.add(p)
        yield* reportProgress({ activity: "importing paths", done: order.length + 1, unit: "paths" })
        order.push(p)
        items.push({
          temp,
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
      for (const item of items) yield* lock.addTempRoot(item.registration.path)
      const locks = yield* lock.lockPaths(items.map((i) => i.registration.path), { waitMessage: "waiting for locks on imported paths..." })
      const valid = new Set(yield* db.queryValidPaths(items.map((i) => i.registration.path)))
      const fresh = new Map<string, ImportedItem>()
      for (const item of items) if (!valid.has(item.registration.path)) fresh.set(item.registration.path, item)
      const installed: Array<string> = []
      const install = Effect.gen(function*() {
        for (const item of fresh.values()) {
          const real = toRealPath(layout, item.registration.path)
          yield* canonicalisePath(item.temp)
          yield* removeTree(real)
          yield* Effect.tryPromise({ try: () => fs.rename(item.temp, real), catch: (cause) => new StoreIoError({ path: real, operation: "renaming into", cause }) })
          installed.push(real)
          yield* autoOptimise(parts, real)
        }
        yield* db.registerValidPaths(Array.from(fresh.values(), (i) => i.registration))
      })
      yield* install.pipe(Effect.onError(() => Effect.forEach(installed, (r) => Effect.ignore(removeTree(r)), { discard: true })))
      yield* locks.setDeletion(true)
      return order
    })
  ).pipe(
    Effect.mapError((e) =>
      e instanceof UnexpectedEndOfInput ? new BadExportStreamError({ reason: `the stream ended early (${e.message})` }) : e
    ),
    Effect.withSpan("Store.importPaths")
  )

