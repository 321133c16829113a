/**
 * A Store over any {@link BinaryCacheBackend} (Nix's BinaryCacheStore): what
 * a binary cache can do.
 *
 * - Queries read `<hash>.narinfo` (parsed and kept in memory); `isValidPath`
 *   is "the narinfo exists", as in Nix. Referrers, valid derivers and
 *   derivation outputs are unknown to a cache: referrers and derivers are
 *   empty, derivation outputs an error.
 * - `narFromPath` streams the NAR file named by the narinfo, decompressed.
 * - `addToStoreNar` streams the NAR once: it is parsed (so a malformed or
 *   truncated NAR is refused), hashed, listed (`write-nar-listing`) and
 *   compressed into a temporary file; then the hash and size are checked
 *   against the info (a mismatch is HashMismatchError and nothing is
 *   written), the references must be in the cache, the NAR file is uploaded
 *   (unless already there), then its listing, and last the narinfo, signed
 *   with `secret-key` when there is one: a narinfo never names a NAR that is
 *   not there.
 * - `addToStore` and `addTextToStore` make the NAR and go through the same
 *   path; `exportPaths`, `importPaths` and `verifyStore` are not something a
 *   cache does (StoreDbError "not supported").
 *
 * Backend failures of queries are StoreDbError (the contract's "metadata
 * could not be read"), with the BinaryCacheBackendError as cause; of NAR
 * reads NarDumpError; of writes StoreIoError.
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { cacheInfoFile, parseCacheInfo } from "../../core/cache/cacheInfo.js"
import type { NarInfo } from "../../core/cache/narInfo.js"
import { makeNarInfo, narInfoFileFor, narUrlFor, parseNarInfo, printNarInfo } from "../../core/cache/narInfo.js"
import { NarListingBuilder, narListingFileFor, printNarListing } from "../../core/cache/narListing.js"
import type { SecretKey } from "../../core/cache/signing.js"
import { signPathInfo } from "../../core/cache/signing.js"
import { fixed as fixedCa, text as textCa } from "../../core/contentAddress.js"
import { hashBytes, hashEquals, type HashAlgo, makeHasher, printHashWithAlgo } from "../../core/hash.js"
import { encodeNar } from "../../core/nar/encode.js"
import { NarParseError } from "../../core/nar/errors.js"
import { NarDumpError } from "../../core/nar/ioErrors.js"
import { NarParser } from "../../core/nar/parser.js"
import type { ValidPathInfo } from "../../core/pathInfo.js"
import {
  makeFixedOutputPath,
  makeTextPath,
  parseStorePathBaseName,
  storePathToString,
  validateStorePathName
} from "../../core/storePath.js"
import type { StorePath } from "../../core/storePathBrand.js"
import { hashPart as hashPartOf, parse as parseStorePath } from "../../core/storePathBrand.js"
import { compareStrings } from "../../core/topoSort.js"
import { dumpPath } from "../../io/dump.js"
import { compress, type CompressionMethod, decompress } from "../../io/compression.js"
import { DanglingReferenceError, PathNotValidError, StoreDbError } from "../../services/errors/database.js"
import { HashMismatchError, StoreIoError } from "../../services/errors/store.js"
import type { QueryError, StoreShape } from "../../services/Store.js"
import * as GenericStore from "../generic/make.js"
import { type BinaryCacheBackend, type BinaryCacheBackendError, mimeTypes } from "./backend.js"

/** How a binary cache store writes (Nix's BinaryCacheStoreConfig). */
export interface BinaryCacheConfig {
  /** The logical store directory (`/nix/store`). */
  readonly storeDir: string
  /** NAR compression (`compression=`, default xz). */
  readonly compression: CompressionMethod
  /** `compression-level` (-1: the codec's default). */
  readonly compressionLevel: number
  /** `parallel-compression`. */
  readonly parallelCompression: boolean
  /** `write-nar-listing`: write `<hash>.ls`. */
  readonly writeNarListing: boolean
  /** `secret-key`: sign every narinfo written. */
  readonly secretKey: Option.Option<SecretKey>
}

