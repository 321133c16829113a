/**
 * tsnix's daemon driven by the protocol codecs over a real Unix socket (no
 * Nix needed): ops and their errors, trust, malformed input, many
 * connections, a client that stops reading, a client that hangs up mid-op,
 * and concurrent clients while a collection runs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { makeHasher } from "../../src/core/hash.js"
import { encodeNar } from "../../src/core/nar/index.js"
import type { ValidPathInfo } from "../../src/core/pathInfo.js"
import type { StorePath } from "../../src/core/storePathBrand.js"
import { concatBytes, encodeFramed, encodePadded, encodeU64, paddedString, u64 } from "../../src/core/wire/index.js"
import * as W from "../../src/core/wire/worker/index.js"
import { isTempName } from "../../src/stores/local/ops/tempPath.js"
import { Client, RawClient, startDaemon } from "./helpers.js"

const HELLO = "/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt"
const helloNar = encodeNar({ _tag: "Regular", executable: false, contents: new TextEncoder().encode("hello\n") })

/** AddToStore (≥ 1.25) of a NAR as `nix-store --add` sends it. */
const addNar = (name: string, nar: Uint8Array) => [
  W.encodeAddToStoreRequest({ name, method: { method: "recursive", algo: "sha256" }, references: [], repair: false }),
  encodeFramed([nar])
]

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

