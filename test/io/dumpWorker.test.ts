import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Logger, LogLevel } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Writable } from "node:stream"
import { pathToFileURL } from "node:url"
import { dumpPathToFd, narHashPath } from "../../src/io/dump.js"
import { startDumpWorker } from "../../src/io/dumpWorkerClient.js"
import { walkChunks, type WalkState } from "../../src/io/walk.js"
import { hex, tempDir } from "./helpers.js"

// The worker runs compiled JavaScript: these tests use the build in dist/ (`npm test` builds
// first), with the types of the sources.
const dist = (file: string) => pathToFileURL(path.resolve(__dirname, "../../dist/io", file)).href
const client = () =>
  Effect.promise(() =>
    import(dist("dumpWorkerClient.js")) as Promise<typeof import("../../src/io/dumpWorkerClient.js")>
  )
const distDump = () => Effect.promise(() => import(dist("dump.js")) as Promise<typeof import("../../src/io/dump.js")>)

const MiB = 1024 * 1024

/** A tree big enough to go round the ring several times: large files (several slots each) and small ones. */
const makeTree = (root: string): string => {
  const top = path.join(root, "tree")
  fs.mkdirSync(path.join(top, "sub"), { recursive: true })
  for (let i = 0; i < 12; i++) {
    const bytes = Buffer.alloc(MiB + 12345 * i, i + 1)
    bytes.write(`file ${i}`, 0)
    fs.writeFileSync(path.join(top, `big${String(i).padStart(2, "0")}`), bytes)
  }
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(top, "sub", `s${i}`), `small ${i}\n`.repeat(i))
  fs.symlinkSync("sub/s1", path.join(top, "link"))
  fs.chmodSync(path.join(top, "big03"), 0o755)
  return top
}

/** The whole NAR of `p`, walked on this thread. */
const narOf = (p: string): Buffer => Buffer.concat([...walkChunks(Buffer.from(p))].map((c) => Buffer.from(c)))

/** Walks `p` on this thread up to its `at`-th node boundary: the bytes so far and where it stopped. */
const walkUntil = (p: string, at: number): { bytes: Buffer; state: WalkState } => {
  const parts: Array<Buffer> = []
  let asked = 0
  const it = walkChunks(Buffer.from(p), { handOff: () => asked++ === at })
  for (;;) {
    const r = it.next()
    if (r.done === true) {
      if (r.value === undefined) throw new Error("the walk ended before the hand-off")
      return { bytes: Buffer.concat(parts), state: r.value }
    }
    parts.push(Buffer.from(r.value))
  }
}

type Client = typeof import("../../src/io/dumpWorkerClient.js")
type Worker = NonNullable<ReturnType<Client["startDumpWorker"]>>

/** Starts a worker from the build and waits until it is ready. */
const readyWorker = (p: string) =>
  Effect.gen(function*() {
    const w = (yield* client()).startDumpWorker(p)
    expect(w).toBeDefined()
    const worker = w as Worker
    yield* Effect.addFinalizer(() => Effect.promise(() => worker.stop()))
    const started = Date.now()
    while (!worker.ready()) {
      if (Date.now() - started > 20_000) throw new Error("the dump worker did not start")
      yield* Effect.sleep(Duration.millis(5))
    }
    return worker
  })

/** Takes every chunk the worker publishes (copied, then released), optionally slowly. */
const collect = (w: Worker, slow = false) =>
  Effect.gen(function*() {
    const parts: Array<Buffer> = []
    for (;;) {
      const chunk = yield* w.next
      if (chunk === undefined) return Buffer.concat(parts)
      parts.push(Buffer.from(chunk))
      w.release()
      if (slow) yield* Effect.sleep(Duration.millis(1))
    }
  })

