/**
 * Command-line store path arguments are parsed once, at the edge, into the
 * branded StorePath (followLinksToStorePath, parseStorePathArg).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { followLinksToStorePath, parseStorePathArg } from "../../src/cli/storePathArg.js"
import { makeStoreLayout } from "../../src/core/storeLayout.js"
import * as StorePathBrand from "../../src/core/storePathBrand.js"
import type { StorePath } from "../../src/core/storePathBrand.js"

const p = "/nix/store/00000000000000000000000000000000-foo"

describe("store path arguments", () => {
  it.effect("a symlink into the store, or a sub-path, gives the branded store path", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-arg-"))
      const layout = makeStoreLayout(path.join(dir, "root"))
      fs.symlinkSync(`${p}/bin/foo`, path.join(dir, "link"))
      const followed: StorePath = yield* followLinksToStorePath(layout, path.join(dir, "link"))
      expect(followed).toBe(p)
      expect(StorePathBrand.name(followed)).toBe("foo")
      const parsed: StorePath = yield* parseStorePathArg(layout, p)
      expect(StorePathBrand.hashPart(parsed)).toBe("0".repeat(32))
      const sub = yield* Effect.flip(parseStorePathArg(layout, `${p}/bin`))
      expect(sub._tag).toBe("NotInStoreError")
      const bad = yield* Effect.flip(parseStorePathArg(layout, "/nix/store/short"))
      expect(bad.message).toContain("too short to be a valid store path")
      fs.rmSync(dir, { recursive: true, force: true })
    }))
})
