/**
 * The binary cache store over the http(s) and s3 backends, for real:
 * - tsnix's http client against `tsnix serve` (in process, over a local store);
 * - against a plain static server (with PUT) of the caches Nix 2.8 made (golden/cache), reading and uploading;
 * - the narinfo disk cache (a second opening asks the server nothing it already knows);
 * - server errors (retried, then a clear error) and truncated NARs (refused, nothing written);
 * - an S3 round trip against s3rver on loopback.
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Option, Stream } from "effect"
import * as fs from "node:fs"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
// @ts-expect-error: s3rver ships no type declarations
import S3rver from "s3rver"
import { Store } from "../../../src/services/Store.js"
import * as Serve from "../../../src/serve/server.js"
import type { BinaryCacheBackend } from "../../../src/stores/binaryCache/backend.js"
import { makeHttpBackend } from "../../../src/stores/binaryCache/http/backend.js"
import { openBinaryCache } from "../../../src/stores/binaryCache/open.js"
import { makeS3Backend } from "../../../src/stores/binaryCache/s3/backend.js"
import { parseS3Uri } from "../../../src/stores/binaryCache/s3/uri.js"
import { binaryCacheConfig, parseBinaryCacheUri } from "../../../src/stores/binaryCache/config.js"
import { type BinaryCacheStore, makeBinaryCacheStore } from "../../../src/stores/binaryCache/store.js"
import * as StoreLive from "../../../src/stores/local/layer.js"
import { testServer } from "./testHttpServer.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../golden/cache")
const sd = "/nix/store"
const paths = Object.fromEntries(
  fs.readFileSync(path.join(golden, "paths.txt"), "utf8").trim().split("\n").map((l) =>
    l.split("=") as [string, string]
  )
)
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-https3-"))
const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

/** A store over `backend`, configured by `uri`'s parameters. */
const storeOver = (backend: BinaryCacheBackend, uri: string) =>
  Effect.gen(function*() {
    const u = Either.getOrThrow(parseBinaryCacheUri(uri))
    return yield* makeBinaryCacheStore(backend, yield* binaryCacheConfig(u, sd))
  })

const copyPaths = (
  from: BinaryCacheStore,
  to: { readonly addToStoreNar: BinaryCacheStore["addToStoreNar"] },
  ps: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const order = [...(yield* from.topoSortPaths(yield* from.computeClosure(ps)))].reverse()
    for (const p of order) yield* to.addToStoreNar(Option.getOrThrow(yield* from.queryPathInfo(p)), from.narFromPath(p))
    return order
  })

/** A static server over `dir`: GET/HEAD of files, PUT writes them; `fault` may answer first. */
const staticServer = (dir: string, fault?: (url: string, method: string) => number | "truncate" | undefined) =>
  testServer((req, res) => {
    const f = fault?.(req.url, req.method)
    const file = path.join(dir, decodeURIComponent(req.url.split("?")[0] as string))
    if (typeof f === "number") return void res.writeHead(f).end()
    if (req.method === "PUT") {
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, req.body)
      return void res.writeHead(201).end()
    }
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return void res.writeHead(404).end()
    }
    const body = fs.readFileSync(file)
    res.writeHead(200, { "content-length": String(body.length) })
    if (f === "truncate") return void res.write(body.subarray(0, body.length >> 1), () => res.destroy())
    res.end(req.method === "HEAD" ? undefined : body)
  })

