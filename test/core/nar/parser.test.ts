import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { createHash } from "node:crypto"
import { decodeNar } from "../../../src/core/nar/decode.js"
import { concatBytes, encodeNar, encodeU64, MAGIC_BYTES, type NarTree, str } from "../../../src/core/nar/encode.js"
import { NarParseError, type NarParseErrorKind } from "../../../src/core/nar/errors.js"
import { type NarEvent, NarParser } from "../../../src/core/nar/parser.js"
import { plain } from "../../io/helpers.js"
import { arbTree } from "./arbitrary.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

/** Runs the parser over `bytes` cut at `cuts`; returns a printable event log. */
const parseChunked = (bytes: Uint8Array, cuts: ReadonlyArray<number>) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let prev = 0
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p))
    prev = p
  }
  const hash = createHash("sha256")
  const parser = new NarParser({ onConsumed: (b) => hash.update(b) })
  const log: Array<string> = []
  let contents: Array<Uint8Array> = []
  for (;;) {
    const ev: NarEvent | NarParseError = parser.next()
    if (ev._tag === "NeedInput") {
      const c = chunks.shift()
      if (c === undefined) parser.end()
      else parser.feed(c)
      continue
    }
    if (ev._tag === "NarParseError") return { log, error: ev }
    if (ev._tag === "Contents") {
      contents.push(ev.chunk.slice())
      continue
    }
    if (ev._tag === "RegularEnd") {
      log.push(`data ${hex(concatBytes(contents))}`)
      contents = []
    }
    log.push(JSON.stringify(ev, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)))
    if (ev._tag === "End") {
      return { log, hash: hash.digest("hex"), size: parser.bytesConsumed, rest: parser.remainder() }
    }
  }
}

const kindOf = (bytes: Uint8Array): NarParseErrorKind | "ok" =>
  Either.match(decodeNar(bytes), { onLeft: (e) => e.kind, onRight: () => "ok" as const })

const file = (contents: string, executable = false): NarTree => ({ _tag: "Regular", executable, contents })
const dir = (...entries: Array<[string | Uint8Array, NarTree]>): NarTree => ({
  _tag: "Directory",
  entries: entries.map(([name, node]) => ({ name, node }))
})
const link = (target: string | Uint8Array): NarTree => ({ _tag: "Symlink", target })
const raw = (tree: NarTree) => encodeNar(tree, { sortEntries: false })

