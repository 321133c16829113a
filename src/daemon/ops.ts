/**
 * The daemon's op handlers: each reads its arguments (as Nix 2.8's daemon
 * reads them for the session's minor), runs the operation on the Store
 * (and LocalStore / GcStore when the environment has them) and returns the
 * reply written after STDERR_LAST.
 *
 * @since 0.1.0
 */
import { type Context, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { parse as parseCa } from "../core/contentAddress.js"
import { type Hash, makeHasher, printHash } from "../core/hash.js"
import {
  MAGIC_BYTES,
  regularHeaderLength,
  regularTrailerLength,
  writeRegularHeader,
  writeRegularTrailer
} from "../core/nar/index.js"
import type { ValidPathInfo } from "../core/pathInfo.js"
import { printfFixed2 } from "../core/printf.js"
import { makeFixedOutputPath, storePathToString } from "../core/storePath.js"
import { parse as parseStorePathBrand, type StorePath } from "../core/storePathBrand.js"
import { bool, concatBytes, encodeBool, encodePadded, encodeU64, getU64, paddedBytes, u64 } from "../core/wire/index.js"
import * as W from "../core/wire/worker/index.js"
import { GcStore } from "../services/GcStore.js"
import { LocalStore } from "../services/LocalStore.js"
import { Store } from "../services/Store.js"
import { StoreDb } from "../services/StoreDb.js"
import { makeBuildHandlers } from "./buildOps.js"
import { type ConnClosedError, makeSourceReader } from "./conn.js"
import { drain, framedSource, narStream, sourceStream } from "./streams.js"
import { DaemonError, type FastOps, type Handler, notFast, type Session } from "./session.js"
import { pathInfoIsUntrusted } from "./signatures.js"

const ONE = encodeU64(1)
const fail = (message: string) => Effect.fail(new DaemonError({ message }))

/** Validates a store path string of the session's store, with Nix's message for a path outside it. */
const toStorePath = (storeDir: string, s: string): Effect.Effect<StorePath, DaemonError> =>
  Either.match(parseStorePathBrand(storeDir, s), {
    onLeft: (e) => fail(s.startsWith(`${storeDir}/`) ? e.message : `path '${s}' is not in the Nix store`),
    onRight: Effect.succeed
  })

const readPath = (s: Session, storeDir: string) =>
  Effect.flatMap(s.conn.read(W.pathString), (p) => toStorePath(storeDir, p))

const notValid = (p: string) => fail(`path '${p}' is not valid`)

const infoOf = (p: StorePath) =>
  Effect.flatMap(
    Store,
    (store) =>
      Effect.flatMap(store.queryPathInfo(p), Option.match({ onNone: () => notValid(p), onSome: Effect.succeed }))
  )

const requireTrusted = (s: Session, what: string) => s.trusted ? Effect.void : fail(what)

const optionalService = <I, S>(tag: Context.Tag<I, S>, what: string) =>
  Effect.flatMap(
    Effect.serviceOption(tag),
    Option.match({
      onNone: () => fail(`operation '${what}' is not supported by this store`),
      onSome: Effect.succeed
    })
  )

const gcStore = (what: string) => optionalService(GcStore, what)
const localStore = (what: string) => optionalService(LocalStore, what)

/** Runs `use` on the payload of a framed stream from the client, draining the rest whatever happens. */
const withFramed = <A, E, R>(
  s: Session,
  use: (source: ReturnType<typeof framedSource<ConnClosedError>>) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const framed = framedSource(s.conn.source)
    const r = yield* Effect.exit(use(framed))
    if (!framed.done()) yield* drain(framed)
    return yield* r
  })

/** The temporary directory an upload is spooled to (removed with the scope). */
const scopedSpool = Effect.acquireRelease(
  Effect.promise(() => fsp.mkdtemp(path.join(os.tmpdir(), "tsnix-daemon-upload-"))),
  (dir) => Effect.promise(() => fsp.rm(dir, { recursive: true, force: true }))
)

/** Writes a stream to `file`, feeding each chunk to `onChunk`; returns the byte count. */
const spool = <E>(file: string, stream: Stream.Stream<Uint8Array, E>, onChunk: (c: Uint8Array) => void) =>
  Effect.acquireUseRelease(
    Effect.promise(() => fsp.open(file, "w")),
    (fh) =>
      Stream.runFoldEffect(stream, 0, (n, chunk) =>
        Effect.map(
          Effect.promise(async () => {
            onChunk(chunk)
            let off = 0
            while (off < chunk.length) off += (await fh.write(chunk, off)).bytesWritten
          }),
          () => n + chunk.length
        )),
    (fh) => Effect.promise(() => fh.close())
  )

