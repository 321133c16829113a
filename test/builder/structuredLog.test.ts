/**
 * The builder's output cut into lines as Nix's logger cuts it (whatever the chunking), `@nix`
 * messages taken out, and Nix's filterANSIEscapes. Nix's own behaviour on a builder writing these
 * lines is compared in features-golden.test.ts (case jsonlog).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { Buffer } from "node:buffer"
import { filterAnsiEscapes, makeLogLineSplitter } from "../../src/builder/structuredLog.js"

const run = (chunks: ReadonlyArray<Uint8Array>, verbosity = 3) => {
  const events: Array<string> = []
  const structured: Array<unknown> = []
  const s = makeLogLineSplitter({
    onLine: (l) => events.push(`line:${Buffer.from(l).toString("latin1")}`),
    onMessage: (m) => events.push(`msg:${m}`),
    onStructured: (j) => structured.push(j),
    verbosity
  })
  for (const c of chunks) s.write(c)
  s.end()
  return { events, structured }
}

/** Cuts bytes at the given offsets. */
const cut = (bytes: Uint8Array, at: ReadonlyArray<number>) => {
  const points = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  return out
}

const plainLine = fc.stringMatching(/^[a-z @{}:"0-9]{0,20}$/).filter((l) => !l.startsWith("@nix "))

describe("structured log lines", () => {
  it.effect.prop(
    "plain text: the lines come out whole whatever the chunking; a last line without \\n is flushed",
    [fc.array(plainLine, { maxLength: 8 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 })],
    ([lines, final, at]) =>
      Effect.sync(() => {
        const text = lines.join("\n") + (final && lines.length > 0 ? "\n" : "")
        const r = run(cut(Buffer.from(text, "latin1"), at))
        // Each \n ends a line (empty ones too); what follows the last \n is a line when not empty.
        const segments = text.split("\n")
        const last = segments.pop()!
        const expected = last === "" ? segments : [...segments, last]
        expect(r.events).toEqual(expected.map((l) => `line:${l}`))
      })
  )

  it.effect.prop(
    "\\r goes back to the start of the line; later bytes overwrite, the rest stays (Nix's currentLogLinePos)",
    [plainLine, plainLine],
    ([a, b]) =>
      Effect.sync(() => {
        const r = run([Buffer.from(`${a}\r${b}\n`, "latin1")])
        const line = b.length >= a.length ? b : b + a.slice(b.length)
        expect(r.events).toEqual(line === "" && a === "" ? ["line:"] : [`line:${line}`])
      })
  )

  it.effect("@nix messages: msg and file-transfer starts by level, the rest handled silently, bad JSON logged", () =>
    Effect.sync(() => {
      const r = run([
        Buffer.from(
          [
            `@nix {"action":"msg","level":1,"msg":"warned"}`,
            `@nix {"action":"msg","level":5,"msg":"hidden"}`,
            `@nix {"action":"setPhase","phase":"unpackPhase"}`,
            `@nix {"action":"start","id":1,"level":3,"type":101,"text":"fetching","fields":[]}`,
            `@nix {"action":"result","id":1,"type":105,"fields":[1,2,0,0]}`,
            `@nix {"action":"result","id":9,"type":105,"fields":[]}`,
            `@nix {"action":"stop","id":1}`,
            `@nix {"action":"start","id":2,"level":0,"type":105,"text":"a build activity","fields":[]}`,
            `@nix {oops`,
            `@nixnot`,
            ""
          ].join("\n")
        )
      ])
      expect(r.events[0]).toBe("msg:warned")
      expect(r.events[1]).toBe("msg:fetching...")
      expect(r.events[2]).toMatch(/^msg:bad JSON log message from builder: /)
      expect(r.events.slice(3)).toEqual(["line:@nix {oops", "line:@nixnot"])
      // setPhase, and the start/result/stop of the file transfer (not the unknown or untrusted activities).
      expect(r.structured.map((j) => (j as { action: string }).action)).toEqual(["setPhase", "start", "result", "stop"])
    }))

  it.effect.prop(
    "filterANSIEscapes(filterAll): no escape, \\r or \\a left; tabs stop at multiples of 8",
    [fc.array(fc.constantFrom("a", "é", "\t", "\r", "\x07", "\x1b[31m", "\x1b[1;2H", "\x1bM", "x"), { maxLength: 20 })],
    ([parts]) =>
      Effect.sync(() => {
        const out = Buffer.from(filterAnsiEscapes(Buffer.from(parts.join(""), "utf8"), true)).toString("utf8")
        for (const bad of ["\x1b", "\r", "\x07", "\t"]) expect(out.includes(bad)).toBe(false)
        let col = 0
        for (const p of parts) {
          if (p === "\t") col += 8 - (col % 8)
          else if (p === "a" || p === "é" || p === "x") col += 1
        }
        expect([...out].length).toBe(col)
      })
  )

  it.effect("filterANSIEscapes keeps colours (only) when not filtering all", () =>
    Effect.sync(() => {
      const s = Buffer.from("\x1b[31mred\x1b[0m \x1b[2Jclear", "latin1")
      expect(Buffer.from(filterAnsiEscapes(s, false)).toString("latin1")).toBe("\x1b[31mred\x1b[0m clear")
      expect(Buffer.from(filterAnsiEscapes(s, true)).toString("latin1")).toBe("red clear")
    }))
})
