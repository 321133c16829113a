/**
 * Root links as Nix's addPermRoot makes them: refused inside the store and
 * over a file that is not a link into the store, replaced atomically when it
 * is one, and removed only when it points into the store.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { checkRootLink, makeSymlink, removeRootLink } from "../../../src/stores/generic/rootLinks.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-rootlinks-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

describe("rootLinks", () => {
  it.scoped("checkRootLink refuses a root in the store and a file that is not a store link", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const storeDir = path.join(dir, "store")
      const inStore = yield* Effect.exit(checkRootLink(storeDir, path.join(storeDir, "x")))
      expect(Exit.isFailure(inStore) && String(inStore)).toContain("in the Nix store is forbidden")
      fs.writeFileSync(path.join(dir, "file"), "")
      const file = yield* Effect.exit(checkRootLink(storeDir, path.join(dir, "file")))
      expect(Exit.isFailure(file) && String(file)).toContain("already exists")
      fs.symlinkSync("/elsewhere", path.join(dir, "other"))
      expect(Exit.isFailure(yield* Effect.exit(checkRootLink(storeDir, path.join(dir, "other"))))).toBe(true)
      fs.symlinkSync(`${storeDir}/aaaa-x`, path.join(dir, "old"))
      expect(yield* checkRootLink(storeDir, path.join(dir, "old"))).toBe(path.join(dir, "old"))
      // Relative names are made absolute.
      expect(yield* checkRootLink(storeDir, path.relative(process.cwd(), path.join(dir, "new")))).toBe(
        path.join(dir, "new")
      )
    }))

  it.scoped("makeSymlink creates parents, replaces a link and leaves no temporary", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const link = path.join(dir, "a", "b", "root")
      yield* makeSymlink(link, "/store/one")
      yield* makeSymlink(link, "/store/two")
      expect(fs.readlinkSync(link)).toBe("/store/two")
      expect(fs.readdirSync(path.dirname(link))).toEqual(["root"])
    }))

  it.scoped("removeRootLink removes a store link only", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const storeDir = path.join(dir, "store")
      fs.symlinkSync(`${storeDir}/aaaa-x`, path.join(dir, "root"))
      fs.symlinkSync("/elsewhere", path.join(dir, "other"))
      yield* removeRootLink(storeDir, path.join(dir, "root"))
      yield* removeRootLink(storeDir, path.join(dir, "other"))
      yield* removeRootLink(storeDir, path.join(dir, "absent"))
      expect(fs.readdirSync(dir).sort()).toEqual(["other"])
    }))
})
