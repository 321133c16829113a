import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import {
  encodeExport,
  encodeExportTrailer,
  EXPORT_END,
  type ExportDecodeError,
  ExportDecoder,
  ExportFormatError,
  type ExportItem,
  exportMarker,
  exportTrailer,
  type ExportTrailer,
  isExportFormatError
} from "../../src/core/exportFormat.js"
import { encodeNar } from "../../src/core/nar/encode.js"
import { NarParseError } from "../../src/core/nar/errors.js"
import { concatBytes, encodePadded, encodeU64, WireReader, WireTruncatedError } from "../../src/core/wire/index.js"
import { goldenAll, goldenBytes, goldenPaths } from "../stores/local/ops/golden.js"
import { arbTree } from "./nar/arbitrary.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const cut = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let prev = 0
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p))
    prev = p
  }
  return chunks
}

/** Decodes a whole export stream fed in `chunks`: the items, or the error, and what follows the end. */
const decodeExport = (chunks: ReadonlyArray<Uint8Array>) => {
  const d = new ExportDecoder()
  const pending = [...chunks]
  const items: Array<{ nar: string; trailer: ExportTrailer; narSize: number }> = []
  let nar: Array<Uint8Array> = []
  let inPath = false
  for (;;) {
    const ev = d.next()
    if (ev instanceof Error) return { items, error: ev as ExportDecodeError }
    switch (ev._tag) {
      case "NeedInput": {
        const next = pending.shift()
        if (next === undefined) d.end()
        else d.feed(next)
        break
      }
      case "PathStart":
        expect(inPath).toBe(false)
        inPath = true
        nar = []
        break
      case "NarBytes":
        expect(inPath).toBe(true)
        nar.push(ev.chunk.slice())
        break
      case "PathEnd": {
        const bytes = concatBytes(nar)
        expect(ev.narSize).toBe(bytes.length)
        items.push({ nar: hex(bytes), trailer: ev.trailer, narSize: ev.narSize })
        inPath = false
        break
      }
      case "End":
        return { items, rest: concatBytes([...d.remainder(), ...pending]) }
    }
  }
}

const storePath = fc.stringMatching(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[a-z.-]{1,12}$/)
const arbTrailer: fc.Arbitrary<ExportTrailer> = fc.record({
  path: storePath,
  references: fc.array(storePath, { maxLength: 4 }),
  deriver: fc.option(storePath, { nil: undefined })
})
const arbItems: fc.Arbitrary<Array<ExportItem>> = fc.array(
  fc.record({ nar: arbTree.map((t) => encodeNar(t)), trailer: arbTrailer }),
  { maxLength: 4 }
)
const cuts = fc.array(fc.nat(), { maxLength: 16 })

describe("export format", () => {
  it("decodes Nix's export of the golden store and re-encodes it byte for byte", () => {
    const bytes = new Uint8Array(goldenBytes("export.nar"))
    const r = decodeExport([bytes])
    expect(r.error).toBeUndefined()
    expect(r.items.map((i) => i.trailer.path).sort()).toEqual([...goldenAll].sort())
    const app = r.items.find((i) => i.trailer.path === goldenPaths["drv"])
    expect(app?.trailer.deriver).toBeUndefined()
    const again = encodeExport(r.items.map((i) => ({ nar: Buffer.from(i.nar, "hex"), trailer: i.trailer })))
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true)
  })

  it.prop("decode(encode(items)) == items under any chunking", [arbItems, cuts], ([items, points]) => {
    const r = decodeExport(cut(encodeExport(items), points))
    expect(r.error).toBeUndefined()
    expect(r.items).toEqual(items.map((i) => ({ nar: hex(i.nar), trailer: i.trailer, narSize: i.nar.length })))
    expect(r.rest?.length).toBe(0)
  })

  it.prop("bytes after the end marker are left over", [arbItems, fc.uint8Array({ maxLength: 20 }), cuts], ([
    items,
    tail,
    points
  ]) => {
    const r = decodeExport(cut(concatBytes([encodeExport(items), tail]), points))
    expect(r.error).toBeUndefined()
    expect(hex(r.rest ?? new Uint8Array(0))).toBe(hex(tail))
  })

  it.prop("every strict prefix is a typed error", [arbItems, fc.nat(), cuts], ([items, n, points]) => {
    const bytes = encodeExport(items)
    const r = decodeExport(cut(bytes.subarray(0, n % bytes.length), points))
    expect(r.error, `prefix of ${n % bytes.length} bytes`).toBeDefined()
    // Cut inside a NAR: the NAR parser's truncation; elsewhere, the wire's.
    expect(r.error instanceof WireTruncatedError || (r.error instanceof NarParseError && r.error.kind === "Truncated"))
      .toBe(true)
  })

  it("framing errors carry the store's messages and their offsets", () => {
    const read = <A>(bytes: Uint8Array, d: (r: WireReader) => A) => {
      const reader = new WireReader()
      reader.feed(bytes)
      reader.end()
      return d(reader)
    }
    const m = read(encodeU64(2), (r) => r.read(exportMarker, isExportFormatError))
    expect(m).toBeInstanceOf(ExportFormatError)
    expect((m as ExportFormatError).reason).toBe("input doesn't look like something created by 'nix-store --export'")
    const trailer = { path: "/nix/store/00000000000000000000000000000000-x", references: [], deriver: undefined }
    const magic = encodeExportTrailer(trailer)
    magic[0] = 0
    const w = read(magic, (r) => r.read(exportTrailer, isExportFormatError))
    expect((w as ExportFormatError).reason).toBe("Nix archive cannot be imported; wrong format")
    const count = concatBytes([encodeU64(0x4558494e), encodePadded(trailer.path), encodeU64(1_000_001)])
    const c = read(count, (r) => r.read(exportTrailer, isExportFormatError))
    expect((c as ExportFormatError).reason).toBe("absurd reference count 1000001")
    expect((c as ExportFormatError).offset).toBe(8 + 8 + 48)
    // A legacy signature is read and ignored.
    const signed = concatBytes([
      encodeExportTrailer(trailer).subarray(0, -8),
      encodeU64(1),
      encodePadded("sig"),
      EXPORT_END
    ])
    const reader = new WireReader()
    reader.feed(signed)
    expect(reader.read(exportTrailer, isExportFormatError)).toEqual(trailer)
    expect(reader.read(exportMarker, isExportFormatError)).toBe("end")
  })

  it("a bad NAR inside the stream is the NAR parser's error", () => {
    const nar = encodeNar({ _tag: "Regular", executable: false, contents: "hi" })
    const bytes = encodeExport([{ nar, trailer: { path: "/nix/store/x", references: [], deriver: undefined } }])
    bytes[16] = (bytes[16] as number) ^ 1 // the NAR magic's first character
    const r = decodeExport([bytes])
    expect(r.error).toBeInstanceOf(NarParseError)
  })
})
