import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { checkStorePath, sortedStorePaths } from "../../../../src/stores/local/lock/storePaths.js"

const check = (p: string, storeDir = "/nix/store") => Effect.runSync(Effect.either(checkStorePath(storeDir, p)))

describe("lock store-path checks", () => {
  it("accepts top-level store paths only", () => {
    expect(Either.isRight(check("/nix/store/abc-x"))).toBe(true)
    expect(Either.isRight(check("/s/abc-x", "/s"))).toBe(true)
    for (
      const bad of [
        "/nix/store",
        "/nix/store/",
        "/nix/store/.",
        "/nix/store/..",
        "/nix/store/a/b",
        "/nix/storeX/a",
        "/tmp/a",
        "/nix/store/a\0b"
      ]
    ) {
      const r = check(bad)
      expect(Either.isLeft(r), bad).toBe(true)
      if (Either.isLeft(r)) expect(r.left._tag).toBe("LockPathError")
    }
  })

  it("sorts by byte order and deduplicates", () => {
    const ps = Effect.runSync(
      sortedStorePaths("/nix/store", ["/nix/store/b", "/nix/store/B", "/nix/store/a", "/nix/store/b"])
    )
    expect(ps).toEqual(["/nix/store/B", "/nix/store/a", "/nix/store/b"])
  })
})
