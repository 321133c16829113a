/**
 * The {@link Store} contract over the worker protocol, as Nix 2.8's
 * RemoteStore does it: one op per query (QueryPathInfo for each path of a
 * closure, pipelined in batches on one connection), AddToStore with a content
 * address for files and text, AddToStoreNar with a framed NAR, NarFromPath
 * for NARs (so no client-side files are needed), and `exportPaths` /
 * `importPaths` / `verifyPath` built on those. Path names are checked before
 * anything is sent, so a bad argument never costs the connection.
 *
 * @since 0.1.0
 */
import { Chunk, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { encodeExportTrailer, EXPORT_END, EXPORT_PATH_START } from "../../core/exportFormat.js"
import { parseDerivation } from "../../core/derivation/aterm.js"
import { hashEquals, printHashWithAlgo } from "../../core/hash.js"
import { NarParser } from "../../core/nar/parser.js"
import type { ValidPathInfo } from "../../core/pathInfo.js"
import { InvalidStorePathError, validateStorePathName } from "../../core/storePath.js"
import { parse as parseStorePath, type StorePath } from "../../core/storePathBrand.js"
import { topoSortPaths } from "../../core/topoSort.js"
import { bool, type Decoder } from "../../core/wire/decode.js"
import { concatBytes, encodeBool, encodeFrame, encodePadded, encodeU64, FRAMED_END } from "../../core/wire/encode.js"
import { Op } from "../../core/wire/worker/ops.js"
import { encodePathInfo, pathInfo, queryPathInfoReply, storePathSet } from "../../core/wire/worker/pathInfo.js"
import { encodeAddToStoreNarRequest, encodeAddToStoreRequest } from "../../core/wire/worker/requests.js"
import { encodeSet, pathString, stringMap } from "../../core/wire/worker/values.js"
import { protocolMinor } from "../../core/wire/worker/version.js"
import type { NarDumpError } from "../../core/nar/ioErrors.js"
import { dumpPath } from "../../io/dump.js"
import { makeNarHasher } from "../../io/hash.js"
import { DanglingReferenceError, PathNotValidError } from "../../services/errors/database.js"
import { RemoteStoreError, StoreConnectionError, UnsupportedOperationError } from "../../services/errors/remote.js"
import { HashMismatchError, StoreIoError } from "../../services/errors/store.js"
import type {
  AddToStoreOptions,
  NarFromPathError,
  NarToAdd,
  StoreDerived,
  StorePrimitives,
  StoreShape,
  VerifyReport
} from "../../services/Store.js"
import * as GenericStore from "../generic/make.js"
import type { DaemonClient } from "./client.js"
import { typedRemoteError } from "./errors.js"
import { spoolExport } from "./importSpool.js"
import { narFromSource } from "./nar.js"

/** The contents of a NAR holding one regular file (undefined for anything else). */
const narFileContents = (nar: Uint8Array): Uint8Array | undefined => {
  const parser = new NarParser()
  parser.feed(nar)
  parser.end()
  const chunks: Array<Uint8Array> = []
  let regular = false
  for (;;) {
    const ev = parser.next()
    if (ev._tag === "NarParseError" || ev._tag === "NeedInput") return undefined
    if (ev._tag === "End") break
    if (ev._tag === "Directory" || ev._tag === "Symlink") return undefined
    if (ev._tag === "Regular") regular = true
    if (ev._tag === "Contents") chunks.push(ev.chunk.slice())
  }
  return regular ? Buffer.concat(chunks) : undefined
}

/** A file's bytes, read in 1 MiB chunks. */
const fileStream = (file: string): Stream.Stream<Uint8Array, StoreIoError> =>
  Stream.suspend(() =>
    Stream.fromAsyncIterable(
      fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>,
      (cause) => new StoreIoError({ path: file, operation: "reading", cause })
    )
  )

/** Requests sent at once on a connection before reading their replies. */
export const PIPELINE_BATCH = 256

const FRAME_SIZE = 64 * 1024

/** Builds the Store service of a daemon reached through `client`. */
export const makeStore = (client: DaemonClient, storeDir: string): StoreShape => {
  const parse = (p: string): Option.Option<StorePath> => Either.getRight(parseStorePath(storeDir, p))
  const call = client.call
  /** A daemon's "hash mismatch importing path" as HashMismatchError. */
  const hashMismatchTyped = <A, E, R>(eff: Effect.Effect<A, E | RemoteStoreError, R>) =>
    Effect.catchIf(eff, (e): e is RemoteStoreError => e instanceof RemoteStoreError, (e) => {
      const t = typedRemoteError(e)
      return Effect.fail(t._tag === "HashMismatchError" ? t : e)
    })

  const isValidPath = (p: string) =>
    Option.match(parse(p), {
      onNone: () => Effect.succeed(false),
      onSome: (sp) => call(Op.IsValidPath, [encodePadded(sp)], bool)
    })

  const queryValidPaths = (paths: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const good = paths.filter((p) => Option.isSome(parse(p)))
      if (good.length === 0) return []
      const args = [encodeSet(good)]
      return yield* client.withConnection((conn) =>
        Effect.gen(function*() {
          if (protocolMinor(conn.version) >= 27) args.push(encodeBool(false))
          yield* conn.send(encodeU64(Op.QueryValidPaths), ...args)
          yield* conn.processStderr()
          const valid = new Set<string>(yield* conn.read(storePathSet(storeDir)))
          return paths.filter((p) => valid.has(p))
        })
      )
    })

  const queryAllValidPaths = call(Op.QueryAllValidPaths, [], storePathSet(storeDir))

  /** QueryPathInfo of many paths, pipelined; None for invalid ones. */
  const pathInfos = (paths: ReadonlyArray<StorePath>) =>
    client.withConnection((conn) =>
      Effect.gen(function*() {
        const out: Array<Option.Option<ValidPathInfo>> = []
        const oldStyle = protocolMinor(conn.version) < 17
        for (let i = 0; i < paths.length; i += PIPELINE_BATCH) {
          const batch = paths.slice(i, i + PIPELINE_BATCH)
          yield* conn.send(...batch.flatMap((p) => [encodeU64(Op.QueryPathInfo), encodePadded(p)]))
          for (const p of batch) {
            const r = yield* Effect.either(conn.processStderr())
            if (Either.isLeft(r)) {
              // A daemon below 1.17 reports an invalid path as an error ("… is not valid").
              if (oldStyle && r.left._tag === "RemoteStoreError" && r.left.message.includes("is not valid")) {
                out.push(Option.none())
                continue
              }
              return yield* r.left
            }
            out.push(Option.fromNullable(yield* conn.read(queryPathInfoReply(storeDir, conn.version, p))))
          }
        }
        return out
      })
    )

  const queryPathInfo = (p: string) =>
    Option.match(parse(p), {
      onNone: () => Effect.succeed(Option.none<ValidPathInfo>()),
      onSome: (sp) => Effect.map(pathInfos([sp]), (r) => r[0] as Option.Option<ValidPathInfo>)
    })

  const queryPathInfos = (paths?: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const list = paths === undefined ? yield* queryAllValidPaths : paths
      const parsed = list.flatMap((p) => Option.toArray(parse(p)))
      const infos = yield* pathInfos(parsed)
      return infos.flatMap(Option.toArray)
    })

  const requireInfo = (p: string) =>
    Effect.flatMap(
      queryPathInfo(p),
      Option.match({
        onNone: () => Effect.fail(new PathNotValidError({ path: p })),
        onSome: Effect.succeed
      })
    )

  const requirePath = (p: string) =>
    Option.match(parse(p), {
      onNone: () => Effect.fail(new PathNotValidError({ path: p })),
      onSome: Effect.succeed
    })

  const primitives: StorePrimitives = {
    storeDir,
    readOnly: false,
    isValidPath,
    queryValidPaths,
    queryAllValidPaths,
    queryPathInfo,
    queryPathInfos,
    queryReferences: (p) => Effect.map(requireInfo(p), (i) => i.references),
    queryReferrers: (p) =>
      Effect.gen(function*() {
        const sp = yield* requirePath(p)
        const out = yield* call(Op.QueryReferrers, [encodePadded(sp)], storePathSet(storeDir))
        if (out.length === 0 && !(yield* isValidPath(sp))) return yield* new PathNotValidError({ path: p })
        return out
      }),
    queryDeriver: (p) => Effect.map(requireInfo(p), (i) => i.deriver),
    queryValidDerivers: (p) =>
      Option.match(parse(p), {
        onNone: () => Effect.succeed([]),
        onSome: (sp) => call(Op.QueryValidDerivers, [encodePadded(sp)], storePathSet(storeDir))
      }),
    queryDerivationOutputs: (p) => Effect.map(derivationOutputMap(p), (m) => [...new Set(Object.values(m))].sort()),
    queryDerivationOutputMap: (p) => derivationOutputMap(p),
    queryPathFromHashPart: (hashPart) =>
      /^[0-9a-df-np-sv-z]{32}$/.test(hashPart)
        ? Effect.map(
          call(Op.QueryPathFromHashPart, [encodePadded(hashPart)], pathString),
          (s) => s === "" ? Option.none() : Option.some(s)
        )
        : Effect.succeed(Option.none())
  }

  function derivationOutputMap(p: string) {
    return Effect.gen(function*() {
      const sp = yield* requirePath(p)
      if (!(yield* isValidPath(sp))) return yield* new PathNotValidError({ path: p })
      const entries = yield* call(Op.QueryDerivationOutputMap, [encodePadded(sp)], stringMap)
      const out: Record<string, string> = {}
      for (const [name, out_] of entries) if (out_ !== "") out[name] = out_
      return out
    })
  }

  /** References closure, one pipelined batch of QueryPathInfo per level. */
  const closureDown = (paths: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const seen = new Set<string>()
      let frontier = [...new Set(paths)]
      for (const p of frontier) if (Option.isNone(parse(p))) return yield* new PathNotValidError({ path: p })
      let first = true
      while (frontier.length > 0) {
        const infos = yield* pathInfos(frontier as Array<StorePath>)
        const next: Array<string> = []
        for (let i = 0; i < frontier.length; i++) {
          const info = infos[i] as Option.Option<ValidPathInfo>
          const p = frontier[i] as string
          if (Option.isNone(info)) {
            if (first) return yield* new PathNotValidError({ path: p })
            continue
          }
          seen.add(p)
          for (const r of info.value.references) {
            if (!seen.has(r)) {
              seen.add(r)
              next.push(r)
            }
          }
        }
        first = false
        frontier = next
      }
      return [...seen].sort()
    })

  const generic = GenericStore.makeDerived(primitives)
  const derived: StoreDerived = {
    computeClosure: (paths, options = {}) =>
      (options.direction ?? "references") === "references" && options.includeOutputs !== true &&
        options.includeDerivers !== true
        ? closureDown(paths)
        : generic.computeClosure(paths, options),
    topoSortPaths: (paths) =>
      Effect.gen(function*() {
        const unique = [...new Set(paths)]
        for (const p of unique) if (Option.isNone(parse(p))) return yield* new PathNotValidError({ path: p })
        const infos = yield* pathInfos(unique as Array<StorePath>)
        const refs = new Map<string, ReadonlyArray<string>>()
        for (let i = 0; i < unique.length; i++) {
          const info = infos[i] as Option.Option<ValidPathInfo>
          if (Option.isNone(info)) return yield* new PathNotValidError({ path: unique[i] as string })
          refs.set(unique[i] as string, info.value.references)
        }
        return yield* Either.match(topoSortPaths(unique, (p) => refs.get(p) ?? []), {
          onLeft: (e) => Effect.fail(e),
          onRight: (order) => Effect.succeed(order)
        })
      })
  }

  /** Refuses a reference that is not valid before anything is sent. */
  const checkReferences = (name: string, references: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      if (references.length === 0) return
      const valid = new Set(yield* queryValidPaths(references))
      for (const r of references) {
        if (!valid.has(r)) return yield* new DanglingReferenceError({ path: name, reference: r })
      }
    })

  /** AddToStore (7, minor ≥ 25): a framed dump, then the new path's info. */
  const addCa = <E>(
    name: string,
    method: { method: "flat" | "recursive" | "text"; algo: AddToStoreOptions["algo"] & string },
    references: ReadonlyArray<string>,
    dump: Stream.Stream<Uint8Array, E>
  ) =>
    Effect.gen(function*() {
      const nameOk = validateStorePathName(name)
      if (Either.isLeft(nameOk)) return yield* nameOk.left
      yield* checkReferences(name, references)
      return yield* client.withConnection((conn) =>
        Effect.gen(function*() {
          if (protocolMinor(conn.version) < 25) {
            return yield* new UnsupportedOperationError({
              operation: "addToStore with a daemon older than protocol 1.25",
              store: client.uri
            })
          }
          yield* conn.send(
            encodeU64(Op.AddToStore),
            encodeAddToStoreRequest({ name, method, references, repair: false })
          )
          yield* sendFramed(conn.send, dump)
          yield* conn.processStderr()
          const info = yield* conn.read(addToStoreReply)
          return info
        })
      )
    })

  const addToStoreReply: Decoder<string> = (input) => pathInfo(storeDir, { withPath: true, format: 16 })(input).path

  const addToStore = (srcPath: string, options: AddToStoreOptions = {}) =>
    Effect.gen(function*() {
      const name = options.name ?? path.basename(srcPath)
      const method = options.method ?? "recursive"
      const algo = options.algo ?? "sha256"
      const nameOk = validateStorePathName(name)
      if (Either.isLeft(nameOk)) return yield* nameOk.left
      const dump: Stream.Stream<Uint8Array, StoreIoError | NarDumpError> = method === "recursive"
        ? dumpPath(srcPath)
        : fileStream(srcPath)
      return yield* addCa(name, { method, algo }, [], dump)
    })

  const addTextToStore = (name: string, contents: Uint8Array | string, references: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents
      return yield* addCa(name, { method: "text", algo: "sha256" }, references, Stream.make(bytes))
    })

  const addToStoreNar = <E>(info: ValidPathInfo, nar: Stream.Stream<Uint8Array, E>) =>
    Effect.gen(function*() {
      if (yield* isValidPath(info.path)) return
      yield* hashMismatchTyped(client.withConnection((conn) =>
        Effect.gen(function*() {
          if (protocolMinor(conn.version) < 23) {
            return yield* new UnsupportedOperationError({
              operation: "addToStoreNar with a daemon older than protocol 1.23",
              store: client.uri
            })
          }
          yield* conn.send(
            encodeU64(Op.AddToStoreNar),
            encodeAddToStoreNarRequest({ info, repair: false, dontCheckSigs: true })
          )
          const hasher = makeNarHasher()
          // A NAR that does not match is abandoned before its end frame: the connection is dropped
          // (the daemon sees it close mid-stream and adds nothing).
          yield* sendFramed(conn.send, Stream.tap(nar, (c) => Effect.sync(() => hasher.update(c))), {
            beforeEnd: Effect.suspend(() => {
              const r = hasher.result()
              const actual = { algo: "sha256" as const, bytes: r.narHash }
              if (!hashEquals(actual, info.narHash) || (info.narSize !== 0 && r.narSize !== info.narSize)) {
                return Effect.fail(
                  new HashMismatchError({
                    path: info.path,
                    expected: printHashWithAlgo(info.narHash, "nix32"),
                    actual: printHashWithAlgo(actual, "nix32")
                  })
                )
              }
              return Effect.void
            })
          })
          yield* conn.processStderr()
        })
      ))
    })

  /** The NAR of `info`, failing with HashMismatchError at its end when it does not match the info. */
  const checkedUpload = <E>(info: ValidPathInfo, nar: Stream.Stream<Uint8Array, E>) =>
    Stream.suspend(() => {
      const hasher = makeNarHasher()
      const check = Effect.suspend(() => {
        const r = hasher.result()
        const actual = { algo: "sha256" as const, bytes: r.narHash }
        if (hashEquals(actual, info.narHash) && (info.narSize === 0 || r.narSize === info.narSize)) return Effect.void
        return Effect.fail(
          new HashMismatchError({
            path: info.path,
            expected: printHashWithAlgo(info.narHash, "nix32"),
            actual: printHashWithAlgo(actual, "nix32")
          })
        )
      })
      return Stream.concat(
        Stream.tap(nar, (c) => Effect.sync(() => hasher.update(c))),
        Stream.drain(Stream.fromEffect(check))
      )
    })

  /**
   * AddMultipleToStore (44, 1.32+), as Nix 2.8's RemoteStore sends it: the paths not valid yet,
   * in one framed stream (their count, then each info with its path and its NAR). A NAR that
   * does not match its info is abandoned before the end frame: the connection is dropped and
   * the daemon keeps only the paths before it. Older daemons get AddToStoreNar path by path.
   */
  const addMultipleToStore = <E>(items: ReadonlyArray<NarToAdd<E>>) =>
    Effect.gen(function*() {
      const valid = new Set(yield* queryValidPaths(items.map((i) => i.info.path)))
      const todo = items.filter((i) => !valid.has(i.info.path))
      if (todo.length === 0) return
      const minor = yield* client.withConnection((conn) => Effect.succeed(protocolMinor(conn.version)))
      if (minor < 32 || todo.length === 1) {
        for (const i of todo) yield* addToStoreNar(i.info, i.nar)
        return
      }
      const body = Stream.concat(
        Stream.make(encodeU64(todo.length)),
        Stream.flatMap(Stream.fromIterable(todo), (i) =>
          Stream.concat(
            Stream.make(encodePathInfo({ ...i.info, ultimate: false }, { withPath: true, format: 16 })),
            checkedUpload(i.info, i.nar)
          ))
      )
      yield* hashMismatchTyped(client.withConnection((conn) =>
        Effect.gen(function*() {
          // repair = false, dontCheckSigs = true (as addToStoreNar sends it; an untrusted client's is ignored).
          yield* conn.send(encodeU64(Op.AddMultipleToStore), encodeBool(false), encodeBool(true))
          yield* sendFramed(conn.send, body)
          yield* conn.processStderr()
        })
      ))
    })

  const narFromPath = (p: string): Stream.Stream<Uint8Array, NarFromPathError> =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const sp = yield* requirePath(p)
      if (!(yield* isValidPath(sp))) return yield* new PathNotValidError({ path: p })
      const { conn, invalidate } = yield* client.connection
      let complete = false
      yield* Effect.addFinalizer(() => complete ? Effect.void : invalidate)
      yield* Effect.onError(
        Effect.zipRight(conn.send(encodeU64(Op.NarFromPath), encodePadded(sp)), conn.processStderr()),
        () =>
          Effect.sync(() => {
            complete = true
          })
      )
      return narFromSource(
        conn.source,
        Effect.sync(() => {
          complete = true
        })
      ).pipe(
        Stream.mapError((e) =>
          e._tag === "NarParseError" ? new StoreConnectionError({ store: client.uri, message: e.message }) : e
        )
      )
    }))

  const checkedNar = (info: ValidPathInfo) =>
    Stream.suspend(() => {
      const hasher = makeNarHasher()
      const check = Effect.suspend(() => {
        const actual = { algo: "sha256" as const, bytes: hasher.result().narHash }
        return hashEquals(actual, info.narHash) ? Effect.void : Effect.fail(
          new HashMismatchError({
            path: info.path,
            expected: printHashWithAlgo(info.narHash, "nix32"),
            actual: printHashWithAlgo(actual, "nix32"),
            during: "export"
          })
        )
      })
      return Stream.concat(
        Stream.tap(narFromPath(info.path), (c) => Effect.sync(() => hasher.update(c))),
        Stream.drain(Stream.fromEffect(check))
      )
    })

  const exportPaths = (paths: ReadonlyArray<string>) =>
    Stream.unwrap(Effect.gen(function*() {
      const order = [...(yield* derived.topoSortPaths(paths))].reverse()
      const infos: Array<ValidPathInfo> = []
      for (const p of order) infos.push(yield* requireInfo(p))
      const items = infos.map((info) =>
        Stream.concat(
          Stream.concat(Stream.make(EXPORT_PATH_START), checkedNar(info)),
          Stream.make(
            encodeExportTrailer({
              path: info.path,
              references: info.references,
              deriver: Option.getOrUndefined(info.deriver)
            })
          )
        )
      )
      return Stream.concat(Stream.concatAll(Chunk.fromIterable(items)), Stream.make(EXPORT_END))
    }))

  const importPaths = <E>(stream: Stream.Stream<Uint8Array, E>) =>
    Effect.scoped(Effect.gen(function*() {
      const spooled = yield* spoolExport(storeDir, stream)
      // Every reference must be the path itself, an earlier path of the stream, or valid: checked
      // before anything is sent, so a bad stream adds nothing.
      const earlier = new Set<string>()
      const outside = new Set<string>()
      for (const s of spooled) {
        for (const r of s.references) if (r !== s.path && !earlier.has(r)) outside.add(r)
        earlier.add(s.path)
      }
      const validOutside = new Set(yield* queryValidPaths([...outside]))
      const seen = new Set<string>()
      for (const s of spooled) {
        for (const r of s.references) {
          if (r !== s.path && !seen.has(r) && !validOutside.has(r)) {
            return yield* new DanglingReferenceError({ path: s.path, reference: r })
          }
        }
        seen.add(s.path)
        // The daemon parses a derivation it registers: one that does not parse fails here first.
        if (s.path.endsWith(".drv")) {
          const contents = narFileContents(fs.readFileSync(s.file))
          if (contents !== undefined) {
            const parsed = parseDerivation(contents, { file: s.path })
            if (Either.isLeft(parsed)) return yield* parsed.left
          }
        }
      }
      const items: Array<NarToAdd<StoreIoError>> = []
      for (const s of spooled) {
        const info: ValidPathInfo = {
          path: s.path,
          narHash: s.narHash,
          narSize: s.narSize,
          deriver: s.deriver,
          references: [...s.references].sort(),
          registrationTime: 0,
          ultimate: false,
          sigs: [],
          ca: Option.none()
        }
        items.push({ info, nar: fileStream(s.file) })
      }
      yield* addMultipleToStore(items)
      return spooled.map((s) => s.path as string)
    })).pipe(Effect.catchTag("HashMismatchError", (e) => Effect.die(e)))

  /** VerifyStore (35); the report's lists come from the daemon's messages (Nix 2.8's wording). */
  const verifyStore = (options: { readonly checkContents: boolean }) =>
    Effect.suspend(() => {
      const invalidated: Array<string> = []
      const missingWithReferrers: Array<string> = []
      const modified: Array<string> = []
      const modifiedLinks: Array<string> = []
      const onLog = (line: string) => {
        let m = /^path '([^']+)' disappeared, removing from database\.\.\.$/.exec(line)
        if (m !== null) return void invalidated.push(m[1] as string)
        m = /^path '([^']+)' disappeared, but it still has valid referrers!$/.exec(line)
        if (m !== null) return void missingWithReferrers.push(m[1] as string)
        m = /^path '([^']+)' was modified! expected hash/.exec(line)
        if (m !== null) return void modified.push(m[1] as string)
        m = /^link '([^']+)' was modified! expected hash/.exec(line)
        if (m !== null) return void modifiedLinks.push(m[1] as string)
      }
      return Effect.map(
        call(Op.VerifyStore, [encodeBool(options.checkContents), encodeBool(false)], bool, { onLog }),
        (errors): VerifyReport => ({ errors, invalidated, missingWithReferrers, modified, modifiedLinks })
      )
    })

  const verifyPath = (p: string) =>
    Effect.gen(function*() {
      const info = yield* requireInfo(p)
      const hasher = makeNarHasher()
      yield* Stream.runForEach(narFromPath(p), (c) => Effect.sync(() => hasher.update(c)))
      const actual = { algo: "sha256" as const, bytes: hasher.result().narHash }
      if (!hashEquals(actual, info.narHash)) {
        return yield* new HashMismatchError({
          path: p,
          expected: printHashWithAlgo(info.narHash, "nix32"),
          actual: printHashWithAlgo(actual, "nix32")
        })
      }
    })

  return {
    ...primitives,
    ...derived,
    addToStore,
    addTextToStore,
    addToStoreNar,
    addMultipleToStore,
    narFromPath,
    exportPaths,
    importPaths,
    addTempRoot: (p) =>
      Option.match(parse(p), {
        onNone: () =>
          Effect.fail(new RemoteStoreError({ store: client.uri, message: `path '${p}' is not in the Nix store` })),
        onSome: (sp) => client.addTempRoot(sp)
      }),
    tempRootSession: client.session,
    verifyStore,
    verifyPath
  }
}

