import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import {
  bool,
  concatBytes,
  type Decoder,
  encodeBool,
  encodeFrame,
  encodeFramed,
  encodePadded,
  encodeStrings,
  encodeU64,
  FramedDecoder,
  isNeedInput,
  list,
  needInput,
  paddedBytes,
  paddedString,
  strings,
  u64,
  u64Bounded,
  WireIntegerError,
  WireLengthError,
  WirePaddingError,
  WireReader,
  WireTruncatedError
} from "../../src/core/wire/index.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

/** Cuts `bytes` at the given points (taken modulo its length + 1). */
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

/** Decodes values with `decoder` until the input is used up, feeding chunks one at a time. */
const decodeAll = <A>(chunks: ReadonlyArray<Uint8Array>, decoder: Decoder<A>, count: number) => {
  const reader = new WireReader()
  const pending = [...chunks]
  const values: Array<A> = []
  while (values.length < count) {
    const r = reader.read(decoder)
    if (isNeedInput(r)) {
      const next = pending.shift()
      if (next === undefined) reader.end()
      else reader.feed(next)
      continue
    }
    if (r instanceof Error) return { values, error: r }
    values.push(r)
  }
  return { values, error: undefined, rest: concatBytes([...reader.takeRemainder(), ...pending]) }
}

const readOnce = <A>(bytes: Uint8Array, decoder: Decoder<A>, ended = true) => {
  const reader = new WireReader()
  reader.feed(bytes)
  if (ended) reader.end()
  return reader.read(decoder)
}

const cuts = fc.array(fc.nat(), { maxLength: 12 })

describe("wire encoders", () => {
  it("u64 is little-endian, strings are padded to 8 with zeros", () => {
    expect(hex(encodeU64(1))).toBe("0100000000000000")
    expect(hex(encodeU64(0x4558494e))).toBe("4e49584500000000")
    expect(hex(encodeU64(2n ** 64n - 1n))).toBe("ffffffffffffffff")
    expect(hex(encodeBool(true))).toBe("0100000000000000")
    expect(hex(encodePadded(""))).toBe("0000000000000000")
    expect(hex(encodePadded("2.8.0"))).toBe("0500000000000000" + "322e382e30000000")
    expect(hex(encodePadded("12345678"))).toBe("0800000000000000" + "3132333435363738")
    expect(hex(encodeStrings(["a", "bc"]))).toBe(
      "0200000000000000" + "0100000000000000" + "6100000000000000" + "0200000000000000" + "6263000000000000"
    )
  })

  it("framed streams: one frame per non-empty chunk, no padding, ended by u64 0", () => {
    const framed = encodeFramed([Buffer.from("abc"), new Uint8Array(0), Buffer.from("de")])
    expect(hex(framed)).toBe("0300000000000000" + "616263" + "0200000000000000" + "6465" + "0000000000000000")
    expect(encodeFrame(new Uint8Array(0)).length).toBe(0)
  })
})