/** The bytes of `file`, read anew by each run of the stream (a flat upload's NAR is streamed twice: hashed, then added). */
const fileStream = (file: string): Stream.Stream<Uint8Array> =>
  Stream.suspend(() =>
    Stream.orDie(
      Stream.fromAsyncIterable<Uint8Array, unknown>(fs.createReadStream(file, { highWaterMark: 256 * 1024 }), (e) => e)
    )
  )

/** The NAR serialisation of a flat (non-executable) file spooled at `file`. */
const flatNarStream = (file: string, size: number): Stream.Stream<Uint8Array> => {
  const head = new Uint8Array(MAGIC_BYTES.length + regularHeaderLength(false))
  head.set(MAGIC_BYTES, 0)
  writeRegularHeader(head, MAGIC_BYTES.length, false, size)
  const tail = new Uint8Array(regularTrailerLength(size))
  writeRegularTrailer(tail, 0, size)
  return Stream.concat(Stream.concat(Stream.make(head), fileStream(file)), Stream.make(tail))
}

/** Adds a content-addressed upload (AddToStore): the dump is spooled while hashed, then added with its info. */
const addCaUpload = <E>(
  storeDir: string,
  name: string,
  method: W.CaMethodAlgo,
  references: ReadonlyArray<string>,
  dump: Stream.Stream<Uint8Array, E>
) =>
  Effect.scoped(Effect.gen(function*() {
    const store = yield* Store
    const refs: Array<StorePath> = []
    for (const r of references) refs.push(yield* toStorePath(storeDir, r))
    if (method.method === "text") {
      const bytes = yield* Stream.runFold(dump, [] as Array<Uint8Array>, (acc, c) => {
        acc.push(c.slice())
        return acc
      })
      const p = yield* store.addTextToStore(name, concatBytes(bytes), refs)
      return yield* infoOf(p as StorePath)
    }
    const dir = yield* scopedSpool
    const file = path.join(dir, "dump")
    const caHasher = makeHasher(method.algo)
    const narHasher = method.method === "recursive" && method.algo === "sha256" ? undefined : makeHasher("sha256")
    const sha = method.method === "recursive" && method.algo === "sha256" ? caHasher : narHasher
    const size = yield* spool(file, dump, (c) => {
      caHasher.update(c)
      if (method.method === "recursive" && narHasher !== undefined) narHasher.update(c)
    })
    let caHash: Hash = caHasher.digest()
    let narHash: Hash
    let narSize: number
    let nar: Stream.Stream<Uint8Array>
    if (method.method === "recursive") {
      narHash = sha === caHasher ? caHash : (narHasher as ReturnType<typeof makeHasher>).digest()
      narSize = size
      nar = fileStream(file)
    } else {
      const flat = flatNarStream(file, size)
      const h = makeHasher("sha256")
      narSize = yield* Stream.runFold(flat, 0, (n, c) => {
        h.update(c)
        return n + c.length
      })
      narHash = h.digest()
      nar = flat
    }
    caHash = { algo: method.algo, bytes: caHash.bytes }
    const selfRef = false
    const sp = yield* Effect.try({
      try: () =>
        makeFixedOutputPath(storeDir, name, method.method === "flat" ? "flat" : "recursive", caHash, refs, selfRef),
      catch: (e) => new DaemonError({ message: e instanceof Error ? e.message : String(e) })
    })
    const p = storePathToString(storeDir, sp) as StorePath
    const ca = Either.getOrThrow(
      parseCa(`fixed:${method.method === "recursive" ? "r:" : ""}${method.algo}:${printHash(caHash, "nix32")}`)
    )
    const info: ValidPathInfo = {
      path: p,
      deriver: Option.none(),
      narHash,
      narSize,
      references: refs.slice().sort(),
      registrationTime: 0,
      ultimate: false,
      sigs: [],
      ca: Option.some(ca)
    }
    yield* store.addTempRoot(p)
    yield* store.addToStoreNar(info, nar)
    return yield* infoOf(p)
  }))