/** The cache's own settings from its nix-cache-info (defaults when the file does not say). */
export interface BinaryCacheInfo {
  readonly wantMassQuery: boolean
  readonly priority: number
}

/** A binary cache store: the Store shape plus what the cache said about itself. */
export interface BinaryCacheStore extends StoreShape {
  readonly backend: BinaryCacheBackend
  readonly cacheInfo: BinaryCacheInfo
  /** The narinfo of a path (the Store's queryPathInfo with the cache fields: URL, compression, file hash). */
  readonly queryNarInfo: (path: string) => Effect.Effect<Option.Option<NarInfo>, QueryError>
}

const notSupported = (uri: string, operation: string) =>
  new StoreDbError({ operation, message: `operation '${operation}' is not supported by binary cache '${uri}'` })

const queryFailure = (operation: string) => (e: BinaryCacheBackendError) =>
  new StoreDbError({ operation, message: e.message, cause: e })

const readAll = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

/** A narinfo `URL:` the store follows: relative, inside the cache (`nar/…`), no `..`, no scheme. */
const safeNarUrl = (url: string): boolean =>
  !url.startsWith("/") && !url.includes("://") && !url.split("/").some((s) => s === ".." || s === ".") &&
  !url.includes("\0") && !url.includes("\\")

/**
 * Opens a binary cache over `backend`: initialises it (creating
 * nix-cache-info with `StoreDir` when missing, refusing a cache for another
 * store directory) and returns its Store.
 */
