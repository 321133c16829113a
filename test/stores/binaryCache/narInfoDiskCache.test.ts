/** The narinfo disk cache: TTLs for present and absent entries (TestClock), per cache URL, kept across openings. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as DiskCache from "../../../src/stores/binaryCache/http/narInfoDiskCache.js"

const hp = "0g15fd8vnnjpmkhl6fhrqw6ngz4b3a1j"

describe("narinfo disk cache", () => {
  it.scoped("positive and negative TTLs; per URL; persistent", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-nicache-"))
      const file = path.join(dir, "sub", "cache.sqlite")
      yield* TestClock.setTime(1_000_000_000_000)
      const c = yield* DiskCache.make({ file, positiveTtl: 100, negativeTtl: 10 })
      expect(yield* c.lookup("http://a", hp)).toEqual({ _tag: "Unknown" })
      yield* c.record("http://a", hp, "StorePath: x\n")
      yield* c.record("http://a", "1".repeat(32), undefined)
      expect(yield* c.lookup("http://a", hp)).toEqual({ _tag: "Present", text: "StorePath: x\n" })
      expect(yield* c.lookup("http://b", hp)).toEqual({ _tag: "Unknown" })
      expect(yield* c.lookup("http://a", "1".repeat(32))).toEqual({ _tag: "Absent" })
      yield* TestClock.adjust("11 seconds")
      expect(yield* c.lookup("http://a", "1".repeat(32))).toEqual({ _tag: "Unknown" })
      expect(yield* c.lookup("http://a", hp)).toEqual({ _tag: "Present", text: "StorePath: x\n" })
      yield* c.recordCacheInfo("http://a", "StoreDir: /nix/store\n")
      yield* TestClock.adjust("90 seconds")
      expect(yield* c.lookup("http://a", hp)).toEqual({ _tag: "Unknown" })
      // an absent path found again is recorded present
      yield* c.record("http://a", "1".repeat(32), "StorePath: y\n")
      expect(yield* c.lookup("http://a", "1".repeat(32))).toEqual({ _tag: "Present", text: "StorePath: y\n" })
      // nix-cache-info never expires; everything is in the file
      yield* TestClock.adjust("3650 days")
      const again = yield* DiskCache.make({ file })
      expect(yield* again.cacheInfo("http://a")).toEqual(Option.some("StoreDir: /nix/store\n"))
      expect(yield* again.cacheInfo("http://b")).toEqual(Option.none())
      fs.rmSync(dir, { recursive: true })
    }))
})
