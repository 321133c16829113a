import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { openStoreDb, rawDb, tempLayout } from "./helpers.js"

const fixtures = path.resolve(__dirname, "../../../fixtures")

const run = (script: string, args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [path.join(fixtures, script), ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d) => (stdout += d))
  child.stderr.on("data", (d) => (stderr += d))
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((
    resolve
  ) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })))
  return { child, done, stdout: () => stdout }
}

describe("several processes", () => {
  it.live(
    "four writers at once: all succeed, nothing lost, no BUSY surfaces",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const layout = yield* tempLayout
        // Create the database first (an upgrade/creation is not what is tested here).
        yield* Effect.scoped(openStoreDb({ layout }))
        const perWorker = 200
        const results = yield* Effect.promise(() =>
          Promise.all([0, 1, 2, 3].map((w) => run("db-writer.mjs", [layout.root, String(w), String(perWorker)]).done))
        )
        for (const r of results) {
          expect(r.stderr).toBe("")
          expect(r.code).toBe(0)
          expect(JSON.parse(r.stdout)).toMatchObject({ registered: perWorker, closure: perWorker })
        }
        const db = yield* openStoreDb({ layout })
        expect((yield* db.queryAllValidPaths).length).toBe(4 * perWorker)
        const raw = rawDb(path.join(layout.dbDir, "db.sqlite"), { readonly: true })
        const fk = raw.prepare("pragma foreign_key_check").all()
        raw.close()
        expect(fk).toEqual([])
      })),
    60_000
  )

  it.live("SIGINT during a long registration leaves no rows", () =>
    Effect.scoped(Effect.gen(function*() {
      const layout = yield* tempLayout
      yield* Effect.scoped(openStoreDb({ layout }))
      const proc = run("db-sigint.mjs", [layout.root])
      yield* Effect.promise(() =>
        new Promise<void>((resolve, reject) => {
          const timer = setInterval(() => {
            if (proc.stdout().includes("inside")) {
              clearInterval(timer)
              resolve()
            }
          }, 10)
          void proc.done.then((r) => {
            clearInterval(timer)
            reject(new Error(`child exited early: ${r.code} ${r.stderr}`))
          })
        })
      )
      proc.child.kill("SIGINT")
      const r = yield* Effect.promise(() => proc.done)
      // runMain interrupts the main fiber (running the ROLLBACK) and exits 0 or 130; the
      // program itself never ends on its own.
      expect(r.stderr).toBe("")
      expect([0, 130]).toContain(r.code)
      expect(r.stdout).toContain("after-interrupt count=0")
      const db = yield* openStoreDb({ layout })
      expect(yield* db.queryAllValidPaths).toEqual([])
    })), 30_000)
})