/** Adds a path from its info and NAR, with the daemon's trust rules (AddToStoreNar, AddMultipleToStore). */
const addWithInfo = <E>(
  s: Session,
  storeDir: string,
  info0: ValidPathInfo,
  repair: boolean,
  dontCheckSigs0: boolean,
  nar: Stream.Stream<Uint8Array, E>,
  naturallyConsumed: boolean
) =>
  Effect.gen(function*() {
    const store = yield* Store
    const dontCheckSigs = s.trusted ? dontCheckSigs0 : false
    const info: ValidPathInfo = s.trusted ? info0 : { ...info0, ultimate: false }
    if (repair && !s.trusted) return yield* fail("repairing is not allowed because you are not in 'trusted-users'")
    if (!dontCheckSigs && pathInfoIsUntrusted(storeDir, info, s.settings)) {
      return yield* fail(`cannot add path '${info.path}' because it lacks a valid signature`)
    }
    if (!naturallyConsumed && (yield* store.isValidPath(info.path))) {
      yield* store.addTempRoot(info.path)
      yield* Stream.runDrain(nar)
      return
    }
    yield* store.addToStoreNar(info, nar)
  })

/** The data a client sends on STDERR_READ requests, as a source (a 0-length answer is the end). */
const readRequestSource = (s: Session) => {
  const pending: Array<Uint8Array> = []
  let ended = false
  const readData = paddedBytes(W.MAX_DATA, "data")
  return {
    pull: Effect.suspend(() => {
      const back = pending.pop()
      if (back !== undefined) return Effect.succeed(Option.some(back))
      if (ended) return Effect.succeed(Option.none<Uint8Array>())
      return Effect.gen(function*() {
        yield* s.conn.write(W.encodeStderr(s.version, { _tag: "Read", count: 32768 }))
        const data = yield* s.conn.read(readData)
        if (data.length === 0) {
          ended = true
          return Option.none<Uint8Array>()
        }
        return Option.some(data.slice())
      })
    }),
    unread: (b: Uint8Array) => {
      if (b.length > 0) pending.push(b)
    }
  }
}

/**
 * The handlers, by op code, for a store in `storeDir`. Collections and additions of one daemon
 * run side by side, as in separate processes: an addition's temp root reaches the collector of
 * the same process through the GC socket (test/cli/daemon-gc-concurrency.test.ts).
 */
