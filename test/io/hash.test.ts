import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { createHash } from "node:crypto"
import { makeNarHasher } from "../../src/io/hash.js"

const sha = (parts: ReadonlyArray<Uint8Array>) => {
  const h = createHash("sha256")
  for (const p of parts) h.update(p)
  return h.digest("hex")
}

describe("makeNarHasher", () => {
  it.effect.prop(
    "any cutting of the bytes gives sha256 and size of the whole (one small chunk, several, large ones)",
    [fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 64 * 1024 - 2, maxLength: 64 * 1024 + 2 })
      ),
      { maxLength: 5 }
    )],
    ([parts]) =>
      Effect.sync(() => {
        const hasher = makeNarHasher()
        for (const p of parts) hasher.update(p)
        const r = hasher.result()
        expect(Buffer.from(r.narHash).toString("hex")).toBe(sha(parts))
        expect(r.narSize).toBe(parts.reduce((n, p) => n + p.length, 0))
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it.effect("a chunk's buffer may be reused by the caller as soon as update returns", () =>
    Effect.sync(() => {
      const buf = Buffer.from("first chunk")
      const hasher = makeNarHasher()
      hasher.update(buf)
      buf.fill(0) // the dumper recycles its buffers
      expect(Buffer.from(hasher.result().narHash).toString("hex")).toBe(sha([Buffer.from("first chunk")]))
      const two = makeNarHasher()
      const a = Buffer.from("a")
      two.update(a)
      a.fill(0)
      two.update(Buffer.from("b"))
      expect(Buffer.from(two.result().narHash).toString("hex")).toBe(sha([Buffer.from("ab")]))
    }))
})