describe("wire decoders", () => {
  it.prop(
    "u64, bool, bytes, strings and lists round-trip under any chunking",
    [
      fc.array(
        fc.record({
          n: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          b: fc.boolean(),
          bytes: fc.uint8Array({ maxLength: 40 }),
          list: fc.array(fc.string({ maxLength: 12 }), { maxLength: 5 })
        }),
        { maxLength: 6 }
      ),
      cuts
    ],
    ([values, points]) => {
      const bytes = concatBytes(values.flatMap((v) => [
        encodeU64(v.n),
        encodeBool(v.b),
        encodePadded(v.bytes),
        encodeStrings(v.list)
      ]))
      const decoder: Decoder<typeof values[number]> = (input) => ({
        n: u64(input),
        b: bool(input),
        bytes: paddedBytes(64)(input).slice(),
        list: strings(10, 64)(input)
      })
      const r = decodeAll(cut(bytes, points), decoder, values.length)
      expect(r.error).toBeUndefined()
      expect(r.values.map((v) => ({ ...v, bytes: hex(v.bytes) }))).toEqual(
        values.map((v) => ({ ...v, bytes: hex(v.bytes) }))
      )
      expect(r.rest?.length).toBe(0)
    }
  )

  it.prop("bytes after the values stay in the reader", [fc.uint8Array({ maxLength: 30 }), cuts], ([tail, points]) => {
    const bytes = concatBytes([encodePadded("head"), tail])
    const r = decodeAll(cut(bytes, points), paddedString(10), 1)
    expect(r.values).toEqual(["head"])
    expect(hex(r.rest ?? new Uint8Array(0))).toBe(hex(tail))
  })

  it.prop("every strict prefix needs more input, then is a truncation", [fc.uint8Array({ maxLength: 30 }), fc.nat()], ([
    payload,
    n
  ]) => {
    const bytes = encodePadded(payload)
    const k = n % bytes.length
    expect(readOnce(bytes.subarray(0, k), paddedBytes(64), false)).toBe(needInput)
    const r = readOnce(bytes.subarray(0, k), paddedBytes(64))
    expect(r).toBeInstanceOf(WireTruncatedError)
  })

  it("a value that is not complete consumes nothing", () => {
    const reader = new WireReader()
    const bytes = concatBytes([encodePadded("hello"), encodeU64(7)])
    reader.feed(bytes.subarray(0, 10))
    expect(reader.read(paddedString(10))).toBe(needInput)
    expect(reader.buffered).toBe(10)
    reader.feed(bytes.subarray(10, 20))
    expect(reader.read(paddedString(10))).toBe("hello")
    expect(reader.bytesConsumed).toBe(16)
    expect(reader.read(u64)).toBe(needInput)
    reader.feed(bytes.subarray(20))
    expect(reader.read(u64)).toBe(7n)
    expect(reader.bytesConsumed).toBe(24)
  })

  it("truncation reports the bytes wanted and found, as the store's import errors print them", () => {
    const r = readOnce(concatBytes([encodeU64(20), Buffer.from("abc")]), paddedString(100, "store path"))
    expect(r).toBeInstanceOf(WireTruncatedError)
    expect((r as WireTruncatedError).message).toBe("unexpected end of input: expected 24 bytes, got 3")
    expect((r as WireTruncatedError).offset).toBe(8)
    const w = readOnce(new Uint8Array(5), u64)
    expect((w as WireTruncatedError).message).toBe("unexpected end of input: expected 8 bytes, got 5")
  })

  it("non-zero padding, absurd lengths and counts are typed errors", () => {
    const bad = encodePadded("abc")
    bad[12] = 1
    const p = readOnce(bad, paddedString(10, "deriver"))
    expect(p).toBeInstanceOf(WirePaddingError)
    expect((p as WirePaddingError).message).toBe("non-zero padding after deriver")
    expect((p as WirePaddingError).offset).toBe(12)

    const l = readOnce(encodeU64(4097), paddedString(4096, "store path"))
    expect(l).toBeInstanceOf(WireLengthError)
    expect((l as WireLengthError).message).toBe("store path is 4097 bytes long, which is absurd")
    // Never allocates what a hostile header claims.
    const huge = readOnce(encodeU64(2n ** 63n), paddedBytes(4096))
    expect(huge).toBeInstanceOf(WireLengthError)

    const c = readOnce(encodeU64(11), list(u64, 10, "references"))
    expect(c).toBeInstanceOf(WireIntegerError)
    expect((c as WireIntegerError).message).toBe("serialised integer 11 is too large for the length of references")
    expect(readOnce(encodeU64(2n ** 53n), u64Bounded(Number.MAX_SAFE_INTEGER))).toBeInstanceOf(WireIntegerError)
  })
})

/** Runs a framed decoder over chunks; returns the payload and what follows the terminator. */
const unframe = (chunks: ReadonlyArray<Uint8Array>) => {
  const d = new FramedDecoder()
  const pending = [...chunks]
  const data: Array<Uint8Array> = []
  for (;;) {
    const ev = d.next()
    if (ev instanceof Error) return { error: ev, data: concatBytes(data) }
    if (ev._tag === "NeedInput") {
      const next = pending.shift()
      if (next === undefined) d.end()
      else d.feed(next)
      continue
    }
    if (ev._tag === "Data") {
      expect(ev.chunk.length).toBeGreaterThan(0)
      data.push(ev.chunk.slice())
      continue
    }
    return { data: concatBytes(data), rest: concatBytes([d.remainder(), ...pending]), consumed: d.bytesConsumed }
  }
}

describe("framed streams", () => {
  it.prop(
    "payload and what follows round-trip under any framing and any chunking",
    [fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 8 }), fc.uint8Array({ maxLength: 20 }), cuts],
    ([frames, tail, points]) => {
      const framed = encodeFramed(frames)
      const r = unframe(cut(concatBytes([framed, tail]), points))
      expect(r.error).toBeUndefined()
      expect(hex(r.data)).toBe(hex(concatBytes(frames)))
      expect(hex(r.rest ?? new Uint8Array(0))).toBe(hex(tail))
      expect(r.consumed).toBe(framed.length)
    }
  )

  it.prop("a stream cut anywhere before its terminator is truncated", [
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 30 }), { maxLength: 4 }),
    fc.nat(),
    cuts
  ], ([frames, n, points]) => {
    const framed = encodeFramed(frames)
    const r = unframe(cut(framed.subarray(0, n % framed.length), points))
    expect(r.error).toBeInstanceOf(WireTruncatedError)
  })

  it("a frame length above 2^53 is a typed error", () => {
    const r = unframe([encodeU64(2n ** 60n)])
    expect(r.error).toBeInstanceOf(WireIntegerError)
  })
})
