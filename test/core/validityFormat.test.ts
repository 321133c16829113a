import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Option } from "effect"
import { parseHash } from "../../src/core/hash.js"
import { makeValidityParser, parseValidity, printDumpDb } from "../../src/core/validityFormat.js"
import { fakePath, golden, goldenPaths } from "../stores/local/db/helpers.js"

const storeDir = "/nix/store"

describe("dump-db / load-db / register-validity text", () => {
  it("parses and reprints Nix 2.8's --dump-db output byte for byte", () => {
    const text = golden("dump-db.txt")
    const records = Either.getOrThrow(parseValidity(text, { storeDir, hashGiven: true }))
    expect(records.length).toBe(9)
    const p = goldenPaths()
    const two = records.find((r) => r.path === p.p2)!
    expect(two).toEqual({
      path: p.p2,
      narHash: "sha256:a568d94ae6e9dc330a801e2fdb86b8b97dd6596bf08fb2279d5196cbedd72842",
      narSize: 248,
      deriver: p.drv,
      references: [p.p1, p.p2]
    })
    expect(printDumpDb(records.map((r) => ({
      ...r,
      narHash: Either.getOrThrow(parseHash(r.narHash ?? "")),
      narSize: r.narSize ?? 0,
      deriver: Option.fromNullable(r.deriver)
    })))).toBe(text)
  })

  it("parses --register-validity input, plain and --hash-given", () => {
    const p = goldenPaths()
    const plain = Either.getOrThrow(
      parseValidity(golden("register-validity-plain.txt"), { storeDir, hashGiven: false })
    )
    expect(plain).toEqual([
      { path: p.p1, narHash: undefined, narSize: undefined, deriver: undefined, references: [] },
      { path: p.p2, narHash: undefined, narSize: undefined, deriver: p.drv, references: [p.p1, p.p2] }
    ])
    const given = Either.getOrThrow(
      parseValidity(golden("register-validity-hash-given.txt"), { storeDir, hashGiven: true })
    )
    expect(given).toEqual([{
      path: p.p3,
      narHash: "sha256:0b9714400043ddb70a229dfaf2738d07f292d612b031ad15418632c9e85ab17d",
      narSize: 120,
      deriver: undefined,
      references: [p.hello]
    }])
  })

  it("accepts nix32 and prefixed hashes like Nix's parseAny", () => {
    const base16 = "0b9714400043ddb70a229dfaf2738d07f292d612b031ad15418632c9e85ab17d"
    const text = `${fakePath(1)}\nsha256:${base16}\n5\n\n0\n`
    expect(Either.getOrThrow(parseValidity(text, { storeDir, hashGiven: true }))[0]!.narHash).toBe(`sha256:${base16}`)
  })

  it("rejects malformed input with the line number", () => {
    const bad = [
      [`${fakePath(1)}\n\n`, 3],
      [`${fakePath(1)}\n\nx\n`, 3],
      [`${fakePath(1)}\n\n2\n${fakePath(2)}\n`, 5],
      [`/tmp/x\n\n0\n`, 1],
      [`${fakePath(1)}\nnot-a-path\n0\n`, 2]
    ] as const
    for (const [text, line] of bad) {
      const r = parseValidity(text, { storeDir, hashGiven: false })
      expect(Either.isLeft(r) && r.left.line).toBe(line)
    }
    expect(Either.isLeft(parseValidity(`${fakePath(1)}\nzz\n1\n\n0\n`, { storeDir, hashGiven: true }))).toBe(true)
  })

  it.prop("print then parse is the identity", [
    fc.array(
      fc.record({
        n: fc.nat(1_000_000),
        hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        narSize: fc.nat(),
        deriver: fc.option(fc.nat(1000), { nil: undefined }),
        refs: fc.uniqueArray(fc.nat(1000), { maxLength: 5 })
      }),
      { maxLength: 20 }
    )
  ], ([items]) => {
    const infos = items.map((i) => ({
      path: fakePath(i.n),
      narHash: "sha256:" + Buffer.from(i.hash).toString("hex"),
      narSize: i.narSize,
      deriver: i.deriver === undefined ? undefined : fakePath(i.deriver, "d.drv"),
      references: i.refs.map((r) => fakePath(r)).sort()
    }))
    const printed = printDumpDb(infos.map((i) => ({
      ...i,
      narHash: Either.getOrThrow(parseHash(i.narHash)),
      deriver: Option.fromNullable(i.deriver)
    })))
    const parsed = Either.getOrThrow(parseValidity(printed, { storeDir, hashGiven: true }))
    expect(parsed).toEqual(infos)
  })

  // The CLI feeds standard input to the incremental parser in whatever pieces it arrives.
  const inPieces = (text: string, cuts: ReadonlyArray<number>, hashGiven: boolean) => {
    const parser = makeValidityParser({ storeDir, hashGiven })
    let at = 0
    for (const c of [...cuts].sort((a, b) => a - b)) {
      parser.push(text.slice(at, c))
      at = c
    }
    parser.push(text.slice(at))
    return parser.end()
  }

  it.prop("input in pieces cut anywhere parses as the whole text: Nix's dump-db, its prefixes and corruptions", [
    fc.nat(),
    fc.array(fc.nat(), { maxLength: 6 }),
    fc.option(fc.tuple(fc.nat(), fc.constantFrom("", "\n", "x", "0", "/", "\u00e9")), { nil: undefined }),
    fc.boolean()
  ], ([end, cutSeeds, edit, hashGiven]) => {
    const full = golden("dump-db.txt")
    let text = full.slice(0, end % (full.length + 1))
    if (edit !== undefined) {
      const at = edit[0] % (text.length + 1)
      text = text.slice(0, at) + edit[1] + text.slice(at + 1)
    }
    const cuts = cutSeeds.map((c) => c % (text.length + 1))
    const whole = parseValidity(text, { storeDir, hashGiven })
    const pieces = inPieces(text, cuts, hashGiven)
    expect(pieces).toEqual(whole)
  })

  it("a line longer than 4096 characters fails, in pieces as soon as it is seen, as a whole the same way", () => {
    const parser = makeValidityParser({ storeDir, hashGiven: false })
    expect(parser.push(`${fakePath(1)}\n\n0\n`)).toBeUndefined()
    const junk = "x".repeat(64 * 1024)
    expect(parser.push(junk)?.message).toBe("line 4: line too long (more than 4096 characters)")
    const whole = parseValidity(`${fakePath(1)}\n\n0\n${junk}\n${fakePath(2)}\n\n0\n`, { storeDir, hashGiven: false })
    expect(Either.isLeft(whole) && whole.left.message).toBe("line 4: line too long (more than 4096 characters)")
    // At the limit, a line is only judged on its content.
    const atLimit = parseValidity(`${fakePath(1)}\n${"y".repeat(4096)}\n0\n`, { storeDir, hashGiven: false })
    expect(Either.isLeft(atLimit) && atLimit.left.message).toMatch(/^line 2: bad deriver/)
  })

  it("the incremental parser reports the first error and ignores the input after it", () => {
    const parser = makeValidityParser({ storeDir, hashGiven: false })
    expect(parser.push(`${fakePath(1)}\n\n0\nnot-a-path\n`)?.line).toBe(4)
    expect(parser.push(`${fakePath(2)}\n\n0\n`)?.line).toBe(4)
    const r = parser.end()
    expect(Either.isLeft(r) && r.left.line).toBe(4)
    // A record cut short at the end of the input names the line expected.
    const cut = makeValidityParser({ storeDir, hashGiven: true })
    expect(cut.push(`${fakePath(1)}\n${"ab".repeat(32)}\n12`)).toBeUndefined()
    const e = cut.end()
    expect(Either.isLeft(e) && e.left.message).toBe("line 4: unexpected end of input, expected deriver")
  })
})
