/** Import of malformed export streams: the typed error and its message, nothing registered, no temporaries. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import {
  encodeExport,
  encodeExportTrailer,
  EXPORT_PATH_START,
  type ExportTrailer
} from "../../../../src/core/exportFormat.js"
import { encodeNar } from "../../../../src/core/nar/encode.js"
import { concatBytes, encodePadded, encodeU64 } from "../../../../src/core/wire/index.js"
import * as StoreLive from "../../../../src/stores/local/layer.js"
import { Store } from "../../../../src/services/Store.js"
import { isTempName } from "../../../../src/stores/local/ops/tempPath.js"
import { goldenBytes } from "./golden.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"

const leaf = "/nix/store/0g15fd8vnnjpmkhl6fhrqw6ngz4b3a1j-leaf.txt"
const other = "/nix/store/1g15fd8vnnjpmkhl6fhrqw6ngz4b3a1j-other"
const nar = encodeNar({ _tag: "Regular", executable: false, contents: "leaf\n" })
const trailer: ExportTrailer = { path: leaf, references: [], deriver: undefined }
const good = encodeExport([{ nar, trailer }])
/** Offset of the trailer (after u64 1 and the NAR). */
const trailerAt = 8 + nar.length

/** Imports `bytes` (in chunks of `chunk` bytes); returns the error's tag and message. */
const importFails = (bytes: Uint8Array, chunk = bytes.length || 1) =>
  Effect.gen(function*() {
    const store = yield* Store
    const chunks: Array<Uint8Array> = []
    for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.slice(i, i + chunk))
    const e = yield* Effect.flip(store.importPaths(Stream.fromIterable(chunks)))
    expect(yield* store.queryAllValidPaths).toEqual([])
    expect(fs.readdirSync((yield* LocalStore).layout.realStoreDir).filter(isTempName)).toEqual([])
    return `${e._tag}: ${e.message}`
  }).pipe(Effect.provide(StoreLive.layerTest))

const withTrailer = (t: Uint8Array) => concatBytes([EXPORT_PATH_START, nar, t, encodeU64(0)])

