import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { encodeNar, type NarTree } from "../../src/core/nar/encode.js"
import { tempDir } from "./helpers.js"

const fixture = path.resolve(__dirname, "../fixtures/nar-restore.mjs")
// The fixture runs the compiled code in dist/ (`npm test` builds first).

const tree: NarTree = {
  _tag: "Directory",
  entries: [
    { name: "a", node: { _tag: "Regular", executable: true, contents: "#!/bin/sh\n" } },
    { name: "big", node: { _tag: "Regular", executable: false, contents: Buffer.alloc(8 * 1024 * 1024, 3) } },
    { name: "l", node: { _tag: "Symlink", target: "a" } }
  ]
}
const nar = encodeNar(tree)

const run = (target: string, feed: (stdin: NodeJS.WritableStream, child: ReturnType<typeof spawn>) => void) =>
  Effect.async<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resume) => {
    const child = spawn(process.execPath, [fixture, target], { stdio: ["pipe", "pipe", "inherit"] })
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.stdin.on("error", () => undefined)
    child.on("close", (code, signal) => resume(Effect.succeed({ code, signal, out })))
    feed(child.stdin, child)
  })

describe("restore in a child process", () => {
  it.scopedLive("restores a NAR from stdin", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "t")
      const r = yield* run(target, (stdin) => stdin.end(nar))
      expect(r.out.trim()).toBe(`ok ${createHash("sha256").update(nar).digest("hex")} ${nar.length}`)
      expect(fs.readlinkSync(path.join(target, "l"))).toBe("a")
      expect(fs.statSync(path.join(target, "big")).size).toBe(8 * 1024 * 1024)
    }))

  it.scopedLive("SIGINT in the middle of a file removes everything", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "t")
      const r = yield* run(target, (stdin, child) => {
        stdin.write(nar.subarray(0, nar.length - 1024 * 1024)) // stop inside "big"; keep stdin open
        const poll = setInterval(() => {
          const big = path.join(target, "big")
          if (fs.existsSync(big) && fs.statSync(big).size > 1024 * 1024) {
            clearInterval(poll)
            child.kill("SIGINT")
          }
        }, 10)
      })
      expect(r.out).toBe("") // neither finished nor failed: interrupted (runMain exits 0 on interruption)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.scopedLive("a truncated NAR on stdin is a typed error and leaves nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const target = path.join(dir, "t")
      const r = yield* run(target, (stdin) => stdin.end(nar.subarray(0, 5000)))
      expect(r.out.trim()).toBe("error NarParseError Truncated")
      expect(r.code).toBe(1)
      expect(fs.readdirSync(dir)).toEqual([])
    }))
})