export const makeBinaryCacheStore = (
  backend: BinaryCacheBackend,
  config: BinaryCacheConfig
): Effect.Effect<BinaryCacheStore, StoreDbError> =>
  Effect.gen(function*() {
    const { storeDir } = config
    const uri = backend.uri
    yield* Effect.mapError(backend.init, queryFailure("init"))
    const existing = yield* Effect.mapError(backend.getFile(cacheInfoFile), queryFailure("init"))
    let cacheInfo: BinaryCacheInfo = { wantMassQuery: false, priority: 50 }
    if (Option.isNone(existing)) {
      yield* Effect.mapError(
        backend.upsertFile(cacheInfoFile, Stream.make(Buffer.from(`StoreDir: ${storeDir}\n`)), mimeTypes.cacheInfo),
        queryFailure("init")
      )
    } else {
      const text = (yield* Effect.mapError(readAll(existing.value), queryFailure("init"))).toString("utf8")
      const parsed = yield* Either.match(parseCacheInfo(text, uri), {
        onLeft: (e) => Effect.fail(new StoreDbError({ operation: "init", message: e.message, cause: e })),
        onRight: Effect.succeed
      })
      if (Option.isSome(parsed.storeDir) && parsed.storeDir.value !== storeDir) {
        return yield* new StoreDbError({
          operation: "init",
          message: `binary cache '${uri}' is for Nix stores with prefix '${parsed.storeDir.value}', not '${storeDir}'`
        })
      }
      cacheInfo = {
        wantMassQuery: Option.getOrElse(parsed.wantMassQuery, () => false),
        priority: Option.getOrElse(parsed.priority, () => 50)
      }
    }

    // The narinfos read or written by this process (Nix's pathInfoCache), by hash part.
    const narInfos = new Map<string, NarInfo>()

    const parseStorePathArg = (p: string): Option.Option<StorePath> => Either.getRight(parseStorePath(storeDir, p))

    const queryNarInfo = (p: string): Effect.Effect<Option.Option<NarInfo>, QueryError> =>
      Effect.gen(function*() {
        const sp = parseStorePathArg(p)
        if (Option.isNone(sp)) return Option.none()
        const hp = hashPartOf(sp.value)
        const cached = narInfos.get(hp)
        if (cached !== undefined) return cached.path === sp.value ? Option.some(cached) : Option.none()
        const file = narInfoFileFor(sp.value)
        const got = yield* Effect.mapError(backend.getFile(file), queryFailure("queryPathInfo"))
        if (Option.isNone(got)) return Option.none()
        const text = (yield* Effect.mapError(readAll(got.value), queryFailure("queryPathInfo"))).toString("utf8")
        const ni = yield* Either.match(parseNarInfo(storeDir, text, file), {
          onLeft: (e) => Effect.fail(new StoreDbError({ operation: "queryPathInfo", message: e.message, cause: e })),
          onRight: Effect.succeed
        })
        if (hashPartOf(ni.path) !== hp) {
          return yield* new StoreDbError({
            operation: "queryPathInfo",
            message: `NAR info file '${file}' is for path '${ni.path}'`
          })
        }
        narInfos.set(hp, ni)
        return ni.path === sp.value ? Option.some(ni) : Option.none()
      })

    const queryPathInfo = (p: string) => Effect.map(queryNarInfo(p), Option.map((ni): ValidPathInfo => ni))

    const isValidPath = (p: string): Effect.Effect<boolean, QueryError> => {
      const sp = parseStorePathArg(p)
      if (Option.isNone(sp)) return Effect.succeed(false)
      const cached = narInfos.get(hashPartOf(sp.value))
      if (cached !== undefined) return Effect.succeed(cached.path === sp.value)
      return Effect.mapError(backend.fileExists(narInfoFileFor(sp.value)), queryFailure("isValidPath"))
    }

    const queryValidPaths = (paths: ReadonlyArray<string>) =>
      Effect.map(
        Effect.forEach(paths, (p) => Effect.map(isValidPath(p), (ok) => (ok ? [p] : [])), { concurrency: 8 }),
        (xs) => xs.flat()
      )

    const queryAllValidPaths: Effect.Effect<ReadonlyArray<string>, QueryError> = Effect.gen(function*() {
      if (backend.listFiles === undefined) return yield* notSupported(uri, "queryAllValidPaths")
      const names = yield* Effect.mapError(backend.listFiles, queryFailure("queryAllValidPaths"))
      const out: Array<string> = []
      for (const n of names) {
        if (!/^[0-9a-df-np-sv-z]{32}\.narinfo$/.test(n)) continue
        const hp = n.slice(0, 32)
        const p = yield* queryPathFromHashPart(hp)
        if (Option.isSome(p)) out.push(p.value)
      }
      return out.sort(compareStrings)
    })

    const queryPathFromHashPart = (hp: string): Effect.Effect<Option.Option<string>, QueryError> =>
      Effect.gen(function*() {
        const cached = narInfos.get(hp)
        if (cached !== undefined) return Option.some(cached.path)
        // Any name will do to read the narinfo by its hash part; the narinfo gives the real path.
        const probe = `${storeDir}/${hp}-x`
        if (Either.isLeft(parseStorePath(storeDir, probe))) return Option.none()
        yield* queryNarInfo(probe)
        const ni = narInfos.get(hp)
        return ni === undefined ? Option.none() : Option.some(ni.path)
      })

    const queryPathInfos = (paths?: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const list = paths ?? (yield* queryAllValidPaths)
        const infos = yield* Effect.forEach(list, queryPathInfo, { concurrency: 8 })
        return infos.flatMap((o) => (Option.isSome(o) ? [o.value] : []))
      })

    const mustInfo = (p: string) =>
      Effect.flatMap(queryPathInfo(p), (o) =>
        Option.isSome(o) ? Effect.succeed(o.value) : Effect.fail(new PathNotValidError({ path: p })))

    const primitives = {
      storeDir,
      readOnly: false,
      isValidPath,
      queryValidPaths,
      queryAllValidPaths,
      queryPathInfo,
      queryPathInfos,
      queryReferences: (p: string) =>
        Effect.map(mustInfo(p), (i) => i.references),
      queryReferrers: (p: string) => Effect.as(mustInfo(p), [] as ReadonlyArray<string>),
      queryDeriver: (p: string) => Effect.map(mustInfo(p), (i) => Option.map(i.deriver, (d): string => d)),
      queryValidDerivers: (_p: string) => Effect.succeed([] as ReadonlyArray<string>),
      queryDerivationOutputs: (_p: string) => Effect.fail(notSupported(uri, "queryDerivationOutputs")),
      queryDerivationOutputMap: (_p: string) => Effect.fail(notSupported(uri, "queryDerivationOutputMap")),
      queryPathFromHashPart
    }

    const narFromPath = (p: string): Stream.Stream<Uint8Array, PathNotValidError | QueryError | NarDumpError> =>
      Stream.unwrap(Effect.gen(function*() {
        const o = yield* queryNarInfo(p)
        if (Option.isNone(o)) return yield* new PathNotValidError({ path: p })
        const ni = o.value
        const narFail = (detail: string, cause?: unknown) =>
          new NarDumpError({ kind: "Io", path: p, detail: `${detail} (binary cache '${uri}')`, cause })
        if (!safeNarUrl(ni.url)) return yield* narFail(`refusing NAR URL '${ni.url}'`)
        const file = yield* Effect.mapError(backend.getFile(ni.url), (e) => narFail(e.message, e))
        if (Option.isNone(file)) return yield* narFail(`the NAR file '${ni.url}' is missing`)
        return file.value.pipe(
          Stream.mapError((e) => narFail(e.message, e)),
          decompress(ni.compression),
          Stream.mapError((e) => (e._tag === "CompressionError" ? narFail(e.message, e) : e))
        )
      }))

    /** Writes a path from its NAR (see the module documentation); `info` may have narSize 0 (unknown). */
    const addFromNar = <E>(
      info: ValidPathInfo,
      nar: Stream.Stream<Uint8Array, E>
    ): Effect.Effect<
      void,
      E | NarParseError | HashMismatchError | DanglingReferenceError | QueryError | StoreIoError
    > =>
      Effect.scoped(Effect.gen(function*() {
        const ioFail = (operation: string, cause: unknown) => new StoreIoError({ path: info.path, operation, cause })
        const tmpDir = yield* Effect.acquireRelease(
          Effect.tryPromise({
            try: () =>
              backend.spoolDir === undefined
                ? fs.promises.mkdtemp(path.join(os.tmpdir(), "tsnix-cache-nar-"))
                : fs.promises.mkdir(backend.spoolDir, { recursive: true }).then(() =>
                  fs.promises.mkdtemp(path.join(backend.spoolDir as string, ".tsnix-nar-"))
                ),
            catch: (e) => ioFail("creating a temporary directory", e)
          }),
          (d) => Effect.promise(() => fs.promises.rm(d, { recursive: true, force: true }).catch(() => undefined))
        )
        const tmp = path.join(tmpDir, "nar")

        const narHasher = makeHasher("sha256")
        const parser = new NarParser({ onConsumed: (b) => narHasher.update(b) })
        const listing = config.writeNarListing ? new NarListingBuilder() : undefined
        let ended = false
        const fileHasher = makeHasher("sha256")
        let fileSize = 0
        const trailing = () =>
          new NarParseError({
            kind: "TrailingData",
            offset: parser.bytesConsumed,
            reason: "data after the end of the archive"
          })
        const step = (): Effect.Effect<void, NarParseError> => {
          for (;;) {
            const ev = parser.next()
            if (ev instanceof NarParseError) return Effect.fail(ev)
            if (ev._tag === "End") ended = true
            if (ev._tag === "NeedInput" || ev._tag === "End") return Effect.void
            listing?.onEvent(ev, parser.bytesConsumed)
          }
        }
        const checked = Stream.mapEffect(nar, (chunk) =>
          Effect.gen(function*() {
            if (chunk.length === 0) return chunk
            if (ended) return yield* trailing()
            parser.feed(chunk)
            yield* step()
            if (ended && parser.remainder().length > 0) return yield* trailing()
            return chunk
          }))
        const compressed = checked.pipe(
          compress(config.compression, { level: config.compressionLevel, parallel: config.parallelCompression })
        )
        const fh = yield* Effect.tryPromise({
          try: () => fs.promises.open(tmp, "w"),
          catch: (e) => ioFail("writing a temporary NAR", e)
        })
        yield* Stream.runForEach(compressed, (chunk) => {
          fileHasher.update(chunk)
          fileSize += chunk.length
          return Effect.tryPromise({ try: () => fh.write(chunk), catch: (e) => ioFail("writing a temporary NAR", e) })
        }).pipe(
          Effect.mapError((e) => (typeof e === "object" && e !== null && "_tag" in e && e._tag === "CompressionError"
            ? ioFail("compressing", e)
            : e)
          ),
          Effect.ensuring(Effect.promise(() => fh.close().catch(() => undefined)))
        )
        // The stream ended: the archive must be complete.
        parser.end()
        yield* step()
        if (!ended) {
          return yield* new NarParseError({
            kind: "Truncated",
            offset: parser.bytesConsumed,
            reason: "unexpected end of archive"
          })
        }
        const narHash = narHasher.digest()
        const narSize = parser.bytesConsumed
        if (!hashEquals(narHash, info.narHash)) {
          return yield* new HashMismatchError({
            path: info.path,
            expected: printHashWithAlgo(info.narHash, "nix32"),
            actual: printHashWithAlgo(narHash, "nix32")
          })
        }
        if (info.narSize !== 0 && info.narSize !== narSize) {
          return yield* new HashMismatchError({
            path: info.path,
            expected: `size ${info.narSize}`,
            actual: `size ${narSize}`
          })
        }
        for (const r of info.references) {
          if (r !== info.path && !(yield* isValidPath(r))) {
            return yield* new DanglingReferenceError({ path: info.path, reference: r })
          }
        }
        const fileHash = fileHasher.digest()
        const url = narUrlFor(fileHash, config.compression)
        const upload = (file: string, data: Stream.Stream<Uint8Array, StoreIoError>, mime: string) =>
          Effect.mapError(
            backend.upsertFile(file, data, mime),
            (e) => (e._tag === "BinaryCacheBackendError" ? ioFail(`uploading '${file}'`, e) : e)
          )
        const narThere = yield* Effect.mapError(backend.fileExists(url), (e) => ioFail(`checking '${url}'`, e))
        if (!narThere && backend.adoptFile !== undefined) {
          yield* Effect.mapError(backend.adoptFile(url, tmp), (e) => ioFail(`uploading '${url}'`, e))
        } else if (!narThere) {
          yield* upload(
            url,
            NodeStream.fromReadable<StoreIoError, Uint8Array>(
              () => fs.createReadStream(tmp, { highWaterMark: 256 * 1024 }),
              (e) => ioFail("reading the temporary NAR", e)
            ),
            mimeTypes.nar
          )
        }
        if (listing !== undefined && listing.result !== undefined) {
          yield* upload(
            narListingFileFor(hashPartOf(info.path)),
            Stream.make(Buffer.from(printNarListing(listing.result))),
            mimeTypes.listing
          )
        }
        let full: NarInfo = makeNarInfo({ ...info, narSize, registrationTime: 0, ultimate: false }, {
          url,
          compression: config.compression,
          fileHash,
          fileSize
        })
        if (Option.isSome(config.secretKey)) {
          const sig = Either.getOrThrow(signPathInfo(config.secretKey.value, full))
          full = { ...full, sigs: [...new Set([...full.sigs, sig])].sort(compareStrings) }
        }
        yield* upload(narInfoFileFor(info.path), Stream.make(Buffer.from(printNarInfo(full))), mimeTypes.narInfo)
        narInfos.set(hashPartOf(info.path), full)
      }))

    const addToStoreNar = <E>(info: ValidPathInfo, nar: Stream.Stream<Uint8Array, E>) =>
      Effect.flatMap(isValidPath(info.path), (valid) => (valid ? Effect.void : addFromNar(info, nar)))

    /** Adds a NAR whose path follows from its hash (two passes: the hash, then the upload). */
    const addComputed = <E>(
      narOf: () => Stream.Stream<Uint8Array, E>,
      mkInfo: (narHash: ReturnType<typeof hashBytes>, narSize: number) => ValidPathInfo
    ) =>
      Effect.gen(function*() {
        const hasher = makeHasher("sha256")
        let size = 0
        yield* Stream.runForEach(narOf(), (c) => Effect.sync(() => (hasher.update(c), size += c.length)))
        const info = mkInfo(hasher.digest(), size)
        yield* addToStoreNar(info, narOf())
        return info.path as string
      })

    const addToStore: StoreShape["addToStore"] = (srcPath, options = {}) =>
      Effect.gen(function*() {
        const name = options.name ?? path.basename(srcPath)
        const valid = validateStorePathName(name)
        if (Either.isLeft(valid)) return yield* valid.left
        const method = options.method ?? "recursive"
        const algo: HashAlgo = options.algo ?? "sha256"
        let contentHash = undefined as ReturnType<typeof hashBytes> | undefined
        if (method === "flat" || algo !== "sha256") {
          if (method === "flat") {
            const bytes = yield* Effect.tryPromise({
              try: () => fs.promises.readFile(srcPath),
              catch: (e) => new StoreIoError({ path: srcPath, operation: "reading", cause: e })
            })
            contentHash = hashBytes(algo, bytes)
          } else {
            const h = makeHasher(algo)
            yield* Stream.runForEach(dumpPath(srcPath), (c) => Effect.sync(() => h.update(c)))
            contentHash = h.digest()
          }
        }
        return yield* addComputed(() => dumpPath(srcPath), (narHash, narSize) => {
          const ch = contentHash ?? narHash
          const p = storePathToString(storeDir, makeFixedOutputPath(storeDir, name, method, ch))
          return {
            path: p as StorePath,
            narHash,
            narSize,
            deriver: Option.none(),
            references: [],
            registrationTime: 0,
            ultimate: false,
            sigs: [],
            ca: Option.some(fixedCa(method, ch))
          }
        })
      }).pipe(
        Effect.mapError((e) =>
          e._tag === "HashMismatchError" ? new StoreIoError({ path: srcPath, operation: "adding", cause: e }) : e
        )
      )

    const addTextToStore: StoreShape["addTextToStore"] = (name, contents, references) =>
      Effect.gen(function*() {
        const bytes = typeof contents === "string" ? Buffer.from(contents, "utf8") : contents
        const valid = validateStorePathName(name)
        if (Either.isLeft(valid)) return yield* valid.left
        const h = hashBytes("sha256", bytes)
        const sp = storePathToString(storeDir, makeTextPath(storeDir, name, h, references))
        const nar = encodeNar({ _tag: "Regular", executable: false, contents: bytes })
        const info: ValidPathInfo = {
          path: sp as StorePath,
          narHash: hashBytes("sha256", nar),
          narSize: nar.length,
          deriver: Option.none(),
          references: [...new Set(references)].sort(compareStrings) as Array<StorePath>,
          registrationTime: 0,
          ultimate: false,
          sigs: [],
          ca: Option.some(textCa(h))
        }
        yield* addToStoreNar(info, Stream.make(nar))
        return sp
      }).pipe(
        Effect.mapError((e) =>
          e._tag === "HashMismatchError" || e._tag === "NarParseError"
            ? new StoreIoError({ path: name, operation: "adding text", cause: e })
            : e
        )
      )

    const verifyPath = (p: string) =>
      Effect.gen(function*() {
        const info = yield* mustInfo(p)
        const h = makeHasher("sha256")
        yield* Stream.runForEach(narFromPath(p), (c) => Effect.sync(() => h.update(c)))
        const got = h.digest()
        if (!hashEquals(got, info.narHash)) {
          return yield* new HashMismatchError({
            path: p,
            expected: printHashWithAlgo(info.narHash, "nix32"),
            actual: printHashWithAlgo(got, "nix32"),
            during: "verify"
          })
        }
      })

    const store: BinaryCacheStore = {
      ...GenericStore.make(primitives),
      backend,
      cacheInfo,
      queryNarInfo,
      addToStore,
      addTextToStore,
      addToStoreNar,
      narFromPath,
      exportPaths: () => Stream.fail(notSupported(uri, "exportPaths")),
      importPaths: () => Effect.fail(notSupported(uri, "importPaths")),
      addTempRoot: () => Effect.void,
      // A cache has no collector: nothing to hold or release.
      tempRootSession: Effect.void,
      verifyStore: () => Effect.fail(notSupported(uri, "verifyStore")),
      verifyPath
    }
    return store
  })

/** The hash part and name of a narinfo's path (for callers listing a cache). */
export const parseNarInfoName = (baseName: string) => parseStorePathBaseName(baseName)