describe("http backend", () => {
  it.scopedLive(
    "reads the caches Nix made, from a static server; uploads with PUT; the narinfo disk cache",
    () =>
      Effect.gen(function*() {
        const nixCache = yield* openBinaryCache(`file://${golden}/xz`, sd)
        const srv = yield* staticServer(path.join(golden, "xz"))
        const dbFile = path.join(tmp(), "nicache.sqlite")
        const options = { retryBaseDelay: "5 millis", narInfoCache: { file: dbFile } } as const
        const http = yield* storeOver(yield* makeHttpBackend(srv.base, options), srv.base)
        const top = paths["mid"] as string
        expect(yield* http.computeClosure([top])).toEqual(yield* nixCache.computeClosure([top]))
        for (const p of yield* http.computeClosure([top])) {
          expect(yield* http.queryPathInfo(p)).toEqual(yield* nixCache.queryPathInfo(p))
          expect((yield* collect(http.narFromPath(p))).equals(yield* collect(nixCache.narFromPath(p)))).toBe(true)
        }
        expect(yield* http.isValidPath(`${sd}/${"1".repeat(32)}-x`)).toBe(false)
        // a second opening: narinfos (present and absent) come from the disk cache
        const asked = srv.seen.filter((s) => s.url.endsWith(".narinfo")).length
        const again = yield* storeOver(yield* makeHttpBackend(srv.base, options), srv.base)
        yield* again.computeClosure([top])
        expect(yield* again.isValidPath(`${sd}/${"1".repeat(32)}-x`)).toBe(false)
        expect(srv.seen.filter((s) => s.url.endsWith(".narinfo")).length).toBe(asked)

        // upload: a fresh directory behind a static server that accepts PUT
        const dstDir = tmp()
        const up = yield* staticServer(dstDir)
        const dst = yield* storeOver(
          yield* makeHttpBackend(up.base, { ...options, narInfoCache: false }),
          `${up.base}?compression=zstd`
        )
        const copied = yield* copyPaths(nixCache, dst, [top])
        const puts = up.seen.filter((s) => s.method === "PUT").map((s) => s.url)
        expect(puts[0]).toBe("/nix-cache-info")
        expect(puts.filter((u) => u.endsWith(".narinfo")).length).toBe(copied.length)
        // each NAR went up before its narinfo
        for (const u of puts.filter((x) => x.endsWith(".narinfo"))) {
          const text = fs.readFileSync(path.join(dstDir, u), "utf8")
          const url = /^URL: (.*)$/m.exec(text)?.[1] as string
          expect(puts.indexOf(`/${url}`)).toBeGreaterThanOrEqual(0)
          expect(puts.indexOf(`/${url}`)).toBeLessThan(puts.indexOf(u))
          expect(up.seen.find((s) => s.method === "PUT" && s.url === `/${url}`)?.headers["content-type"]).toBe(
            "application/x-nix-nar"
          )
        }
        const back = yield* openBinaryCache(`file://${dstDir}`, sd)
        for (const p of copied) {
          expect((yield* collect(back.narFromPath(p))).equals(yield* collect(nixCache.narFromPath(p)))).toBe(true)
        }
      }),
    60_000
  )

  it.scopedLive("tsnix's http client against tsnix serve", () =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(
        Serve.layer({ host: "127.0.0.1", port: 0 }).pipe(Layer.provideMerge(StoreLive.layerTest))
      )
      const local = Effect.runSync(Effect.provide(Store, ctx))
      const server = Effect.runSync(Effect.provide(HttpServer.HttpServer, ctx))
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const nixCache = yield* openBinaryCache(`file://${golden}/none`, sd)
      const top = paths["mid"] as string
      const order = yield* copyPaths(nixCache, local, [top])
      const base = `http://127.0.0.1:${port}`
      const http = yield* storeOver(yield* makeHttpBackend(base, { narInfoCache: false }), base)
      for (const p of order) {
        const a = Option.getOrThrow(yield* http.queryPathInfo(p))
        const b = Option.getOrThrow(yield* local.queryPathInfo(p))
        expect([a.path, a.narHash, a.narSize, a.references]).toEqual([b.path, b.narHash, b.narSize, b.references])
        expect((yield* collect(http.narFromPath(p))).equals(yield* collect(local.narFromPath(p)))).toBe(true)
      }
      // tsnix serve does not take uploads: a clear error, no retries
      const other = yield* openBinaryCache(`file://${golden}/none`, sd)
      const e = yield* Effect.flip(http.addToStoreNar(
        { ...Option.getOrThrow(yield* other.queryPathInfo(paths["hello"] as string)) },
        other.narFromPath(paths["hello"] as string)
      ))
      expect(e.message).toContain("HTTP error 405")
    }), 60_000)

  it.scopedLive(
    "server errors are retried, then a clear error; a truncated NAR is refused",
    () =>
      Effect.gen(function*() {
        let flaky = 2
        const hello = paths["hello"] as string
        const srv = yield* staticServer(path.join(golden, "xz"), (url) => {
          if (url.endsWith(".narinfo") && flaky-- > 0) return 503
          if (url.startsWith("/nar/")) return "truncate"
          if (url === `/${path.basename(paths["mid"] as string).slice(0, 32)}.narinfo`) return 500
          return undefined
        })
        const http = yield* storeOver(
          yield* makeHttpBackend(srv.base, { retryBaseDelay: "5 millis", narInfoCache: false }),
          srv.base
        )
        expect(Option.isSome(yield* http.queryPathInfo(hello))).toBe(true)
        const e = yield* Effect.flip(http.queryPathInfo(paths["mid"] as string))
        expect(e.message).toContain("HTTP error 500")
        const nar = yield* Effect.flip(collect(http.narFromPath(hello)))
        expect(nar.message).toMatch(/unable to download|truncated|got \d+ of \d+ bytes/)
        // copying it into a local store: refused, nothing registered
        const ctx = yield* Layer.build(StoreLive.layerTest)
        const local = Effect.runSync(Effect.provide(Store, ctx))
        const info = Option.getOrThrow(yield* http.queryPathInfo(hello))
        yield* Effect.flip(local.addToStoreNar(info, http.narFromPath(hello)))
        expect(yield* local.queryAllValidPaths).toEqual([])
      }),
    60_000
  )
})

describe("s3 backend", () => {
  it.scopedLive("a round trip through s3rver: upload Nix's paths, read them back", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const directory = tmp()
          const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory })
          const address = (await server.run()) as AddressInfo
          const endpoint = `http://127.0.0.1:${address.port}`
          const admin = new S3Client({
            region: "us-east-1",
            endpoint,
            forcePathStyle: true,
            credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
          })
          await admin.send(new CreateBucketCommand({ Bucket: "round" }))
          admin.destroy()
          return { server, endpoint }
        }),
        ({ server }) => Effect.promise(() => server.close())
      )
      const uri = `s3://round?endpoint=${endpoint}&compression=xz`
      const backend = yield* makeS3Backend(Either.getOrThrow(parseS3Uri(uri)), {
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
      })
      const s3 = yield* storeOver(backend, uri)
      const nixCache = yield* openBinaryCache(`file://${golden}/zstd`, sd)
      const copied = yield* copyPaths(nixCache, s3, [paths["mid"] as string, paths["tree"] as string])
      expect([...(yield* s3.queryAllValidPaths)].sort()).toEqual([...copied].sort())
      for (const p of copied) {
        const a = Option.getOrThrow(yield* s3.queryPathInfo(p))
        expect(a.narHash).toEqual(Option.getOrThrow(yield* nixCache.queryPathInfo(p)).narHash)
        expect((yield* collect(s3.narFromPath(p))).equals(yield* collect(nixCache.narFromPath(p)))).toBe(true)
      }
    }), 60_000)
})