describe("tsnix daemon (protocol codecs over a socket)", () => {
  it.scoped("adds and queries paths; the seed's ops 22-25 are served", () =>
    Effect.gen(function*() {
      const { socket } = yield* startDaemon()
      yield* promise(async () => {
        const c = await Client.connect(socket)
        expect((await c.op(W.Op.AddToStore, ...addNar("hello.txt", helloNar))).error).toBeUndefined()
        const info = await c.raw.read(W.pathInfo("/nix/store", { withPath: true, format: 16 }))
        expect(info.path).toBe(HELLO)
        expect(info.narSize).toBe(120)
        expect((await c.op(W.Op.IsValidPath, encodePadded(HELLO))).error).toBeUndefined()
        expect(await c.raw.read(u64)).toBe(1n)
        expect((await c.op(W.Op.QueryAllValidPaths)).error).toBeUndefined()
        expect(await c.raw.read(W.pathSet)).toEqual([HELLO])
        expect((await c.op(W.Op.QueryFailedPaths)).error).toBeUndefined()
        expect(await c.raw.read(W.pathSet)).toEqual([])
        expect((await c.op(W.Op.ClearFailedPaths, W.encodeSet(["*"]))).error).toBeUndefined()
        expect(await c.raw.read(u64)).toBe(1n)
        expect((await c.op(W.Op.QueryPathHash, encodePadded(HELLO))).error).toBeUndefined()
        expect(await c.raw.read(paddedString(100))).toBe(
          "1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13"
        )
        // Errors after the arguments keep the connection usable.
        const r = await c.op(W.Op.IsValidPath, encodePadded("/tmp/x"))
        expect(r.error).toBe("path '/tmp/x' is not in the Nix store")
        expect((await c.op(W.Op.QueryPathInfo, encodePadded("/nix/store/00000000000000000000000000000000-x"))).error)
          .toBeUndefined()
        expect(await c.raw.read(u64)).toBe(0n)
        // A build op's failure (a derivation that is not there) keeps the connection.
        const b = await c.op(
          W.Op.BuildPaths,
          W.encodeSet(["/nix/store/00000000000000000000000000000000-x.drv!out"]),
          encodeU64(0)
        )
        expect(b.error).toBe("cannot build missing derivation '/nix/store/00000000000000000000000000000000-x.drv'")
        expect((await c.op(W.Op.IsValidPath, encodePadded(HELLO))).error).toBeUndefined()
        expect(await c.raw.read(u64)).toBe(1n)
        c.close()
      })
    }))

  it.scoped("an unknown op gets one STDERR_ERROR naming it, then the close", () =>
    Effect.gen(function*() {
      const { socket } = yield* startDaemon()
      yield* promise(async () => {
        const c = await Client.connect(socket)
        const r = await c.op(99)
        expect(r.error).toBe("invalid operation 99")
        expect(await c.raw.waitEnd()).toBe(true)
        expect(c.raw.rest().length).toBe(0)
      })
    }))

  it.scoped("old clients (minor < 10) and wrong magic numbers are closed without a word; 1.10 and 1.21 clients are served", () =>
    Effect.gen(function*() {
      const { socket } = yield* startDaemon()
      yield* promise(async () => {
        const old = await RawClient.connect(socket)
        old.write(W.encodeClientMagic())
        await old.read(W.serverHello)
        old.write(W.encodeClientHello({ version: 0x109 }, W.PROTOCOL_VERSION))
        expect(await old.waitEnd()).toBe(true)
        expect(old.rest().length).toBe(0)
        const bad = await RawClient.connect(socket)
        bad.write(encodeU64(0x12345678))
        expect(await bad.waitEnd()).toBe(true)
        expect(bad.rest().length).toBe(0)
        for (const version of [0x10a, 0x115, 0x119]) {
          const c = await Client.connect(socket, version)
          const r = await c.op(W.Op.IsValidPath, encodePadded("/tmp/x"))
          expect(r.error).toBe("path '/tmp/x' is not in the Nix store")
          // Before 1.17 an invalid path in QueryPathInfo is an error whose text says "is not valid".
          const q = await c.op(W.Op.QueryPathInfo, encodePadded("/nix/store/00000000000000000000000000000000-x"))
          if (version < 0x111) expect(q.error).toMatch(/is not valid/)
          else expect(await c.raw.read(u64)).toBe(0n)
          c.close()
        }
      })
    }))

  it.scoped("a rejected user gets a STDERR_ERROR saying why before the close (uid from SO_PEERCRED)", () =>
    Effect.gen(function*() {
      const { socket } = yield* startDaemon("allowed-users = nobody\ntrusted-users = nobody")
      yield* promise(async () => {
        const raw = await RawClient.connect(socket)
        raw.write(W.encodeClientMagic())
        await raw.read(W.serverHello)
        raw.write(W.encodeClientHello({ version: W.PROTOCOL_VERSION }, W.PROTOCOL_VERSION))
        await raw.read(W.daemonNixVersion(W.PROTOCOL_VERSION))
        const m = await raw.read(W.stderrMessage(W.PROTOCOL_VERSION))
        const me = process.getuid?.() === 0 ? "root" : undefined
        expect(m._tag).toBe("Error")
        if (m._tag === "Error" && me !== undefined) {
          expect(m.message).toBe(`user '${me}' is not allowed to connect to the Nix daemon`)
        }
        expect(await raw.waitEnd()).toBe(true)
      })
    }))

  it.scoped("untrusted clients: no signatures added, unsigned non-CA paths refused, roots censored, CA paths accepted", () =>
    Effect.gen(function*() {
      const { socket } = yield* startDaemon("trusted-users = nobody")
      yield* promise(async () => {
        const c = await Client.connect(socket)
        expect((await c.op(W.Op.AddToStore, ...addNar("hello.txt", helloNar))).error).toBeUndefined()
        await c.raw.read(W.pathInfo("/nix/store", { withPath: true, format: 16 }))
        const sig = await c.op(W.Op.AddSignatures, encodePadded(HELLO), W.encodeSet(["k:AAAA"]))
        expect(sig.error).toBe("you are not privileged to add signatures")
        const nar = encodeNar({
          _tag: "Regular",
          executable: false,
          contents: new TextEncoder().encode("input-addressed\n")
        })
        const h = makeHasher("sha256")
        h.update(nar)
        const info: ValidPathInfo = {
          path: "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-ia" as StorePath,
          deriver: Option.none(),
          narHash: h.digest(),
          narSize: nar.length,
          references: [],
          registrationTime: 0,
          ultimate: true,
          sigs: [],
          ca: Option.none()
        }
        const add = await c.op(
          W.Op.AddToStoreNar,
          W.encodeAddToStoreNarRequest({ info, repair: false, dontCheckSigs: true }),
          encodeFramed([nar])
        )
        expect(add.error).toBe(`cannot add path '${info.path}' because it lacks a valid signature`)
        // The frames were drained: the connection goes on.
        expect((await c.op(W.Op.IsValidPath, encodePadded(info.path))).error).toBeUndefined()
        expect(await c.raw.read(u64)).toBe(0n)
        const repair = await c.op(W.Op.VerifyStore, encodeU64(0), encodeU64(1))
        expect(repair.error).toBe("you are not privileged to repair paths")
        expect((await c.op(W.Op.AddTempRoot, encodePadded(HELLO))).error).toBeUndefined()
        await c.raw.read(u64)
        expect((await c.op(W.Op.FindRoots)).error).toBeUndefined()
        const roots = await c.raw.read(W.rootsReply)
        expect(roots.length).toBeGreaterThan(0)
        for (const r of roots) expect(r.link).toBe("{censored}")
        c.close()
      })
    }))

  it.scoped("malformed frames and absurd lengths: an error, the close, and the daemon keeps serving", () =>
    Effect.gen(function*() {
      const { socket } = yield* startDaemon()
      yield* promise(async () => {
        const c = await Client.connect(socket)
        const r = await c.op(W.Op.IsValidPath, encodeU64(2n ** 62n))
        expect(r.error).toMatch(/absurd/)
        expect(await c.raw.waitEnd()).toBe(true)
        const d = await Client.connect(socket)
        const bad = await d.op(
          W.Op.IsValidPath,
          concatBytes([encodeU64(3), new Uint8Array([0x61, 0x62, 0x63, 1, 0, 0, 0, 0])])
        )
        expect(bad.error).toMatch(/padding/)
        const e = await Client.connect(socket)
        // A framed AddToStore whose frame length is absurd.
        const f = await e.op(
          W.Op.AddToStore,
          W.encodeAddToStoreRequest({
            name: "x",
            method: { method: "recursive", algo: "sha256" },
            references: [],
            repair: false
          }),
          encodeU64(2n ** 63n)
        )
        expect(f.error).toBeDefined()
        const ok = await Client.connect(socket)
        expect((await ok.op(W.Op.QueryAllValidPaths)).error).toBeUndefined()
        ok.close()
      })
    }))

  it.scoped(
    "100 connections opened and dropped at every stage; then a normal client is served",
    () =>
      Effect.gen(function*() {
        const { socket } = yield* startDaemon()
        yield* promise(async () => {
          const clients = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(socket)))
          clients.forEach((c, i) => {
            if (i % 4 >= 1) c.write(W.encodeClientMagic())
            if (i % 4 >= 2) c.write(W.encodeClientHello({ version: W.PROTOCOL_VERSION }, W.PROTOCOL_VERSION))
            if (i % 4 === 3) c.write(encodeU64(W.Op.AddToStore), encodePadded("half"))
          })
          await new Promise((r) => setTimeout(r, 100))
          for (const c of clients) c.close()
          const c = await Client.connect(socket)
          expect((await c.op(W.Op.QueryAllValidPaths)).error).toBeUndefined()
          expect(await c.raw.read(W.pathSet)).toEqual([])
          c.close()
        })
      }),
    30000
  )

  it.scoped.prop(
    "fuzz: any bytes after the handshake end in an error or a reply; the daemon keeps serving",
    [fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 50 })],
    ([junk, op]) =>
      Effect.gen(function*() {
        const { socket } = yield* startDaemon()
        yield* promise(async () => {
          const c = await Client.connect(socket)
          c.raw.write(encodeU64(op), junk)
          await new Promise((r) => setTimeout(r, 30))
          c.close()
          const ok = await Client.connect(socket)
          expect((await ok.op(W.Op.IsValidPath, encodePadded(HELLO))).error).toBeUndefined()
          expect(await ok.raw.read(u64)).toBe(0n)
          ok.close()
        })
      }),
    { timeout: 30000, fastCheck: { numRuns: 15 } }
  )

  it.scoped(
    "a client that stops reading a large NAR stalls only itself, and its NAR is whole when it reads",
    () =>
      Effect.gen(function*() {
        const { socket } = yield* startDaemon()
        const big = new Uint8Array(24 * 1024 * 1024)
        for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff
        const nar = encodeNar({ _tag: "Regular", executable: false, contents: big })
        yield* promise(async () => {
          const adder = await Client.connect(socket)
          const chunks: Array<Uint8Array> = []
          for (let i = 0; i < nar.length; i += 1 << 20) chunks.push(nar.subarray(i, i + (1 << 20)))
          adder.raw.write(
            encodeU64(W.Op.AddToStore),
            ...addNar("big", new Uint8Array(0)).slice(0, 1),
            encodeFramed(chunks)
          )
          expect((await adder.messages()).error).toBeUndefined()
          const info = await adder.raw.read(W.pathInfo("/nix/store", { withPath: true, format: 16 }))
          // A client asks for the NAR and does not read it.
          const slow = await Client.connect(socket)
          slow.raw.socket.pause()
          slow.raw.write(encodeU64(W.Op.NarFromPath), encodePadded(info.path))
          await new Promise((r) => setTimeout(r, 300))
          // Others are served meanwhile.
          const other = await Client.connect(socket)
          expect((await other.op(W.Op.IsValidPath, encodePadded(info.path))).error).toBeUndefined()
          expect(await other.raw.read(u64)).toBe(1n)
          // The daemon did not buffer the whole NAR for the slow client.
          expect(process.memoryUsage().rss).toBeLessThan(2 * 1024 * 1024 * 1024)
          slow.raw.socket.resume()
          expect((await slow.messages()).error).toBeUndefined()
          await slow.raw.waitReceived(nar.length + 8, 20000)
          expect(Buffer.from(slow.raw.rest()).equals(Buffer.from(nar))).toBe(true)
          for (const c of [adder, slow, other]) c.close()
        })
      }),
    60000
  )

  it.scoped("a client that hangs up in the middle of an upload leaves nothing behind", () =>
    Effect.gen(function*() {
      const { socket, layout } = yield* startDaemon()
      yield* promise(async () => {
        const c = await Client.connect(socket)
        const big = new Uint8Array(4 * 1024 * 1024).fill(7)
        const nar = encodeNar({ _tag: "Regular", executable: false, contents: big })
        c.raw.write(
          encodeU64(W.Op.AddToStore),
          W.encodeAddToStoreRequest({
            name: "cut",
            method: { method: "recursive", algo: "sha256" },
            references: [],
            repair: false
          }),
          encodeU64(nar.length),
          nar.subarray(0, nar.length / 2)
        )
        await new Promise((r) => setTimeout(r, 200))
        c.close()
        await new Promise((r) => setTimeout(r, 300))
        const d = await Client.connect(socket)
        expect((await d.op(W.Op.QueryAllValidPaths)).error).toBeUndefined()
        expect(await d.raw.read(W.pathSet)).toEqual([])
        d.close()
        const left = fs.readdirSync(layout.realStoreDir).filter((n) => isTempName(n))
        expect(left).toEqual([])
        const spools = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("tsnix-daemon-upload-"))
        expect(spools).toEqual([])
      })
    }), 30000)

  // Live clock: an adder whose temp root reaches the collector just as it closes its socket retries
  // after a backoff sleep, which a TestClock never ends (what looked like a daemon hang).
  it.scopedLive(
    "16 clients add and query while a collection runs: nothing of theirs is lost, no BUSY",
    () =>
      Effect.gen(function*() {
        const { socket } = yield* startDaemon()
        yield* promise(async () => {
          // Garbage for the collector.
          const g = await Client.connect(socket)
          for (let i = 0; i < 40; i++) {
            const nar = encodeNar({
              _tag: "Regular",
              executable: false,
              contents: new TextEncoder().encode(`garbage ${i}\n`)
            })
            expect((await g.op(W.Op.AddToStore, ...addNar(`g${i}`, nar))).error).toBeUndefined()
            await g.raw.read(W.pathInfo("/nix/store", { withPath: true, format: 16 }))
          }
          g.close()
          const gc = await Client.connect(socket)
          const gcDone = gc.op(
            W.Op.CollectGarbage,
            W.encodeGcRequest({
              action: W.GcAction.DeleteDead,
              pathsToDelete: [],
              ignoreLiveness: false,
              maxFreed: 2n ** 64n - 1n
            })
          ).then(async (r) => {
            expect(r.error).toBeUndefined()
            return gc.raw.read(W.gcReply)
          })
          const workers = Array.from({ length: 16 }, async (_, w) => {
            const c = await Client.connect(socket)
            const mine: Array<string> = []
            for (let i = 0; i < 5; i++) {
              const nar = encodeNar({
                _tag: "Regular",
                executable: false,
                contents: new TextEncoder().encode(`w${w} ${i}\n`)
              })
              const r = await c.op(W.Op.AddToStore, ...addNar(`w${w}-${i}`, nar))
              expect(r.error).toBeUndefined()
              mine.push((await c.raw.read(W.pathInfo("/nix/store", { withPath: true, format: 16 }))).path)
              const q = await c.op(W.Op.QueryValidPaths, W.encodeSet(mine), encodeU64(0))
              expect(q.error).toBeUndefined()
              expect(await c.raw.read(W.pathSet)).toEqual(W.sortedUnique(mine))
            }
            return c
          })
          const clients = await Promise.all(workers)
          const res = await gcDone
          expect(res.paths.length).toBeGreaterThan(0)
          for (const p of res.paths) expect(p).toMatch(/-g\d+$/)
          for (const c of clients) c.close()
          gc.close()
        })
      }),
    60000
  )
})
