/** tsnix serve over real HTTP, on a real local store: what each URL answers, ranges, HEAD, bad URLs. */
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Option, Stream } from "effect"
import { parseNarInfo } from "../../src/core/cache/narInfo.js"
import { listNar, printNarListing } from "../../src/core/cache/narListing.js"
import { countValidSignatures, makePublicKeys, parsePublicKey, parseSecretKey } from "../../src/core/cache/signing.js"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { encodeNix32 } from "../../src/core/nix32.js"
import { decompress } from "../../src/io/compression.js"
import { LocalStore } from "../../src/services/LocalStore.js"
import { Store } from "../../src/services/Store.js"
import * as Serve from "../../src/serve/server.js"
import * as StoreLive from "../../src/stores/local/layer.js"
import { rawRequest } from "./httpHelpers.js"

const port = Effect.map(HttpServer.HttpServer, (s) => (s.address._tag === "TcpAddress" ? s.address.port : 0))

const secret = Either.getOrThrow(
  parseSecretKey("test-1:mGQg+9zSMg3pgpQAPjLnhjeq8JQxZtEvG1r02K+j4LvaMjVow/6M0OQJVnvZAZba7fL/2QT9v2ztpIlGg8RU2g==")
)
const publicKeys = makePublicKeys([
  Either.getOrThrow(parsePublicKey("test-1:2jI1aMP+jNDkCVZ72QGW2u3y/9kE/b9s7aSJRoPEVNo="))
])

const testLayer = Serve.layer({ host: "127.0.0.1", port: 0 }, { priority: 41, secretKeys: [secret] }).pipe(
  Layer.provideMerge(StoreLive.layerTest)
)

/** A tree of a few files (one of 300 kB), added to the store; returns its path. */
const addTree = Effect.gen(function*() {
  const store = yield* Store
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-serve-src-"))
  const big = crypto.randomBytes(300_000)
  fs.mkdirSync(path.join(dir, "t"))
  fs.writeFileSync(path.join(dir, "t", "big"), big)
  fs.writeFileSync(path.join(dir, "t", "x"), "x\n", { mode: 0o755 })
  fs.symlinkSync("x", path.join(dir, "t", "lnk"))
  const p = yield* store.addToStore(path.join(dir, "t"), { name: "tree" })
  fs.rmSync(dir, { recursive: true })
  return p
})

const narOf = (p: string) =>
  Effect.flatMap(Store, (store) => Stream.runCollect(store.narFromPath(p))).pipe(
    Effect.map((c) => Buffer.concat(Chunk.toReadonlyArray(c)))
  )

const field = (narinfo: string, name: string) =>
  narinfo.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2)

