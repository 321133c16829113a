import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { parseNixConf } from "../../src/config/nixConf.js"
import { InvalidSettingError, resolveSettings } from "../../src/config/settings.js"

describe("nix.conf parsing", () => {
  it("reads assignments, comments, extra- and normalises whitespace", () => {
    const r = parseNixConf(
      "# comment\nkeep-outputs = true  # trailing\n\nextra-substituters =  a   b\ninclude foo.conf\n",
      "t"
    )
    expect(Either.getOrThrow(r)).toEqual([
      { name: "keep-outputs", value: "true", append: false, line: 2 },
      { name: "substituters", value: "a b", append: true, line: 4 }
    ])
  })

  it("reports a line without '='", () => {
    const r = parseNixConf("keep-outputs true\n", "NIX_CONFIG")
    expect(Either.isLeft(r) && r.left.line).toBe(1)
  })
})

describe("settings", () => {
  it.effect("defaults are Nix's", () =>
    Effect.gen(function*() {
      const { settings, unknown } = yield* resolveSettings([])
      expect(settings.keepOutputs).toBe(false)
      expect(settings.keepDerivations).toBe(true)
      expect(settings.fsyncMetadata).toBe(true)
      expect(unknown).toEqual([])
    }))

  it.effect("later assignments win, aliases work, unknown names are reported once", () =>
    Effect.gen(function*() {
      const conf = Either.getOrThrow(parseNixConf("gc-keep-outputs = true\nfoo = 1\nfoo = 2\nsandbox = false\n", "t"))
      const { settings, unknown } = yield* resolveSettings([
        ...conf,
        { name: "keep-derivations", value: "false", append: false, line: 0 },
        { name: "db-busy-max-wait", value: "30", append: false, line: 0 }
      ])
      expect(settings.keepOutputs).toBe(true)
      expect(settings.keepDerivations).toBe(false)
      expect(settings.dbBusyMaxWait).toBe(30)
      expect(unknown).toEqual(["foo"])
    }))

  it.effect("a bad value is a typed error naming the setting", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(resolveSettings([{ name: "keep-outputs", value: "yes", append: false, line: 1 }]))
      expect(e).toBeInstanceOf(InvalidSettingError)
      expect(e.name).toBe("keep-outputs")
      expect(e.message).toContain("'yes'")
    }))

  it.effect("auto-optimise-store: false by default, Nix's boolean spelling", () =>
    Effect.gen(function*() {
      expect((yield* resolveSettings([])).settings.autoOptimiseStore).toBe(false)
      const on = yield* resolveSettings([{ name: "auto-optimise-store", value: "true", append: false, line: 0 }])
      expect(on.settings.autoOptimiseStore).toBe(true)
      expect(on.unknown).toEqual([])
      const e = yield* Effect.flip(
        resolveSettings([{ name: "auto-optimise-store", value: "1", append: false, line: 0 }])
      )
      expect(e.name).toBe("auto-optimise-store")
    }))
})
