import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { encodeNar } from "../../src/core/nar/encode.js"
import { restorePath } from "../../src/io/restore.js"
import { ChunkPool, fromPortable, toPortable, walkChunks, type WalkState } from "../../src/io/walk.js"
import { arbTree } from "../core/nar/arbitrary.js"
import { chunked, hex, tempDir } from "./helpers.js"

/** Runs a walk to its end or hand-off: its bytes and its return value. */
const drain = (it: Generator<Uint8Array, WalkState | undefined>): { bytes: Buffer; state: WalkState | undefined } => {
  const parts: Array<Buffer> = []
  for (;;) {
    const r = it.next()
    if (r.done === true) return { bytes: Buffer.concat(parts), state: r.value }
    parts.push(Buffer.from(r.value)) // copied: pooled buffers are reused
  }
}

describe("walkChunks", () => {
  it.scoped("a walk handed off at any node and resumed elsewhere gives the same NAR", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const samples = fc.sample(fc.tuple(arbTree, fc.nat(40)), { numRuns: 150, seed: 7 })
      let handedOff = 0
      for (const [i, [tree, at]] of samples.entries()) {
        const nar = encodeNar(tree)
        const target = path.join(root, `t${i}`)
        yield* restorePath(target, chunked(nar, 4096))
        // A walk that is never stopped counts the node boundaries it asks about.
        let boundaries = 0
        const whole = drain(walkChunks(Buffer.from(target), { handOff: () => (boundaries++, false) }))
        expect(whole.state).toBeUndefined()
        expect(hex(whole.bytes)).toBe(hex(nar))
        if (boundaries === 0) continue
        // Stop at one of them.
        let asked = 0
        const first = drain(
          walkChunks(Buffer.from(target), { pool: new ChunkPool(), handOff: () => asked++ === at % boundaries })
        )
        expect(first.state).toBeDefined()
        if (first.state === undefined) continue
        handedOff++
        // The state crosses a thread boundary in its portable form (structured clone keeps strings).
        const state = fromPortable(structuredClone(toPortable(first.state)))
        const rest = drain(walkChunks(new Uint8Array(0), { resume: state, pool: new ChunkPool() }))
        expect(rest.state).toBeUndefined()
        expect(hex(Buffer.concat([first.bytes, rest.bytes]))).toBe(hex(nar))
      }
      expect(handedOff).toBeGreaterThan(30)
    }))

  it.scoped("names that are not UTF-8 survive the portable state", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const dir = Buffer.from(path.join(root, "d"))
      fs.mkdirSync(dir)
      const odd = Buffer.from([0x61, 0xff, 0xfe, 0x80])
      for (const name of [odd, Buffer.from("b"), Buffer.from("é")]) {
        fs.writeFileSync(Buffer.concat([dir, Buffer.from("/"), name]), name)
      }
      const whole = drain(walkChunks(dir)).bytes
      const first = drain(walkChunks(dir, { handOff: () => true }))
      expect(first.state).toBeDefined()
      const state = fromPortable(structuredClone(toPortable(first.state!)))
      expect(Buffer.compare(Buffer.from(state.next), Buffer.concat([dir, Buffer.from("/"), odd]))).toBe(0)
      const rest = drain(walkChunks(new Uint8Array(0), { resume: state }))
      expect(hex(Buffer.concat([first.bytes, rest.bytes]))).toBe(hex(whole))
    }))
})
