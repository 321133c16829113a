/**
 * tsnix serve under load: 50 concurrent clients fetching narinfos and NARs.
 * The event loop keeps answering (its delay is measured while they run), and
 * a NAR is pulled only as fast as its client reads: 50 clients that stop
 * reading hold back their NAR streams, so memory stays at a few chunks per
 * connection instead of the NARs' total. (The machine running the tests may
 * be loaded: the bounds are generous, the failure they catch is not subtle.)
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Store } from "../../src/services/Store.js"
import * as Serve from "../../src/serve/server.js"
import * as StoreLive from "../../src/stores/local/layer.js"
import { rawRequest } from "./httpHelpers.js"

const CLIENTS = 50
const FILE_SIZE = 8 * 1024 * 1024
const SMALL_SIZE = 1024 * 1024
/** What a connection may hold: the dump reads 1 MiB chunks, one in the socket's buffer and one in flight. */
const PER_CONNECTION = 4 * 1024 * 1024

/** Opens a connection, sends GET `target`, and does not read: resolves with the socket (paused). */
const stalledGet = (port: number, target: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      s.pause()
      resolve(s)
    })
    s.on("error", reject)
  })

/** Reads the rest of a paused connection; resolves with the bytes received. */
const drain = (s: net.Socket) =>
  new Promise<number>((resolve, reject) => {
    let n = 0
    s.on("data", (d: Buffer) => void (n += d.length))
    s.on("end", () => resolve(n))
    s.on("error", reject)
    s.resume()
  })

describe("tsnix serve under load", () => {
  it.scopedLive(
    "50 clients: the event loop keeps turning; stalled readers hold back their NARs",
    () =>
      Effect.gen(function*() {
        const ctx = yield* Layer.build(
          Serve.layer({ host: "127.0.0.1", port: 0 }).pipe(Layer.provideMerge(StoreLive.layerTest))
        )
        const store = Effect.runSync(Effect.provide(Store, ctx))
        const address = Effect.runSync(Effect.provide(HttpServer.HttpServer, ctx)).address
        const port = address._tag === "TcpAddress" ? address.port : 0
        const src = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-load-"))
        fs.writeFileSync(path.join(src, "big"), crypto.randomBytes(FILE_SIZE))
        fs.writeFileSync(path.join(src, "small"), crypto.randomBytes(SMALL_SIZE))
        const big = yield* store.addToStore(path.join(src, "big"), { name: "big" })
        const small = yield* store.addToStore(path.join(src, "small"), { name: "small" })
        const smallHash = path.basename(small).slice(0, 32)
        fs.rmSync(src, { recursive: true })
        const hashPart = path.basename(big).slice(0, 32)
        const narSize = Option.getOrThrow(yield* store.queryPathInfo(big)).narSize

        // 1. 50 clients that ask for the NAR and stop reading
        const before = process.memoryUsage()
        const stalled = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: CLIENTS }, () => stalledGet(port, `/nar/${hashPart}.nar`)))
        )
        yield* Effect.addFinalizer(() => Effect.sync(() => stalled.forEach((s) => s.destroy())))
        // meanwhile the server keeps answering narinfo requests, and its event loop keeps turning
        const delay = monitorEventLoopDelay({ resolution: 10 })
        delay.enable()
        const t0 = Date.now()
        const answers = yield* Effect.all(
          Array.from({ length: CLIENTS }, () => rawRequest(port, `/${hashPart}.narinfo`)),
          { concurrency: "unbounded" }
        )
        const narinfoTime = Date.now() - t0
        yield* Effect.sleep("500 millis")
        delay.disable()
        expect(answers.every((a) => a.status === 200)).toBe(true)
        const after = process.memoryUsage()
        const grown = after.rss - before.rss
        // without back-pressure the server would hold 50 × 8 MiB = 400 MiB of NAR here
        expect(grown).toBeLessThan(CLIENTS * PER_CONNECTION)
        expect(delay.max / 1e6).toBeLessThan(1000)
        expect(narinfoTime).toBeLessThan(10_000)

        // 2. they read now: each gets its whole NAR
        const received = yield* Effect.promise(() => Promise.all(stalled.map(drain)))
        for (const n of received) expect(n).toBeGreaterThan(narSize)

        // 3. 50 clients fetching narinfos and NARs at full speed, while a timer measures the loop
        const busy = monitorEventLoopDelay({ resolution: 10 })
        busy.enable()
        const results = yield* Effect.all(
          Array.from(
            { length: CLIENTS },
            (_, i) =>
              i % 2 === 0 ? rawRequest(port, `/nar/${smallHash}.nar`) : rawRequest(port, `/${smallHash}.narinfo`)
          ),
          { concurrency: "unbounded" }
        )
        busy.disable()
        expect(results.every((r) => r.status === 200)).toBe(true)
        const smallNar = Option.getOrThrow(yield* store.queryPathInfo(small)).narSize
        expect(results.filter((_, i) => i % 2 === 0).map((r) => r.body.length)).toEqual(
          Array(CLIENTS / 2).fill(smallNar)
        )
        console.log(
          `serve load: rss +${
            (grown / 1048576).toFixed(1)
          } MiB with ${CLIENTS} stalled NAR readers; event loop delay max ${
            (delay.max / 1e6).toFixed(0)
          } ms (stalled), ${(busy.max / 1e6).toFixed(0)} ms (busy), p99 ${(busy.percentile(99) / 1e6).toFixed(0)} ms`
        )
        expect(busy.percentile(99) / 1e6).toBeLessThan(1000)
      }),
    60_000
  )
})