export const makeHandlers = (storeDir: string): ReadonlyMap<number, Handler<Store>> => {
  const h = new Map<number, Handler<Store>>()
  const path1 = (s: Session) => readPath(s, storeDir)
  const def = (op: number, handler: Handler<Store>) => h.set(op, handler)

  def(W.Op.IsValidPath, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      return encodeBool(yield* (yield* Store).isValidPath(p))
    }))
  def(W.Op.QueryPathHash, (s) =>
    Effect.gen(function*() {
      const info = yield* infoOf(yield* path1(s))
      return encodePadded(printHash(info.narHash, "base16"))
    }))
  def(W.Op.QueryReferences, (s) =>
    Effect.gen(function*() {
      const info = yield* infoOf(yield* path1(s))
      return W.encodeSet(info.references)
    }))
  def(W.Op.QueryReferrers, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      return W.encodeSet(yield* (yield* Store).queryReferrers(p))
    }))
  def(W.Op.QueryDeriver, (s) =>
    Effect.gen(function*() {
      const info = yield* infoOf(yield* path1(s))
      return encodePadded(Option.getOrElse(info.deriver, () => ""))
    }))
  def(W.Op.QueryValidDerivers, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      return W.encodeSet(yield* (yield* Store).queryValidDerivers(p))
    }))
  def(W.Op.QueryDerivationOutputs, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      return W.encodeSet(yield* (yield* Store).queryDerivationOutputs(p))
    }))
  def(W.Op.QueryDerivationOutputNames, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      return W.encodeSet(Object.keys(yield* (yield* Store).queryDerivationOutputMap(p)))
    }))
  def(W.Op.QueryDerivationOutputMap, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      return W.encodeStringMap(Object.entries(yield* (yield* Store).queryDerivationOutputMap(p)))
    }))
  def(W.Op.QueryPathFromHashPart, (s) =>
    Effect.gen(function*() {
      const hashPart = yield* s.conn.read(W.shortString)
      const p = yield* (yield* Store).queryPathFromHashPart(hashPart)
      return encodePadded(Option.getOrElse(p, () => ""))
    }))
  def(W.Op.QueryAllValidPaths, () =>
    Effect.gen(function*() {
      return W.encodeSet(yield* (yield* Store).queryAllValidPaths)
    }))
  def(W.Op.QueryPathInfo, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      const info = yield* (yield* Store).queryPathInfo(p)
      if (Option.isNone(info) && s.minor < 17) return yield* notValid(p)
      return W.encodeQueryPathInfoReply(s.version, Option.getOrUndefined(info))
    }))
  def(W.Op.AddTempRoot, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      yield* (yield* Store).addTempRoot(p)
      return ONE
    }))
  def(W.Op.AddIndirectRoot, (s) =>
    Effect.gen(function*() {
      const link = yield* s.conn.read(W.shortString)
      const gc = yield* gcStore("addIndirectRoot")
      yield* gc.addIndirectRoot(link)
      return ONE
    }))
  def(W.Op.SyncWithGC, () => Effect.succeed(ONE))
  def(W.Op.FindRoots, (s) =>
    Effect.gen(function*() {
      const gc = yield* gcStore("findRoots")
      return W.encodeRootsReply(yield* gc.findRoots({ censor: !s.trusted }))
    }))
  def(W.Op.SetOptions, (s) =>
    Effect.gen(function*() {
      const o = yield* s.conn.read(W.clientOptions(s.version))
      s.options = s.trusted ? o : { ...o, overrides: o.overrides.filter(([k]) => untrustedSettings.has(k)) }
      return new Uint8Array(0)
    }))
  def(W.Op.CollectGarbage, (s) =>
    Effect.gen(function*() {
      const req = yield* s.conn.read(W.gcRequest)
      const paths: Array<StorePath> = []
      for (const p of req.pathsToDelete) paths.push(yield* toStorePath(storeDir, p))
      if (req.ignoreLiveness) return yield* fail("you are not allowed to ignore liveness")
      const gc = yield* gcStore("collectGarbage")
      const maxFreed = req.maxFreed >= BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(req.maxFreed)
      switch (req.action) {
        case W.GcAction.ReturnLive:
          return W.encodeGcReply({ paths: (yield* gc.liveness).live, bytesFreed: 0 })
        case W.GcAction.ReturnDead:
          return W.encodeGcReply({ paths: (yield* gc.liveness).dead, bytesFreed: 0 })
        case W.GcAction.DeleteDead:
          return W.encodeGcReply(yield* gc.collectGarbage({ maxFreed }))
        default:
          return W.encodeGcReply(yield* gc.deletePaths(paths))
      }
    }))
  def(W.Op.QueryFailedPaths, () =>
    Effect.gen(function*() {
      const local = yield* localStore("queryFailedPaths")
      return W.encodeSet((yield* local.queryFailedPaths).map((f) => f.path))
    }))
  def(W.Op.ClearFailedPaths, (s) =>
    Effect.gen(function*() {
      const paths = yield* s.conn.read(W.pathSet)
      const local = yield* localStore("clearFailedPaths")
      yield* local.clearFailedPaths(paths.includes("*") ? "all" : paths)
      return ONE
    }))
  def(W.Op.OptimiseStore, (s) =>
    Effect.gen(function*() {
      const local = yield* localStore("optimiseStore")
      const act = s.startActivity(W.ActivityType.OptimiseStore, "")
      const r = yield* Effect.ensuring(local.optimiseStore(), Effect.sync(() => s.stopActivity(act)))
      s.log(
        W.Verbosity.Info,
        `${printfFixed2(r.bytesFreed / (1024 * 1024))} MiB freed by hard-linking ${r.filesLinked} files`
      )
      return ONE
    }))
  def(W.Op.VerifyStore, (s) =>
    Effect.gen(function*() {
      const checkContents = yield* s.conn.read(bool)
      const repair = yield* s.conn.read(bool)
      if (repair && !s.trusted) return yield* fail("you are not privileged to repair paths")
      if (repair) return yield* fail("repairing is not supported by tsnix's store")
      // Nix 2.8's daemon reports verification with log lines only (no activity).
      const report = yield* (yield* Store).verifyStore({ checkContents })
      return encodeBool(report.errors)
    }))
  def(W.Op.AddSignatures, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      const sigs = yield* s.conn.read(W.shortStrings)
      yield* requireTrusted(s, "you are not privileged to add signatures")
      const local = yield* localStore("addSignatures")
      const info = yield* infoOf(p)
      yield* local.registerValidPaths([{
        path: info.path,
        narHash: `sha256:${printHash(info.narHash, "base16")}`,
        narSize: info.narSize,
        references: info.references,
        deriver: Option.getOrUndefined(info.deriver),
        registrationTime: info.registrationTime,
        ultimate: info.ultimate,
        sigs: W.sortedUnique([...info.sigs, ...sigs]),
        ca: Option.isSome(info.ca) ? W.renderOptionalCa(info.ca.value) : undefined
      }])
      return ONE
    }))
  def(W.Op.NarFromPath, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      const store = yield* Store
      yield* infoOf(p)
      return { _tag: "Stream" as const, stream: store.narFromPath(p) }
    }))
  def(W.Op.ExportPath, (s) =>
    Effect.gen(function*() {
      const p = yield* path1(s)
      yield* s.conn.read(u64)
      const store = yield* Store
      yield* Stream.runForEach(store.exportPaths([p]), (data) =>
        s.conn.write(W.encodeStderr(s.version, { _tag: "Write", data })))
      return ONE
    }))
  def(W.Op.ImportPaths, (s) =>
    Effect.gen(function*() {
      const store = yield* Store
      if (!s.trusted && s.settings.requireSigs) {
        return yield* fail(
          "cannot import paths: you are not in 'trusted-users' and exported paths carry no signatures (require-sigs)"
        )
      }
      const src = readRequestSource(s)
      const paths = yield* store.importPaths(sourceStream(src))
      return W.encodeSet(paths)
    }))
  def(W.Op.AddTextToStore, (s) =>
    Effect.gen(function*() {
      const name = yield* s.conn.read(W.shortString)
      const text = yield* s.conn.read(paddedBytes(W.MAX_MESSAGE, "text"))
      const refs = yield* s.conn.read(W.pathSet)
      const checked: Array<string> = []
      for (const r of refs) checked.push(yield* toStorePath(storeDir, r))
      return encodePadded(yield* (yield* Store).addTextToStore(name, text.slice(), checked))
    }))
  def(W.Op.AddToStore, (s) =>
    Effect.gen(function*() {
      if (s.minor >= 25) {
        const req = yield* s.conn.read(W.addToStoreRequest)
        if (req.repair && !s.trusted) {
          yield* withFramed(s, (src) => drain(src))
          return yield* fail("repairing is not allowed because you are not in 'trusted-users'")
        }
        const info = yield* withFramed(s, (src) =>
          addCaUpload(storeDir, req.name, req.method, req.references, sourceStream(src)))
        return W.encodePathInfo(info, { withPath: true, format: 16 })
      }
      const req = yield* s.conn.read(W.addToStoreOldRequest)
      const m = W.oldAddToStoreMethod(req)
      const method = yield* Either.match(W.parseCaMethodAlgo(`fixed:${m.recursive ? "r:" : ""}${m.algo}`), {
        onLeft: fail,
        onRight: Effect.succeed
      })
      // The old form sends a NAR either way; for flat it is the NAR of one regular file.
      const nar = narStream(s.conn.source)
      const dump = m.recursive ? nar : flatContents(nar)
      const info = yield* addCaUpload(storeDir, req.name, method, [], dump)
      return encodePadded(info.path)
    }))
  def(W.Op.AddToStoreNar, (s) =>
    Effect.gen(function*() {
      const req = yield* s.conn.read(W.addToStoreNarRequest(storeDir))
      const transport = W.addToStoreNarTransport(s.version)
      if (transport === "framed") {
        yield* withFramed(s, (src) =>
          addWithInfo(s, storeDir, req.info, req.repair, req.dontCheckSigs, sourceStream(src), true))
      } else {
        const src = transport === "read" ? readRequestSource(s) : s.conn.source
        yield* addWithInfo(s, storeDir, req.info, req.repair, req.dontCheckSigs, narStream(src), false)
      }
      return new Uint8Array(0)
    }))
  def(W.Op.AddMultipleToStore, (s) =>
    Effect.gen(function*() {
      const repair = yield* s.conn.read(bool)
      const dontCheckSigs = yield* s.conn.read(bool)
      const readInfo = W.pathInfo(storeDir, { withPath: true, format: 16 })
      yield* withFramed(s, (framed) =>
        Effect.gen(function*() {
          const inner = makeSourceReader(framed)
          const count = yield* inner.read(u64)
          for (let i = 0n; i < count; i++) {
            const info = yield* inner.read(readInfo)
            yield* addWithInfo(
              s,
              storeDir,
              { ...info, ultimate: false },
              repair,
              dontCheckSigs,
              narStream(inner.source),
              false
            )
          }
        }))
      return new Uint8Array(0)
    }))
  def(W.Op.AddBuildLog, (s) =>
    Effect.gen(function*() {
      const base = yield* s.conn.read(W.shortString)
      if (!s.trusted) {
        yield* withFramed(s, (src) => drain(src))
        return yield* fail("you are not privileged to add logs")
      }
      const local = yield* Effect.serviceOption(LocalStore)
      const logDir = Option.match(local, { onNone: () => undefined, onSome: (l) => l.layout.logDir })
      const chunks = yield* withFramed(s, (src) => Stream.runCollect(sourceStream(src)))
      if (logDir === undefined) return yield* fail("operation 'addBuildLog' is not supported by this store")
      if (!/^[0-9a-z]{32}-[^/]+$/.test(base)) return yield* fail(`invalid derivation name '${base}'`)
      const dir = path.join(logDir, "drvs", base.slice(0, 2))
      yield* Effect.promise(async () => {
        await fsp.mkdir(dir, { recursive: true })
        await fsp.writeFile(path.join(dir, base.slice(2)), concatBytes([...chunks].map((c) => c.slice())))
      })
      return ONE
    }))
  def(W.Op.RegisterDrvOutput, (s) =>
    Effect.gen(function*() {
      yield* s.conn.read(W.longString)
      if (s.minor < 31) yield* s.conn.read(W.pathString)
      return yield* fail("experimental Nix feature 'ca-derivations' is disabled")
    }))
  def(W.Op.QueryRealisation, (s) =>
    Effect.gen(function*() {
      yield* s.conn.read(W.shortString)
      return yield* fail("experimental Nix feature 'ca-derivations' is disabled")
    }))
  // The build and substitution ops (src/daemon/buildOps.ts).
  for (const [op, handler] of makeBuildHandlers(storeDir)) def(op, handler)
  return h
}

