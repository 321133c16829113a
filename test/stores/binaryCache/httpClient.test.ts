/** The http(s) cache transport against real loopback servers that misbehave on purpose. */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Option, Stream } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Http from "../../../src/stores/binaryCache/http/client.js"
import { netrcFor, parseNetrc } from "../../../src/stores/binaryCache/http/netrc.js"
import { classifyStatus } from "../../../src/stores/binaryCache/http/status.js"
import { testServer } from "./testHttpServer.js"

const fast = { retryBaseDelay: "5 millis" } as const

const collect = (s: Stream.Stream<Uint8Array, Http.HttpCacheError>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

describe("status semantics", () => {
  it("as Nix's filetransfer", () => {
    expect([200, 201, 206].map(classifyStatus)).toEqual(["ok", "ok", "ok"])
    expect([404, 410, 403, 401, 407].map(classifyStatus)).toEqual(Array(5).fill("absent"))
    expect([500, 502, 503, 504, 408, 429].map(classifyStatus)).toEqual(Array(6).fill("transient"))
    expect([400, 405, 418, 501, 505, 511].map(classifyStatus)).toEqual(Array(6).fill("fatal"))
  })
})

describe("netrc", () => {
  it("machine, default, macdef", () => {
    const entries = parseNetrc(
      "machine a.example login alice password s3cret\n# comment\nmacdef init\nls\ncd x\n\nmachine b password pw login bob\ndefault login anon password x\n"
    )
    expect(netrcFor(entries, "a.example")).toEqual({ host: "a.example", login: "alice", password: "s3cret" })
    expect(netrcFor(entries, "b")).toEqual({ host: "b", login: "bob", password: "pw" })
    expect(netrcFor(entries, "c")?.login).toBe("anon")
    expect(netrcFor(parseNetrc(""), "c")).toBeUndefined()
  })
})

describe("http transport", () => {
  it.scopedLive("absent statuses are none; a hard error is not retried", () =>
    Effect.gen(function*() {
      const srv = yield* testServer((req, res) => {
        const status = Number(req.url.slice(1))
        res.writeHead(status).end("x")
      })
      const t = yield* Http.make(srv.base, fast)
      for (const s of [404, 403, 410, 401]) expect(yield* t.get(String(s))).toEqual(Option.none())
      expect(yield* t.exists("404")).toBe(false)
      expect(yield* t.exists("200")).toBe(true)
      srv.seen.length = 0
      const e = yield* Effect.flip(t.get("400"))
      expect(e.message).toBe(`unable to download '${srv.base}/400': HTTP error 400`)
      expect(e.transient).toBe(false)
      expect(srv.seen.length).toBe(1)
    }))

  it.scopedLive("transient errors are retried with backoff, then reported clearly", () =>
    Effect.gen(function*() {
      let failures = 2
      const srv = yield* testServer((req, res) => {
        if (req.url === "/flaky" && failures-- > 0) return void res.writeHead(503).end()
        if (req.url === "/down") return void res.writeHead(500).end()
        res.writeHead(200, { "content-type": "text/plain" }).end("fine")
      })
      const t = yield* Http.make(srv.base, fast)
      expect(Buffer.from(Option.getOrThrow(yield* t.get("flaky"))).toString()).toBe("fine")
      expect(srv.seen.filter((s) => s.url === "/flaky").length).toBe(3)
      const e = yield* Effect.flip(t.get("down"))
      expect(e.message).toBe(`unable to download '${srv.base}/down': HTTP error 500`)
      expect(e.status).toBe(500)
      expect(srv.seen.filter((s) => s.url === "/down").length).toBe(5)
      const t2 = yield* Http.make(srv.base, { ...fast, downloadAttempts: 2 })
      yield* Effect.flip(t2.get("down"))
      expect(srv.seen.filter((s) => s.url === "/down").length).toBe(7)
    }))

  it.scopedLive("a refused connection: retried, then a clear error", () =>
    Effect.gen(function*() {
      // a port nobody listens on: take one and close it
      const free = yield* Effect.async<number>((resume) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
          const p = (s.address() as net.AddressInfo).port
          s.close(() => resume(Effect.succeed(p)))
        })
      })
      const t = yield* Http.make(`http://127.0.0.1:${free}`, { ...fast, downloadAttempts: 3 })
      const e = yield* Effect.flip(t.get("nix-cache-info"))
      expect(e.message).toMatch(new RegExp(`^unable to download 'http://127.0.0.1:${free}/nix-cache-info': .*`))
      expect(e.transient).toBe(true)
    }))

  it.scopedLive("a truncated download is an error, never a short file", () =>
    Effect.gen(function*() {
      const body = crypto.randomBytes(100_000)
      const srv = yield* testServer((_req, res) => {
        res.writeHead(200, { "content-length": String(body.length) })
        res.write(body.subarray(0, 40_000), () => res.destroy())
      })
      const t = yield* Http.make(srv.base, fast)
      const s = Option.getOrThrow(yield* t.getStream("nar/x.nar"))
      const e = yield* Effect.flip(collect(s))
      expect(e.message).toMatch(/^unable to download '.*\/nar\/x\.nar': /)
      const whole = yield* Effect.flip(t.get("nar/x.nar"))
      expect(whole._tag).toBe("HttpCacheError")
    }))

  it.scopedLive("a broken download resumes with a Range request when the server allows it", () =>
    Effect.gen(function*() {
      const body = crypto.randomBytes(300_000)
      let cut = true
      const srv = yield* testServer((req, res) => {
        const range = req.headers["range"]
        if (range === undefined) {
          res.writeHead(200, { "content-length": String(body.length), "accept-ranges": "bytes" })
          if (cut) {
            cut = false
            return void res.write(body.subarray(0, 123_456), () => res.destroy())
          }
          return void res.end(body)
        }
        const start = Number(/bytes=(\d+)-/.exec(range)?.[1])
        res.writeHead(206, {
          "content-length": String(body.length - start),
          "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
          "accept-ranges": "bytes"
        })
        res.end(body.subarray(start))
      })
      const t = yield* Http.make(srv.base, fast)
      const got = yield* collect(Option.getOrThrow(yield* t.getStream("nar/y.nar")))
      expect(got.equals(body)).toBe(true)
      expect(srv.seen.map((s) => s.headers["range"])).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)])
    }))

  it.scopedLive("connections are reused; requests run in parallel", () =>
    Effect.gen(function*() {
      const srv = yield* testServer((_req, res) => void setTimeout(() => res.end("ok"), 20))
      const t = yield* Http.make(srv.base, { ...fast, maxConnections: 8 })
      for (let i = 0; i < 5; i++) yield* t.get(`f${i}`)
      expect(new Set(srv.seen.map((s) => s.socket)).size).toBe(1)
      yield* Effect.all(Array.from({ length: 24 }, (_, i) => t.get(`p${i}`)), { concurrency: "unbounded" })
      expect(srv.peak()).toBeGreaterThan(1)
      expect(srv.peak()).toBeLessThanOrEqual(8)
      expect(new Set(srv.seen.map((s) => s.socket)).size).toBeLessThanOrEqual(8)
    }))

  it.scopedLive("netrc credentials; PUT of bytes and of a stream", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-netrc-"))
      const netrc = path.join(dir, "netrc")
      fs.writeFileSync(netrc, "machine 127.0.0.1 login nix password cache\n")
      const stored = new Map<string, Buffer>()
      const srv = yield* testServer((req, res) => {
        if (req.headers["authorization"] !== `Basic ${Buffer.from("nix:cache").toString("base64")}`) {
          return void res.writeHead(401).end()
        }
        if (req.method === "PUT") {
          stored.set(req.url, req.body)
          return void res.writeHead(201).end()
        }
        const b = stored.get(req.url)
        if (b === undefined) return void res.writeHead(404).end()
        res.end(b)
      })
      const anon = yield* Http.make(srv.base, fast)
      expect(yield* anon.exists("nix-cache-info")).toBe(false)
      const t = yield* Http.make(srv.base, { ...fast, netrcFile: netrc })
      yield* t.put("nix-cache-info", new TextEncoder().encode("StoreDir: /nix/store\n"), "text/x-nix-cache-info")
      const big = crypto.randomBytes(200_000)
      yield* t.put(
        "nar/z.nar",
        Stream.fromIterable([big.subarray(0, 1000), big.subarray(1000)]),
        "application/x-nix-nar",
        big.length
      )
      expect(srv.seen.find((s) => s.url === "/nar/z.nar")?.headers["content-type"]).toBe("application/x-nix-nar")
      expect(Buffer.from(Option.getOrThrow(yield* t.get("nix-cache-info"))).toString()).toBe("StoreDir: /nix/store\n")
      expect((yield* collect(Option.getOrThrow(yield* t.getStream("nar/z.nar")))).equals(big)).toBe(true)
      fs.rmSync(dir, { recursive: true })
    }))
})