/**
 * Sends `data` as a framed stream (frames of at most 64 KiB, then the empty
 * end frame); `beforeEnd` may refuse to end it (the stream is then left
 * unfinished and the connection must be dropped).
 */
export const sendFramed = <E, E2 = never>(
  send: (...parts: ReadonlyArray<Uint8Array>) => Effect.Effect<void, StoreConnectionError>,
  data: Stream.Stream<Uint8Array, E>,
  options: { readonly beforeEnd?: Effect.Effect<void, E2> | undefined } = {}
): Effect.Effect<void, E | E2 | StoreConnectionError> =>
  Effect.gen(function*() {
    let buffered: Array<Uint8Array> = []
    let size = 0
    const flush = Effect.suspend(() => {
      if (size === 0) return Effect.void
      const frame = encodeFrame(buffered.length === 1 ? buffered[0] as Uint8Array : concatBytes(buffered))
      buffered = []
      size = 0
      return send(frame)
    })
    yield* Stream.runForEach(data, (chunk) =>
      Effect.gen(function*() {
        for (let off = 0; off < chunk.length;) {
          const k = Math.min(FRAME_SIZE - size, chunk.length - off)
          buffered.push(chunk.subarray(off, off + k))
          size += k
          off += k
          if (size >= FRAME_SIZE) yield* flush
        }
      }))
    yield* flush
    if (options.beforeEnd !== undefined) yield* options.beforeEnd
    yield* send(FRAMED_END)
  })

export { InvalidStorePathError }
