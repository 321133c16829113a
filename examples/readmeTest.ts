// The README's test example: the unit under test gets a Store built from the methods it needs.
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { Store } from "../src/index.js"
import { storeLayerFromPartial } from "../src/testing/index.js"

/** The unit under test: how many other paths `path` refers to. */
export const referenceCount = (path: string) =>
  Effect.map(
    Effect.flatMap(Store, (store) => store.queryReferences(path)),
    (refs) => refs.filter((r) => r !== path).length
  )

describe("referenceCount", () => {
  const app = "/nix/store/00000000000000000000000000000000-app"
  const lib = "/nix/store/11111111111111111111111111111111-lib"
  const layer = storeLayerFromPartial({ queryReferences: () => Effect.succeed([app, lib]) })

  it.effect("counts the references, not the path itself", () =>
    Effect.map(Effect.provide(referenceCount(app), layer), (n) => expect(n).toBe(1)))

  it.effect("a method the test did not provide dies with its name", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(Effect.flatMap(Store, (store) => store.queryPathInfo(app)), layer))
      expect(Exit.isFailure(exit) && String(Cause.squash(exit.cause))).toContain("Store.queryPathInfo is not provided")
    }))
})