describe("dump worker", () => {
  it.effect("there is no worker when running from the TypeScript sources (the walk stays on this thread)", () =>
    Effect.sync(() => expect(startDumpWorker("/")).toBeUndefined()))

  it.scopedLive(
    "continues a walk handed off at any point: the same NAR bytes, in order, round the ring",
    () =>
      Effect.gen(function*() {
        const tree = makeTree(yield* tempDir)
        const whole = narOf(tree)
        for (const [at, slow] of [[0, false], [3, true], [150, false]] as const) {
          const first = walkUntil(tree, at)
          const w = yield* readyWorker(tree)
          w.start(first.state)
          const rest = yield* collect(w, slow)
          if (at < 3) expect(rest.length).toBeGreaterThan(8 * MiB) // more than the ring holds
          expect(hex(Buffer.concat([first.bytes, rest]))).toBe(hex(whole))
        }
      }),
    60_000
  )

  it.scopedLive(
    "a failure in the worker's part of the walk is a NarDumpError naming the path",
    () =>
      Effect.gen(function*() {
        const tree = makeTree(yield* tempDir)
        const fifo = path.join(tree, "zz-fifo")
        execFileSync("mkfifo", [fifo])
        const w = yield* readyWorker(tree)
        w.start(walkUntil(tree, 0).state)
        const e = yield* Effect.flip(collect(w))
        expect(e._tag).toBe("NarDumpError")
        expect(e.kind).toBe("UnsupportedFileType")
        expect(e.path).toBe(fifo)
        expect(e.message).toContain("FIFO")
      }),
    60_000
  )

  it.scopedLive(
    "stop ends the worker while it waits for room in a full ring, and next then fails",
    () =>
      Effect.gen(function*() {
        const tree = makeTree(yield* tempDir)
        const w = yield* readyWorker(tree)
        w.start(walkUntil(tree, 0).state)
        const chunk = yield* w.next // the worker is producing; nobody releases: the ring fills up
        expect(chunk).toBeDefined()
        yield* Effect.sleep(Duration.millis(200))
        yield* Effect.promise(() => w.stop()).pipe(
          Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("stop hung") })
        )
        const e = yield* Effect.flip(w.next)
        expect(e.detail).toContain("stopped")
      }),
    60_000
  )

  it.scopedLive("interrupting a dump while the worker walks stops the worker's thread", () =>
    Effect.gen(function*() {
      const tree = makeTree(yield* tempDir)
      const built = yield* distDump()
      const threads = () => fs.readdirSync("/proc/self/task").length
      // Warm up (thread pool, V8 helpers), so that only the worker's thread comes and goes below.
      yield* built.narHashPath(tree, { workerAfterBytes: Infinity })
      const before = threads()
      const handedOff = yield* Deferred.make<void>()
      const logger = Logger.make(({ message }) => {
        if (String(message).includes("a worker thread continues the walk")) Deferred.unsafeDone(handedOff, Effect.void)
      })
      // A slow reader: 5 ms per chunk, so the dump is still running when the worker has taken over.
      const slow = new Writable({ write: (_chunk, _enc, cb) => void setTimeout(cb, 5) })
      const fiber = yield* Effect.fork(
        built.dumpPathToWritable(tree, () => slow, { workerAfterBytes: 0 }).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.Debug)
        )
      )
      yield* Deferred.await(handedOff).pipe(
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("no hand-off") })
      )
      expect(threads()).toBeGreaterThan(before)
      yield* Fiber.interrupt(fiber)
      const started = Date.now()
      while (threads() > before && Date.now() - started < 10_000) yield* Effect.sleep(Duration.millis(20))
      expect(threads()).toBe(before)
    }), 60_000)

  it.scopedLive(
    "narHashPath and dumpPathToWritable from the build give the NAR of the tree whenever the worker takes over",
    () =>
      Effect.gen(function*() {
        const root = yield* tempDir
        const tree = makeTree(root)
        const nar = narOf(tree)
        const expected = createHash("sha256").update(nar).digest("hex")
        const built = yield* distDump()
        for (const workerAfterBytes of [0, MiB, 4 * MiB, Infinity]) {
          const h = yield* built.narHashPath(tree, { workerAfterBytes })
          expect(hex(h.narHash)).toBe(expected)
          expect(h.narSize).toBe(nar.length)
          const out = path.join(root, `out-${workerAfterBytes}.nar`)
          const stream = fs.createWriteStream(out)
          const w = yield* built.dumpPathToWritable(tree, () => stream, { workerAfterBytes, end: true })
          expect(hex(w.narHash)).toBe(expected)
          expect(hex(fs.readFileSync(out))).toBe(hex(nar))
        }
        // And the sources' own (no worker) agree.
        expect(hex((yield* narHashPath(tree, { workerAfterBytes: 0 })).narHash)).toBe(expected)
      }),
    60_000
  )

  it.scopedLive(
    "dumpPathToFd from the build writes the NAR of the tree into a file whenever the worker takes over",
    () =>
      Effect.gen(function*() {
        const root = yield* tempDir
        const tree = makeTree(root)
        const nar = narOf(tree)
        const built = yield* distDump()
        for (const workerAfterBytes of [0, MiB, 4 * MiB, Infinity]) {
          const out = path.join(root, `fd-${workerAfterBytes}.nar`)
          // Something already in the file, and an append-mode descriptor: the dump goes after it.
          fs.writeFileSync(out, "head")
          const fd = fs.openSync(out, "a")
          const size = yield* built.dumpPathToFd(tree, fd, { workerAfterBytes }).pipe(
            Effect.ensuring(Effect.sync(() => fs.closeSync(fd)))
          )
          expect(size).toBe(nar.length)
          expect(hex(fs.readFileSync(out))).toBe(hex(Buffer.concat([Buffer.from("head"), nar])))
        }
        // The sources' own (no worker) agree.
        const out = path.join(root, "fd-src.nar")
        const fd = fs.openSync(out, "w")
        expect(yield* dumpPathToFd(tree, fd, { workerAfterBytes: 0 })).toBe(nar.length)
        fs.closeSync(fd)
        expect(hex(fs.readFileSync(out))).toBe(hex(nar))
      }),
    60_000
  )

  it.scopedLive(
    "dumpPathToFd into a pipe read by a slow child: the worker's blocking writes wait for the reader; a reader that goes away is a NarWriteError (EPIPE)",
    () =>
      Effect.gen(function*() {
        const root = yield* tempDir
        const tree = makeTree(root)
        const nar = narOf(tree)
        const built = yield* distDump()
        const expected = createHash("sha256").update(nar).digest("hex")
        const fifo = path.join(root, "pipe")
        execFileSync("mkfifo", [fifo])
        // A child that reads the pipe slowly (64 KiB per 2 ms), up to `limit` bytes, and prints their sha256.
        const reader = (limit: number) => {
          const child = spawn(process.execPath, [
            "-e",
            `const c = require("node:crypto").createHash("sha256"); const fs = require("node:fs");
             const fd = fs.openSync(${JSON.stringify(fifo)}, "r"); const b = Buffer.alloc(65536); let n = 0;
             const step = () => { const k = fs.readSync(fd, b);
               if (k === 0 || n >= ${limit}) { process.stdout.write(c.digest("hex")); process.exit(0) }
               c.update(b.subarray(0, k)); n += k; setTimeout(step, 2) };
             step()`
          ], { stdio: ["ignore", "pipe", "inherit"] })
          let digest = ""
          child.stdout.on("data", (d) => (digest += String(d)))
          const closed = new Promise<string>((resolve) => child.on("close", () => resolve(digest)))
          return closed
        }
        // Opening the pipe for writing waits for the reader; the open is done on the thread pool.
        const openWrite = (flags: number) =>
          Effect.promise(() =>
            new Promise<number>((resolve, reject) => fs.open(fifo, flags, (e, fd) => (e ? reject(e) : resolve(fd))))
          )
        for (const workerAfterBytes of [0, 4 * MiB]) {
          const done = reader(Infinity)
          const fd = yield* openWrite(fs.constants.O_WRONLY)
          const size = yield* built.dumpPathToFd(tree, fd, { workerAfterBytes })
          fs.closeSync(fd)
          expect(size).toBe(nar.length)
          expect(yield* Effect.promise(() => done)).toBe(expected)
        }
        // A non-blocking descriptor: EAGAIN is waited out, the bytes still arrive whole.
        {
          const done = reader(Infinity)
          const fd = yield* openWrite(fs.constants.O_WRONLY)
          const nonBlocking = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)
          fs.closeSync(fd)
          expect(yield* built.dumpPathToFd(tree, nonBlocking, { workerAfterBytes: 0 })).toBe(nar.length)
          fs.closeSync(nonBlocking)
          expect(yield* Effect.promise(() => done)).toBe(expected)
        }
        // A reader that stops after 1 MiB: the writer gets EPIPE, as a NarWriteError.
        {
          const done = reader(MiB)
          const fd = yield* openWrite(fs.constants.O_WRONLY)
          const e = yield* Effect.flip(built.dumpPathToFd(tree, fd, { workerAfterBytes: 0 }))
          fs.closeSync(fd)
          yield* Effect.promise(() => done)
          expect(e._tag).toBe("NarWriteError")
          expect((e as { cause?: { code?: string } }).cause?.code).toBe("EPIPE")
        }
      }),
    60_000
  )
})
