/** FastCheck generators of NAR trees (valid names and targets, unique entry names). */
import { FastCheck as fc } from "effect"
import type { NarTree } from "../../../src/core/nar/encode.js"
import { invalidNameReason } from "../../../src/core/nar/parser.js"

const nameBytes: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    fc.constantFrom("a", "B", "_", "é", "Z", "a.b", "a-b", "ab", "日本", ".x", "..y", "~").map((s) => Buffer.from(s)),
    fc.string({ minLength: 1, maxLength: 8 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ minLength: 1, maxLength: 10 })
  )
  .filter((b) => invalidNameReason(b) === undefined && b.length <= 255)

const target = fc
  .uint8Array({ minLength: 1, maxLength: 30 })
  .map((b) => Buffer.from(b.map((x) => (x === 0 ? 0x61 : x))))

const regular = fc.record({
  _tag: fc.constant("Regular" as const),
  executable: fc.boolean(),
  contents: fc.uint8Array({ maxLength: 40 })
})

const symlink = fc.record({ _tag: fc.constant("Symlink" as const), target })

/** Arbitrary valid NAR trees up to depth 3. */
export const arbTree: fc.Arbitrary<NarTree> = fc.letrec<{ node: NarTree; dir: NarTree }>((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, regular, symlink, tie("dir")),
  dir: fc
    .uniqueArray(fc.record({ name: nameBytes, node: tie("node") }), {
      maxLength: 5,
      selector: (e) => Buffer.from(e.name).toString("hex")
    })
    .map((entries) => ({ _tag: "Directory" as const, entries }))
})).node
