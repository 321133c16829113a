import { describe, expect, it } from "@effect/vitest"
import { compareBytes, encodeNar, encodeU64, padLength, str, strLength } from "../../../src/core/nar/encode.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

describe("NAR framing", () => {
  it("str() is u64 LE length, bytes, zero padding to 8", () => {
    expect(hex(str(""))).toBe("0000000000000000")
    expect(hex(str("a"))).toBe("0100000000000000" + "61" + "00".repeat(7))
    expect(hex(str("12345678"))).toBe("0800000000000000" + "3132333435363738")
    expect(hex(str("123456789"))).toBe("0900000000000000" + "313233343536373839" + "00".repeat(7))
    expect(hex(str(new Uint8Array([0xff, 0])))).toBe("0200000000000000" + "ff00" + "00".repeat(6))
  })

  it("padLength and strLength", () => {
    expect([0, 1, 7, 8, 9, 15, 16, 17].map(padLength)).toEqual([0, 7, 1, 0, 7, 1, 0, 7])
    expect([0, 1, 8, 9].map(strLength)).toEqual([8, 16, 16, 24])
  })

  it("encodeU64 handles numbers above 2^32 and bigints", () => {
    expect(hex(encodeU64(0x1_0000_0001))).toBe("0100000001000000")
    expect(hex(encodeU64(Number.MAX_SAFE_INTEGER))).toBe("ffffffffffff1f00")
    expect(hex(encodeU64(2n ** 62n))).toBe("0000000000000040")
    expect(hex(encodeU64(2n ** 64n - 1n))).toBe("ffffffffffffffff")
  })

  it("compareBytes orders by unsigned bytes, shorter prefix first", () => {
    const names = ["é", "a", "B", "_", "Z", "ab", "a"].map((s) => Buffer.from(s))
    names.sort(compareBytes)
    expect(names.map(String)).toEqual(["B", "Z", "_", "a", "a", "ab", "é"])
    expect(compareBytes(Buffer.from([0x7f]), Buffer.from([0x80]))).toBeLessThan(0)
  })

  it("encodeNar writes the canonical serialisation of a single file", () => {
    const nar = encodeNar({ _tag: "Regular", executable: false, contents: "" })
    // the exact bytes nix-store --dump writes for an empty file (golden/nar/empty-file.nar)
    expect(nar.length).toBe(112)
    expect(hex(nar.subarray(0, 24))).toBe("0d00000000000000" + hex(Buffer.from("nix-archive-1")) + "000000")
  })

  it("encodeNar sorts entries by bytes unless asked not to", () => {
    const tree = {
      _tag: "Directory" as const,
      entries: [
        { name: "b", node: { _tag: "Regular" as const, executable: false, contents: "" } },
        { name: "a", node: { _tag: "Regular" as const, executable: false, contents: "" } }
      ]
    }
    const sorted = Buffer.from(encodeNar(tree))
    const unsorted = Buffer.from(encodeNar(tree, { sortEntries: false }))
    expect(sorted.indexOf(Buffer.from("a\0"))).toBeLessThan(sorted.indexOf(Buffer.from("b\0")))
    expect(unsorted.indexOf(Buffer.from("b\0"))).toBeLessThan(unsorted.indexOf(Buffer.from("a\0")))
  })
})
