import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { formatReport, makeTerminal } from "../../src/layers/Progress.js"
import { Progress, reportProgress } from "../../src/services/Progress.js"

describe("Progress", () => {
  it("formats counts, bytes and percentages", () => {
    expect(formatReport({ activity: "checking store hashes", done: 5, total: 20, unit: "paths" }))
      .toBe("checking store hashes: 5 paths of 20 paths (25%)")
    expect(formatReport({ activity: "importing", done: 3 * 1048576, unit: "bytes" })).toBe("importing: 3.0 MiB")
  })

  it.effect("reporting without a Progress service does nothing", () => reportProgress({ activity: "x", done: 1 }))

  it.effect("the terminal display throttles, always shows completion, and erases its line", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const term = makeTerminal({ write: (s) => written.push(s) }, 10_000, () => 80)
      yield* reportProgress({ activity: "a", done: 1, total: 3 }).pipe(Effect.provideService(Progress, term))
      yield* term.report({ activity: "a", done: 2, total: 3 })
      yield* term.report({ activity: "a", done: 3, total: 3 })
      yield* term.clear
      expect(written).toEqual(["\r\x1b[Ka: 1 of 3 (33%)", "\r\x1b[Ka: 3 of 3 (100%)", "\r\x1b[K"])
    }))
})