describe("NarParser", () => {
  it.prop("decode(encode(tree)) == tree and re-encodes to the same bytes", [arbTree], ([tree]) => {
    const nar = encodeNar(tree)
    const decoded = Either.getOrThrow(decodeNar(nar))
    expect(plain(decoded)).toEqual(plain(tree))
    expect(hex(encodeNar(decoded))).toBe(hex(nar))
  })

  it.prop(
    "chunking never changes events, hash or size",
    [arbTree, fc.array(fc.nat(), { maxLength: 30 })],
    ([tree, cuts]) => {
      const nar = encodeNar(tree)
      const whole = parseChunked(nar, [])
      const split = parseChunked(nar, cuts)
      expect(split.log).toEqual(whole.log)
      expect(split.hash).toBe(createHash("sha256").update(nar).digest("hex"))
      expect(split.size).toBe(nar.length)
    }
  )

  it("parses byte by byte", () => {
    const nar = encodeNar(dir(["a", file("x".repeat(17), true)], ["b", link("a")], ["c", dir()]))
    const cuts = Array.from({ length: nar.length }, (_, i) => i)
    expect(parseChunked(nar, cuts).log).toEqual(parseChunked(nar, []).log)
  })

  it.prop(
    "stops at the end of the archive and returns what follows",
    [arbTree, fc.uint8Array({ minLength: 1, maxLength: 50 }), fc.array(fc.nat(), { maxLength: 5 })],
    ([tree, extra, cuts]) => {
      const nar = encodeNar(tree)
      const all = concatBytes([nar, extra])
      // cut only inside the archive, so the trailing bytes arrive with its last chunk
      const r = parseChunked(all, cuts.map((c) => c % nar.length))
      expect(r.size).toBe(nar.length)
      expect(r.hash).toBe(createHash("sha256").update(nar).digest("hex"))
      expect(hex(r.rest ?? new Uint8Array())).toBe(hex(extra))
      expect(kindOf(all)).toBe("TrailingData")
    }
  )

  it.prop("every strict prefix is a truncated archive", [arbTree, fc.nat()], ([tree, n]) => {
    const nar = encodeNar(tree)
    expect(kindOf(nar.subarray(0, n % nar.length))).toBe("Truncated")
  })

  it.prop(
    "byte flips give a valid tree or a typed error, never an exception",
    [arbTree, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })],
    ([tree, flips]) => {
      const nar = encodeNar(tree).slice()
      for (const [pos, x] of flips) nar[pos % nar.length] = (nar[pos % nar.length] ?? 0) ^ x
      const r = decodeNar(nar)
      if (Either.isLeft(r)) expect(r.left).toBeInstanceOf(NarParseError)
      else expect(hex(encodeNar(r.right))).toBe(hex(nar)) // accepted means canonical
    }
  )

  describe("rejects hostile archives", () => {
    const f = file("x")
    const cases: Array<[string, Uint8Array, NarParseErrorKind]> = [
      ["wrong magic", concatBytes([str("nix-archive-2"), raw(f).subarray(MAGIC_BYTES.length)]), "BadMagic"],
      ["over-long magic", concatBytes([encodeU64(2n ** 62n)]), "BadMagic"],
      ["empty input", new Uint8Array(0), "Truncated"],
      ["name ..", raw(dir(["..", f])), "InvalidName"],
      ["name .", raw(dir([".", f])), "InvalidName"],
      ["empty name", raw(dir(["", f])), "InvalidName"],
      ["name with /", raw(dir(["a/b", f])), "InvalidName"],
      ["name ../escape", raw(dir(["../escape", f])), "InvalidName"],
      ["name with NUL", raw(dir(["a\0b", f])), "InvalidName"],
      ["name of 256 bytes", raw(dir(["n".repeat(256), f])), "NameTooLong"],
      ["duplicate names", raw(dir(["a", f], ["a", f])), "UnsortedEntries"],
      ["unsorted names", raw(dir(["b", f], ["a", f])), "UnsortedEntries"],
      ["locale order instead of byte order", raw(dir(["a", f], ["B", f])), "UnsortedEntries"],
      ["symlink then same name as directory", raw(dir(["a", link("/tmp")], ["a", dir(["x", f])])), "UnsortedEntries"],
      ["symlink then a path through it", raw(dir(["a", link("/tmp")], ["a/x", f])), "InvalidName"],
      ["empty symlink target", raw(link("")), "InvalidTarget"],
      ["symlink target with NUL", raw(link("a\0b")), "InvalidTarget"],
      ["symlink target of 4096 bytes", raw(link("t".repeat(4096))), "TargetTooLong"],
      ["unknown node type", concatBytes([MAGIC_BYTES, str("("), str("type"), str("fifo"), str(")")]), "UnexpectedTag"],
      [
        "unknown tag in a regular",
        concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str("mode")]),
        "UnexpectedTag"
      ],
      ["over-long tag", concatBytes([MAGIC_BYTES, str("("), str("type"), str("x".repeat(17))]), "TagTooLong"],
      ["tag length 2^62", concatBytes([MAGIC_BYTES, encodeU64(2n ** 62n)]), "TagTooLong"],
      [
        "name length 2^62",
        concatBytes([
          MAGIC_BYTES,
          str("("),
          str("type"),
          str("directory"),
          str("entry"),
          str("("),
          str("name"),
          encodeU64(2n ** 62n)
        ]),
        "NameTooLong"
      ],
      [
        "target length 2^62",
        concatBytes([MAGIC_BYTES, str("("), str("type"), str("symlink"), str("target"), encodeU64(2n ** 62n)]),
        "TargetTooLong"
      ],
      [
        "contents length 2^62",
        concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str("contents"), encodeU64(2n ** 62n)]),
        "AbsurdLength"
      ],
      [
        "contents length 2^62 with data",
        concatBytes([
          MAGIC_BYTES,
          str("("),
          str("type"),
          str("regular"),
          str("contents"),
          encodeU64(2n ** 40n),
          new Uint8Array(64)
        ]),
        "Truncated"
      ],
      [
        "non-empty executable marker",
        concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str("executable"), str("1")]),
        "NonEmptyExecutableMarker"
      ],
      [
        "executable marker then a tag other than contents",
        concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str("executable"), str(""), str("mode")]),
        "UnexpectedTag"
      ],
      [
        "regular without contents, not closed",
        concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str("entry")]),
        "UnexpectedTag"
      ],
      [
        "missing close",
        concatBytes([MAGIC_BYTES, str("("), str("type"), str("symlink"), str("target"), str("x"), str("entry")]),
        "UnexpectedTag"
      ],
      ["trailing bytes", concatBytes([raw(f), new Uint8Array(8)]), "TrailingData"]
    ]
    for (const [name, bytes, kind] of cases) {
      it(name, () => expect(kindOf(bytes)).toBe(kind))
    }

    it("a regular file without contents is an empty file, as Nix 2.8 reads it (golden/nar/lenient)", () => {
      expect(kindOf(concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str(")")]))).toBe("ok")
      expect(
        kindOf(concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str("executable"), str(""), str(")")]))
      ).toBe("ok")
    })

    it("non-zero padding in contents, strings and tags", () => {
      const good = raw(file("x"))
      expect(kindOf(good)).toBe("ok")
      // layout: magic(24) "("(16) "type"(16) "regular"(16) "contents"(16) size(8) "x"+pad(8) ")"(16)
      const contentsPad = good.slice()
      contentsPad[24 + 16 * 4 + 8 + 1] = 1
      expect(kindOf(contentsPad)).toBe("NonZeroPadding")
      const magicPad = good.slice()
      magicPad[23] = 0x20
      expect(kindOf(magicPad)).toBe("NonZeroPadding")
      const tagPad = good.slice()
      tagPad[24 + 8 + 1] = 0x29
      expect(kindOf(tagPad)).toBe("NonZeroPadding")
      const namePad = raw(dir(["a", f]))
      const at = Buffer.from(namePad).indexOf(Buffer.from("a\0\0\0\0\0\0\0"))
      namePad[at + 3] = 7
      expect(kindOf(namePad)).toBe("NonZeroPadding")
    })

    it("a failed parser stays failed", () => {
      const p = new NarParser()
      p.feed(str("nope"))
      const e1 = p.next()
      expect(e1._tag).toBe("NarParseError")
      expect(p.next()).toBe(e1)
    })
  })
})