describe("importPaths: malformed streams", () => {
  it.effect("the stream is not an export", () =>
    Effect.gen(function*() {
      expect(yield* importFails(encodeU64(2))).toBe(
        "BadExportStreamError: import failed: input doesn't look like something created by 'nix-store --export'"
      )
    }))

  it.effect("the stream ends early, wherever it is cut outside a NAR", () =>
    Effect.gen(function*() {
      expect(yield* importFails(new Uint8Array(0))).toBe(
        "BadExportStreamError: import failed: the stream ended early (unexpected end of input: expected 8 bytes, got 0)"
      )
      expect(yield* importFails(good.subarray(0, 3))).toBe(
        "BadExportStreamError: import failed: the stream ended early (unexpected end of input: expected 8 bytes, got 3)"
      )
      // Inside the path string: its padded length was wanted.
      expect(yield* importFails(good.subarray(0, trailerAt + 8 + 8 + 10), 7)).toBe(
        "BadExportStreamError: import failed: the stream ended early (unexpected end of input: expected 56 bytes, got 10)"
      )
      expect(yield* importFails(good.subarray(0, good.length - 1), 5)).toBe(
        "BadExportStreamError: import failed: the stream ended early (unexpected end of input: expected 8 bytes, got 7)"
      )
    }))

  it.effect("a NAR cut short is the same import error, not a NAR parse error", () =>
    Effect.gen(function*() {
      expect(yield* importFails(good.subarray(0, 8 + 20), 6)).toBe(
        "BadExportStreamError: import failed: the stream ended early (unexpected end of archive at byte 20 of a NAR)"
      )
    }))

  it.effect(
    "every truncation of Nix's export is the stream ending early (Nix: 'unexpected end-of-file')",
    () =>
      Effect.gen(function*() {
        const store = yield* Store
        const bytes = new Uint8Array(goldenBytes("export-mid.nar"))
        for (let n = 0; n < bytes.length; n++) {
          const e = yield* Effect.flip(store.importPaths(Stream.make(bytes.slice(0, n))))
          expect(`${e._tag}: ${e.message}`, `cut at ${n}`).toMatch(
            /^BadExportStreamError: import failed: the stream ended early \(/
          )
        }
        expect(yield* store.queryAllValidPaths).toEqual([])
      }).pipe(Effect.provide(StoreLive.layerTest)),
    60_000
  )

  it.effect("a malformed NAR stays a NAR parse error", () =>
    Effect.gen(function*() {
      const bad = good.slice()
      bad[8 + 8] = 0x4d // "nix-archive-1" → "Mix-archive-1"
      expect(yield* importFails(bad)).toBe(
        "NarParseError: invalid NAR at byte 24: not a NAR: bad magic \"Mix-archive-1\""
      )
    }))

  it.effect("wrong magic, absurd lengths and counts, non-zero padding, bad paths", () =>
    Effect.gen(function*() {
      const t = encodeExportTrailer(trailer)
      const wrongMagic = t.slice()
      wrongMagic[0] = 0
      expect(yield* importFails(withTrailer(wrongMagic))).toBe(
        "BadExportStreamError: import failed: Nix archive cannot be imported; wrong format"
      )
      const long = concatBytes([encodeU64(0x4558494e), encodeU64(5000)])
      expect(yield* importFails(withTrailer(long))).toBe(
        "BadExportStreamError: import failed: store path is 5000 bytes long, which is absurd"
      )
      const padding = t.slice()
      padding[8 + 8 + leaf.length] = 1
      expect(yield* importFails(withTrailer(padding))).toBe(
        "BadExportStreamError: import failed: non-zero padding after store path"
      )
      const count = concatBytes([encodeU64(0x4558494e), encodePadded(leaf), encodeU64(1_000_001)])
      expect(yield* importFails(withTrailer(count))).toBe(
        "BadExportStreamError: import failed: absurd reference count 1000001"
      )
      const notAPath = encodeExportTrailer({ ...trailer, path: "/tmp/x" })
      expect(yield* importFails(withTrailer(notAPath))).toMatch(
        /^BadExportStreamError: import failed: store path: .*'\/tmp\/x'/
      )
      const badRef = encodeExportTrailer({ ...trailer, references: ["/nix/store/short"] })
      expect(yield* importFails(withTrailer(badRef))).toMatch(
        new RegExp(`^BadExportStreamError: import failed: reference of ${leaf}: `)
      )
      const badDeriver = encodeExportTrailer({ ...trailer, deriver: "nonsense" })
      expect(yield* importFails(withTrailer(badDeriver))).toMatch(
        new RegExp(`^BadExportStreamError: import failed: deriver of ${leaf}: `)
      )
    }))

  it.effect("a reference that is neither valid nor earlier in the stream", () =>
    Effect.gen(function*() {
      const dangling = encodeExport([{ nar, trailer: { ...trailer, references: [other] } }])
      expect(yield* importFails(dangling, 9)).toBe(
        `BadExportStreamError: import failed: path '${leaf}' refers to '${other}', which is neither valid nor earlier in the stream`
      )
    }))

  it.effect("a legacy signature is skipped; a stream in small chunks imports", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const signed = concatBytes([
        EXPORT_PATH_START,
        nar,
        encodeExportTrailer(trailer).subarray(0, -8),
        encodeU64(1),
        encodePadded("a signature"),
        encodeU64(0)
      ])
      const chunks: Array<Uint8Array> = []
      for (let i = 0; i < signed.length; i += 3) chunks.push(signed.slice(i, i + 3))
      expect(yield* store.importPaths(Stream.fromIterable(chunks))).toEqual([leaf])
      expect(yield* store.queryAllValidPaths).toEqual([leaf])
    }).pipe(Effect.provide(StoreLive.layerTest)))
})
