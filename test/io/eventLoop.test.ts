/**
 * The slicing helpers: a sliced job gives timers a turn between its slices
 * (Effect.yieldNow alone does not), a job that fits in one slice runs in one
 * go, failures become the caller's error, and a sliced tree walk visits
 * exactly what the one-go walk visits, in the same order.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { runInSlices, SLICE_MS, sliceUsedUp, yieldToEventLoop } from "../../src/io/eventLoop.js"
import { makeTreeWalk, walkTreeSync } from "../../src/io/fsOps.js"
import { removeTreeSync } from "../../src/stores/local/ops/removeTree.js"

const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end) { /* spin */ }
}

describe("eventLoop", () => {
  it.live("yieldToEventLoop lets a due timer run; Effect.yieldNow does not", () =>
    Effect.gen(function*() {
      let fired = false
      setTimeout(() => (fired = true), 0)
      busy(5)
      yield* Effect.yieldNow()
      expect(fired).toBe(false)
      yield* yieldToEventLoop
      // A setImmediate round: the timer phase comes first on the next turn (at the latest the one after).
      yield* yieldToEventLoop
      expect(fired).toBe(true)
    }))

  it.live("a long job runs in slices, with timer firings in between", () =>
    Effect.gen(function*() {
      let firings = 0
      const timer = setInterval(() => firings++, 1)
      let steps = 0
      let work = 60 // ms of busy work in all
      yield* runInSlices((due) => {
        steps++
        while (work > 0) {
          if (due()) return false
          busy(1)
          work--
        }
        return true
      }, (e) => e)
      clearInterval(timer)
      expect(steps).toBeGreaterThanOrEqual(Math.floor(60 / (SLICE_MS + 1)))
      expect(firings).toBeGreaterThanOrEqual(steps - 2)
    }))

  it.live("a short job is one step; a throw is the caller's error", () =>
    Effect.gen(function*() {
      yield* yieldToEventLoop
      let steps = 0
      yield* runInSlices(() => (steps++, true), (e) => e)
      expect(steps).toBe(1)
      expect(sliceUsedUp()).toBe(false)
      const exit = yield* Effect.exit(runInSlices(() => {
        throw new Error("boom")
      }, (e) => ({ wrapped: (e as Error).message })))
      expect(exit).toEqual(Exit.fail({ wrapped: "boom" }))
    }))

  it("a sliced tree walk (one node per step) visits what walkTreeSync visits", () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-walk-"))
    try {
      const root = path.join(base, "t")
      fs.mkdirSync(path.join(root, "a", "b"), { recursive: true })
      fs.mkdirSync(path.join(root, "empty"))
      for (const n of ["x", "y", "z"]) fs.writeFileSync(path.join(root, "a", n), n)
      fs.writeFileSync(path.join(root, "a", "b", "deep"), "")
      fs.writeFileSync(Buffer.from(`${root}/\xff`, "latin1"), "not utf-8")
      fs.symlinkSync("a", path.join(root, "link"))
      const visits = (walk: (v: Parameters<typeof walkTreeSync>[1]) => void) => {
        const out: Array<string> = []
        walk({
          node: (p) => void out.push(`node ${p.toString("latin1")}`),
          leaveDirectory: (p) => void out.push(`leave ${p.toString("latin1")}`)
        })
        return out
      }
      const whole = visits((v) => walkTreeSync(Buffer.from(root), v))
      let steps = 0
      const sliced = visits((v) => {
        const step = makeTreeWalk(Buffer.from(root), v)
        while (!step(() => true)) steps++
      })
      expect(sliced).toEqual(whole)
      expect(whole.length).toBe(2 * 4 + 6) // 4 directories (node + leave), 6 leaves
      expect(steps).toBeGreaterThanOrEqual(whole.length - 4)
    } finally {
      removeTreeSync(base)
    }
  })
})
