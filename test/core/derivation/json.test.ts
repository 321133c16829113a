import { describe, expect, it } from "@effect/vitest"
import { Buffer } from "node:buffer"
import { Either } from "effect"
import {
  fromShowDerivationJson,
  fromShowDerivationJsonBytes,
  jsonQuote,
  parseDerivation,
  printDerivation,
  printShowDerivationJson,
  showDerivationJson
} from "../../../src/core/derivation/index.js"
import { byteStringFromUtf8 } from "../../../src/core/derivation/schema.js"
import type { Derivation } from "../../../src/core/derivation/schema.js"

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1")
const drv: Derivation = {
  name: "j",
  outputs: new Map([["out", { path: "/nix/store/x-j", hashAlgo: "", hash: "" }]]),
  inputDrvs: new Map(),
  inputSrcs: [],
  system: "s",
  builder: "b",
  args: [byteStringFromUtf8("☃"), "caf\xe9", "\x00\x1f\x7f"],
  env: new Map([["__proto__", "x"], ["constructor", "y"]])
}

describe("show-derivation JSON", () => {
  it("escapes like Nix's JSON writer: \\u00XX for control bytes, raw bytes otherwise", () => {
    expect(jsonQuote("a\"b\\c\n\r\t\b\f\x00\x1f\x7f\xe9")).toBe(
      "\"a\\\"b\\\\c\\n\\r\\t\\u0008\\u000c\\u0000\\u001f\x7f\xe9\""
    )
  })

  it("keeps env keys such as __proto__ and prints sorted keys", () => {
    const out = text(printShowDerivationJson([["/nix/store/x-j.drv", drv]]))
    expect(out).toContain("\"__proto__\": \"x\"")
    expect(out.indexOf("__proto__")).toBeLessThan(out.indexOf("constructor"))
    const obj = showDerivationJson([["/nix/store/x-j.drv", drv]])
    expect(Object.keys(obj["/nix/store/x-j.drv"]!.env)).toEqual(["__proto__", "constructor"])
    expect(obj["/nix/store/x-j.drv"]!.args[0]).toBe("☃")
  })

  it("reads its own bytes back exactly, including non-UTF-8 and __proto__", () => {
    const bytes = printShowDerivationJson([["/nix/store/x-j.drv", drv]])
    const [back] = Either.getOrThrow(fromShowDerivationJsonBytes(bytes))
    expect(text(printDerivation(back!.drv))).toBe(text(printDerivation(drv)))
    expect(back!.drv.env.get("__proto__")).toBe("x")
  })

  it("reads parsed JSON text (\\u escapes are Unicode, stored as UTF-8)", () => {
    const [d] = Either.getOrThrow(
      fromShowDerivationJson({
        outputs: { out: { path: "/nix/store/x-j" } },
        inputSrcs: [],
        inputDrvs: {},
        system: "s",
        builder: "b",
        args: ["\u2603"],
        env: { name: "from-env" }
      })
    )
    expect(d!.path).toBeUndefined()
    expect(d!.drv.name).toBe("from-env")
    expect(d!.drv.args[0]).toBe("\xe2\x98\x83")
  })

  it("rejects documents of the wrong shape with the place of the problem", () => {
    const bad = fromShowDerivationJson({ "/nix/store/x-a.drv": { outputs: {}, inputSrcs: [1] } })
    expect(Either.isLeft(bad) && bad.left.at).toBe("$[\"/nix/store/x-a.drv\"]")
    expect(Either.isLeft(fromShowDerivationJson([]))).toBe(true)
    expect(Either.isLeft(fromShowDerivationJson({}))).toBe(true)
    const noName = fromShowDerivationJson({
      outputs: {},
      inputSrcs: [],
      inputDrvs: {},
      system: "",
      builder: "",
      args: [],
      env: {}
    })
    expect(Either.isLeft(noName) && noName.left.reason).toContain("name")
  })
})

describe("printDerivation of strings that are not byte strings", () => {
  it("writes wide characters as UTF-8 instead of corrupting them", () => {
    const d = { ...drv, args: ["☃ \"q\"\n"], env: new Map() }
    const printed = printDerivation(d)
    expect(Buffer.from(printed).toString("utf8")).toContain("[\"☃ \\\"q\\\"\\n\"]")
    const back = Either.getOrThrow(parseDerivation(printed, { name: "j" }))
    expect(back.args[0]).toBe(byteStringFromUtf8("☃ \"q\"\n"))
  })
})