describe("tsnix serve", () => {
  it.layer(testLayer, { timeout: 30_000 })((it) => {
    it.effect("nix-cache-info", () =>
      Effect.gen(function*() {
        const r = yield* rawRequest(yield* port, "/nix-cache-info")
        expect(r.status).toBe(200)
        expect(r.body.toString()).toBe(`StoreDir: ${(yield* Store).storeDir}\nWantMassQuery: 1\nPriority: 41\n`)
        expect(r.headers["content-type"]).toBe("text/x-nix-cache-info")
      }))

    it.effect("narinfo, then the NAR it points to, whose hash and size it gives", () =>
      Effect.gen(function*() {
        const store = yield* Store
        const dep = yield* store.addTextToStore("dep", "dep\n", [])
        const top = yield* store.addTextToStore("top", `uses ${dep}\n`, [dep])
        const hashPart = path.basename(top).slice(0, 32)
        const r = yield* rawRequest(yield* port, `/${hashPart}.narinfo`)
        expect(r.status).toBe(200)
        expect(r.headers["content-type"]).toBe("text/x-nix-narinfo")
        expect(r.headers["cache-control"]).toContain("max-age")
        const ni = r.body.toString()
        expect(field(ni, "StorePath")).toBe(top)
        expect(field(ni, "References")).toBe(path.basename(dep))
        const url = field(ni, "URL") as string
        expect(url).toMatch(/^nar\/[0-9a-z]{32}-[0-9a-z]{52}\.nar$/)
        const nar = yield* rawRequest(yield* port, `/${url}`)
        expect(nar.status).toBe(200)
        expect(nar.headers["content-type"]).toBe("application/x-nix-nar")
        expect(nar.headers["accept-ranges"]).toBe("bytes")
        expect(nar.body).toEqual(yield* narOf(top))
        expect(String(nar.body.length)).toBe(field(ni, "NarSize"))
        const sha = encodeNix32(crypto.createHash("sha256").update(nar.body).digest())
        expect(field(ni, "NarHash")).toBe(`sha256:${sha}`)
        // harmonia's and the hash-part forms name the same NAR
        const byHash = yield* rawRequest(yield* port, `/nar/${sha}.nar?hash=${hashPart}`)
        expect(byHash.body).toEqual(nar.body)
        expect((yield* rawRequest(yield* port, `/nar/${hashPart}.nar`)).body).toEqual(nar.body)
        // a NAR hash that is not the path's: not found
        const other = "0".repeat(52)
        expect((yield* rawRequest(yield* port, `/nar/${hashPart}-${other}.nar`)).status).toBe(404)
      }))

    it.effect("narinfos are signed on the fly (and parse as Nix parses them); .ls listings", () =>
      Effect.gen(function*() {
        const store = yield* Store
        const p = yield* addTree
        const hashPart = path.basename(p).slice(0, 32)
        const r = yield* rawRequest(yield* port, `/${hashPart}.narinfo`)
        const ni = Either.getOrThrow(parseNarInfo(store.storeDir, r.body.toString(), "served"))
        expect(ni.sigs.length).toBe(1)
        expect(ni.sigs[0]).toMatch(/^test-1:/)
        const info = Option.getOrThrow(yield* store.queryPathInfo(p))
        expect(countValidSignatures({ ...info, sigs: ni.sigs }, publicKeys)).toEqual(Either.right(1))
        expect(countValidSignatures({ ...info, sigs: ni.sigs, narSize: info.narSize + 1 }, publicKeys)).toEqual(
          Either.right(0)
        )
        const ls = yield* rawRequest(yield* port, `/${hashPart}.ls`)
        expect(ls.status).toBe(200)
        expect(ls.headers["content-type"]).toBe("application/json")
        expect(ls.body.toString()).toBe(printNarListing(Either.getOrThrow(listNar(yield* narOf(p)))))
        expect(JSON.parse(ls.body.toString()).root.entries.lnk).toEqual({ type: "symlink", target: "x" })
        expect((yield* rawRequest(yield* port, `/${"1".repeat(32)}.ls`)).status).toBe(404)
      }))

    it.effect("NARs compressed on the fly (.xz, .zst), no length and no ranges", () =>
      Effect.gen(function*() {
        const p = yield* addTree
        const hashPart = path.basename(p).slice(0, 32)
        const whole = yield* narOf(p)
        for (const [ext, magic] of [[".xz", "fd377a585a00"], [".zst", "28b52ffd"]] as const) {
          const r = yield* rawRequest(yield* port, `/nar/${hashPart}.nar${ext}`, { headers: { range: "bytes=0-9" } })
          expect(r.status).toBe(200)
          expect(r.headers["content-length"]).toBeUndefined()
          expect(r.body.subarray(0, magic.length / 2).toString("hex")).toBe(magic)
          const back = yield* Stream.runCollect(Stream.make(new Uint8Array(r.body)).pipe(decompress("auto")))
          expect(Buffer.concat(Chunk.toReadonlyArray(back)).equals(whole)).toBe(true)
        }
      }))

    it.effect("HEAD: headers only; absent paths are 404 with no-store", () =>
      Effect.gen(function*() {
        const p = yield* addTree
        const hashPart = path.basename(p).slice(0, 32)
        const h = yield* rawRequest(yield* port, `/${hashPart}.narinfo`, { method: "HEAD" })
        expect(h.status).toBe(200)
        expect(h.body.length).toBe(0)
        const n = yield* rawRequest(yield* port, `/nar/${hashPart}.nar`, { method: "HEAD" })
        expect(n.status).toBe(200)
        expect(Number(n.headers["content-length"])).toBe((yield* narOf(p)).length)
        expect(n.body.length).toBe(0)
        const missing = yield* rawRequest(yield* port, `/${"1".repeat(32)}.narinfo`, { method: "HEAD" })
        expect(missing.status).toBe(404)
        expect(missing.headers["cache-control"]).toBe("no-store")
        expect((yield* rawRequest(yield* port, `/${"1".repeat(32)}.narinfo`)).status).toBe(404)
        expect((yield* rawRequest(yield* port, `/nar/${"1".repeat(32)}.nar`)).status).toBe(404)
      }))

    it.effect("ranges: 206 with Content-Range, suffixes, 416", () =>
      Effect.gen(function*() {
        const p = yield* addTree
        const hashPart = path.basename(p).slice(0, 32)
        const whole = yield* narOf(p)
        const target = `/nar/${hashPart}.nar`
        const r = yield* rawRequest(yield* port, target, { headers: { range: "bytes=1000-200999" } })
        expect(r.status).toBe(206)
        expect(r.headers["content-range"]).toBe(`bytes 1000-200999/${whole.length}`)
        expect(r.body).toEqual(whole.subarray(1000, 201000))
        const tail = yield* rawRequest(yield* port, target, { headers: { range: "bytes=-77" } })
        expect(tail.status).toBe(206)
        expect(tail.body).toEqual(whole.subarray(whole.length - 77))
        const from = yield* rawRequest(yield* port, target, { headers: { range: `bytes=${whole.length - 5}-` } })
        expect(from.body).toEqual(whole.subarray(whole.length - 5))
        const none = yield* rawRequest(yield* port, target, { headers: { range: `bytes=${whole.length}-` } })
        expect(none.status).toBe(416)
        expect(none.headers["content-range"]).toBe(`bytes */${whole.length}`)
        const multi = yield* rawRequest(yield* port, target, { headers: { range: "bytes=0-1,5-9" } })
        expect(multi.status).toBe(200)
        expect(multi.body).toEqual(whole)
      }))

    it.effect("bad URLs: 400 or 404, never a file outside the store; only GET and HEAD", () =>
      Effect.gen(function*() {
        const p = yield* addTree
        const hashPart = path.basename(p).slice(0, 32)
        const realStore = (yield* LocalStore).layout.realStoreDir
        for (
          const target of [
            "/../../../../etc/passwd",
            "/nar/../../../../etc/passwd",
            `/nar/${hashPart}.nar/../../x`,
            "/%2e%2e/%2e%2e/etc/passwd",
            "/log/..%2f..%2f..%2fetc%2fpasswd",
            `/${path.basename(p)}`,
            `/${path.basename(p)}/big`,
            `/${hashPart}.narinfo/..`,
            `//${realStore}/${path.basename(p)}/x`,
            "/nar/x.nar",
            "/index.html",
            `/${hashPart}.NARINFO`
          ]
        ) {
          const r = yield* rawRequest(yield* port, target)
          expect([400, 404], target).toContain(r.status)
          expect(r.body.toString(), target).not.toContain("root:")
          expect(r.body.length, target).toBeLessThan(100)
        }
        const post = yield* rawRequest(yield* port, "/nix-cache-info", { method: "POST" })
        expect(post.status).toBe(405)
        expect(post.headers["allow"]).toBe("GET, HEAD")
        expect((yield* rawRequest(yield* port, `/${hashPart}.narinfo`, { method: "PUT" })).status).toBe(405)
      }))

    it.effect("build logs from the local store's log directory", () =>
      Effect.gen(function*() {
        const { layout } = yield* LocalStore
        const drv = "0g15fd8vnnjpmkhl6fhrqw6ngz4b3a1j-hello.drv"
        fs.mkdirSync(path.join(layout.logDir, "drvs", "0g"), { recursive: true })
        fs.writeFileSync(path.join(layout.logDir, "drvs", "0g", drv.slice(2)), "building hello\n")
        const r = yield* rawRequest(yield* port, `/log/${drv}`)
        expect(r.status).toBe(200)
        expect(r.body.toString()).toBe("building hello\n")
        expect((yield* rawRequest(yield* port, `/log/1g15fd8vnnjpmkhl6fhrqw6ngz4b3a1j-hello.drv`)).status).toBe(404)
      }))
  })
})
