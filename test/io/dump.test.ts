import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { decodeNar } from "../../src/core/nar/decode.js"
import { encodeNar } from "../../src/core/nar/encode.js"
import { dumpPath, dumpPathToSink, dumpPathToWritable, narHashPath } from "../../src/io/dump.js"
import { NarDumpError } from "../../src/core/nar/ioErrors.js"
import { narHashSink } from "../../src/io/hash.js"
import { collectBytes, hex, plain, readTree, tempDir } from "./helpers.js"

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const openFds = () => fs.readdirSync("/proc/self/fd").length

describe("dumpPath", () => {
  it.scoped("sockets and FIFOs are a typed UnsupportedFileType error, at the top or inside a directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fifo = path.join(dir, "fifo")
      execFileSync("mkfifo", [fifo])
      const e1 = yield* Effect.flip(narHashPath(fifo))
      expect(e1).toBeInstanceOf(NarDumpError)
      expect(e1.kind).toBe("UnsupportedFileType")
      fs.mkdirSync(path.join(dir, "d"))
      fs.writeFileSync(path.join(dir, "d", "a"), "a")
      const sock = path.join(dir, "d", "s")
      const server = net.createServer()
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(sock, () => resume(Effect.void))
        }),
        () => Effect.sync(() => server.close())
      )
      const e2 = yield* Effect.flip(collectBytes(dumpPath(path.join(dir, "d"))))
      expect(e2.kind).toBe("UnsupportedFileType")
      expect(e2.path).toBe(sock)
      expect(e2.message).toContain("socket")
    }))

  it.scoped("a missing path is an Io error", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const e = yield* Effect.flip(narHashPath(path.join(dir, "nope")))
      expect(e.kind).toBe("Io")
      expect(e.message).toContain("ENOENT")
    }))

  it.scoped("symlinks are stored, never followed (top and nested)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.mkdirSync(path.join(dir, "real"))
      fs.writeFileSync(path.join(dir, "real", "f"), "secret")
      fs.symlinkSync("real", path.join(dir, "top"))
      const top = Either.getOrThrow(decodeNar(yield* collectBytes(dumpPath(path.join(dir, "top")))))
      expect(plain(top)).toEqual(plain({ _tag: "Symlink", target: "real" }))
      fs.mkdirSync(path.join(dir, "d"))
      fs.symlinkSync("../real", path.join(dir, "d", "l"))
      const nested = yield* collectBytes(dumpPath(path.join(dir, "d")))
      expect(Buffer.from(nested).includes(Buffer.from("secret"))).toBe(false)
    }))

  it.scoped("large files stream in bounded chunks; hash and size match the bytes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const p = path.join(dir, "big")
      const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7)
      fs.writeFileSync(p, data, { mode: 0o755 })
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(dumpPath(p)))
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(1024 * 1024)
      const nar = Buffer.concat(chunks)
      expect(hex(nar)).toBe(hex(encodeNar({ _tag: "Regular", executable: true, contents: data })))
      const h = yield* narHashPath(p)
      expect(hex(h.narHash)).toBe(sha(nar))
      expect(h.narSize).toBe(nar.length)
      const viaSink = yield* Stream.run(dumpPath(p), narHashSink)
      expect(hex(viaSink.narHash)).toBe(sha(nar))
      const toSink = yield* dumpPathToSink(p, narHashSink)
      expect(hex(toSink.narHash)).toBe(sha(nar))
    }))

  it.scoped("stopping a dump early closes the open file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const p = path.join(dir, "big")
      fs.writeFileSync(p, Buffer.alloc(4 * 1024 * 1024))
      const before = openFds()
      const first = yield* Stream.runCollect(Stream.take(dumpPath(p), 2))
      expect(Chunk.size(first)).toBe(2)
      expect(openFds()).toBe(before)
    }))

  it.scoped("dumpPathToWritable writes the NAR and returns its hash from the same pass", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.mkdirSync(path.join(dir, "t"))
      fs.writeFileSync(path.join(dir, "t", "small"), "small")
      fs.writeFileSync(path.join(dir, "t", "large"), Buffer.alloc(2_500_000, 1))
      fs.symlinkSync("small", path.join(dir, "t", "link"))
      const out = path.join(dir, "out.nar")
      const res = yield* dumpPathToWritable(path.join(dir, "t"), () => fs.createWriteStream(out), { end: true })
      const written = fs.readFileSync(out)
      expect(res.narSize).toBe(written.length)
      expect(hex(res.narHash)).toBe(sha(written))
      expect(plain(Either.getOrThrow(decodeNar(written)))).toEqual(plain(readTree(path.join(dir, "t"))))
      const out2 = path.join(dir, "out2.nar")
      const res2 = yield* dumpPathToWritable(path.join(dir, "t"), () => fs.createWriteStream(out2), {
        end: true,
        hash: false
      })
      expect(res2.narSize).toBe(written.length)
      expect(res2.narHash.length).toBe(0)
      expect(hex(fs.readFileSync(out2))).toBe(hex(written))
    }))

  it.scoped("a failing writable is a NarWriteError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, "f"), "x")
      const e = yield* Effect.flip(
        dumpPathToWritable(path.join(dir, "f"), () => fs.createWriteStream(path.join(dir, "no/such/dir")))
      )
      expect(e._tag).toBe("NarWriteError")
    }))
})
