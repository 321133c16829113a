/**
 * connectUnix against a real listener in a child process: a backlog that is
 * full while the listener does not accept (EAGAIN) is waited out, and a socket
 * nobody listens on fails at once with the path in the message.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import { connectUnix } from "../../src/io/byteConnection.js"

/** A listener with backlog 1 that blocks its event loop for `blockMs` after it is listening, then accepts. */
const slowListener = (socketPath: string, blockMs: number) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof spawn>, Error>((resume) => {
      const script = `
        const net = require("node:net")
        const server = net.createServer((c) => { c.end("ok") })
        server.listen({ path: ${JSON.stringify(socketPath)}, backlog: 1 }, () => {
          process.stdout.write("listening\\n")
          const end = Date.now() + ${blockMs}
          while (Date.now() < end) {}
        })`
      const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
      child.stdout.once("data", () => resume(Effect.succeed(child)))
      child.once("error", (e) => resume(Effect.fail(e)))
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const readAll = (socketPath: string) =>
  Effect.scoped(
    Effect.gen(function*() {
      const conn = yield* connectUnix(socketPath)
      const chunks: Array<Uint8Array> = []
      for (;;) {
        const chunk = yield* conn.read
        if (Option.isNone(chunk)) break
        chunks.push(chunk.value)
      }
      return Buffer.concat(chunks).toString()
    })
  )

describe("connectUnix", () => {
  it.live("waits out a full backlog while the listener is busy, then connects", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-conn-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const socketPath = path.join(dir, "s")
        yield* slowListener(socketPath, 1500)
        const answers = yield* Effect.forEach(Array.from({ length: 12 }), () => readAll(socketPath), {
          concurrency: "unbounded"
        })
        expect(answers).toEqual(Array.from({ length: 12 }, () => "ok"))
      })
    ), 30_000)

  it.live("a socket nobody listens on fails at once, naming the path", () =>
    Effect.gen(function*() {
      const socketPath = path.join(os.tmpdir(), `tsnix-conn-none-${process.pid}`)
      const started = Date.now()
      const exit = yield* Effect.exit(readAll(socketPath))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain(socketPath)
      expect(Date.now() - started).toBeLessThan(1000)
    }))
})
