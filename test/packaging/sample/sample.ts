// A program as a user of the published package writes it: the library (`tsnix`), the pure
// codecs (`tsnix/core`) and the test layers (`tsnix/testing`), type-checked and run by
// test/packaging/pack.test.ts in a fresh project where the packed tarball is installed.
import { Chunk, Effect, Either, Stream } from "effect"
import { LocalStoreLayer, makeStoreLayout, Store, version } from "tsnix"
import { ExportFormat, Nix32, StorePath, Wire } from "tsnix/core"
import { localStoreLayerTest } from "tsnix/testing"

/** Adds a text file, exports it and decodes the export with the pure codec. */
const program = Effect.gen(function*() {
  const store = yield* Store
  const path = yield* store.addTextToStore("greeting", "Hello, world\n", [])
  const bytes = Buffer.concat(Chunk.toReadonlyArray(yield* Stream.runCollect(store.exportPaths([path]))))
  const decoder = new ExportFormat.ExportDecoder()
  decoder.feed(bytes)
  decoder.end()
  const exported: Array<string> = []
  for (;;) {
    const ev = decoder.next()
    if (ev instanceof Error) return yield* Effect.fail(ev)
    if (ev._tag === "PathEnd") exported.push(ev.trailer.path)
    if (ev._tag === "End" || ev._tag === "NeedInput") break
  }
  return { path, exported, valid: yield* store.queryAllValidPaths }
})

const root = process.argv[2]
if (root === undefined) throw new Error("usage: node sample.js STORE_ROOT")
const local = await Effect.runPromise(Effect.provide(program, LocalStoreLayer.layer({ layout: makeStoreLayout(root) })))
const test = await Effect.runPromise(Effect.provide(program, localStoreLayerTest))
const parsed = StorePath.parseStorePath("/nix/store", local.path)
console.log(JSON.stringify({
  version,
  local,
  test,
  // The hash part decodes to the 20 bytes of a compressed sha256.
  hashBytes: Either.match(Either.flatMap(parsed, (p) => Nix32.decodeNix32(p.hashPart)), {
    onLeft: () => -1,
    onRight: (b) => b.length
  }),
  wire: Buffer.from(Wire.encodePadded("tsnix")).toString("hex")
}))