const queryPathInfoOp = BigInt(W.Op.QueryPathInfo)

/**
 * The session's {@link FastOps}, when the Store answers queries straight from a StoreDb that can
 * answer synchronously (the local store): QueryPathInfo without a fiber per op, with the bytes of
 * its handler's reply. Anything it cannot answer now (an invalid path string, a path for a client
 * below 1.17, a busy database) goes to the handler.
 */
export const makeFastOps = (storeDir: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    const db = yield* Effect.serviceOption(StoreDb)
    if (Option.isNone(db)) return undefined
    const now = db.value.queryPathInfoNow
    if (now === undefined || store.queryPathInfo !== db.value.queryPathInfo) return undefined
    return (s: Session): FastOps => (input) => {
      if (u64(input) !== queryPathInfoOp) throw notFast
      const p = W.pathString(input)
      if (Either.isLeft(parseStorePathBrand(storeDir, p))) throw notFast
      const info = now(p)
      if (info === undefined || (Option.isNone(info) && s.minor < 17)) throw notFast
      return concatBytes([W.STDERR_LAST, W.encodeQueryPathInfoReply(s.version, Option.getOrUndefined(info))])
    }
  })

/** The overrides an untrusted client may set (Nix 2.8's ClientSettings::apply). */
const untrustedSettings = new Set([
  "timeout",
  "build-timeout",
  "repeat",
  "connect-timeout",
  "builders",
  "substituters",
  "extra-substituters"
])

/** The contents of the single regular file a flat NAR holds (the old AddToStore's flat form). */
const flatContents = <E>(nar: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    // The NAR of one regular file: magic, "(", type, regular, contents, size; the bytes; padding, ")".
    const headerLength = MAGIC_BYTES.length + regularHeaderLength(false)
    const header = new Uint8Array(headerLength)
    let headerGot = 0
    let size = -1
    let pos = 0
    return Stream.mapConcat(nar, (chunk) => {
      let c = chunk
      if (headerGot < headerLength) {
        const k = Math.min(headerLength - headerGot, c.length)
        header.set(c.subarray(0, k), headerGot)
        headerGot += k
        c = c.subarray(k)
        if (headerGot === headerLength) size = Number(getU64(header, headerLength - 8))
      }
      if (size < 0 || c.length === 0) return []
      const k = Math.max(0, Math.min(size - pos, c.length))
      pos += k
      return k > 0 ? [c.subarray(0, k)] : []
    })
  })
