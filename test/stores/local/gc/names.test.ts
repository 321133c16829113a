/**
 * The collector treats names as bytes: roots whose link names or targets are
 * not valid UTF-8 keep their paths (a decoded name would miss the link and
 * the path would be collected, or the indirect root removed as stale); stray
 * store entries with such names, and temporaries holding such names, are
 * deleted; an entry that cannot be removed is a warning, not a failed GC.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { classifyEntries } from "../../../../src/stores/local/gc/liveness.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { Store } from "../../../../src/services/Store.js"
import { canonicalisePath } from "../../../../src/stores/local/ops/canonicalise.js"
import { tempPrefix } from "../../../../src/stores/local/ops/tempPath.js"
import { materializeNamesTree } from "../ops/namesGolden.js"
import { storeLayers, tempBase } from "./helpers.js"

const bytes = (...parts: ReadonlyArray<string | Buffer>) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)))
const ff = Buffer.from([0xff, 0xfe])

/** Entries of a directory as hex, lock files left out. */
const entriesHex = (dir: string) =>
  fs.readdirSync(dir, { encoding: "buffer" })
    .filter((b) => !b.toString("latin1").endsWith(".lock") && b.toString("latin1") !== ".links").map((b) =>
      b.toString("hex")
    ).sort()

describe("the collector and names that are not UTF-8", () => {
  it("classifyEntries keeps undecodable names as bytes, decodes the others", () => {
    const e = classifyEntries("/nix/store", [
      Buffer.from("00000000000000000000000000000000-x"),
      Buffer.from(`${tempPrefix}12-ab`),
      Buffer.from("junk-é"),
      ff,
      Buffer.from(".links"),
      "plain"
    ])
    expect(e.storePaths).toEqual(["/nix/store/00000000000000000000000000000000-x"])
    expect(e.tempEntries).toEqual([{ name: `${tempPrefix}12-ab`, pid: 12 }])
    expect(e.others).toEqual(["junk-é", "plain"])
    expect(e.undecodable).toEqual([ff])
  })

  it.scoped("roots named or pointing by non-UTF-8 bytes keep their paths; such garbage is deleted", () =>
    Effect.gen(function*() {
      const base = yield* tempBase
      const layout = makeStoreLayout(path.join(base, "root"))
      const [kept1, kept2, dead] = yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const store = yield* Store
          return [
            yield* store.addTextToStore("direct", "1", []),
            yield* store.addTextToStore("indirect", "2", []),
            yield* store.addTextToStore("dead", "3", [])
          ] as const
        }),
        storeLayers(layout)
      ))
      const gcroots = path.join(layout.stateDir, "gcroots")
      fs.mkdirSync(path.join(gcroots, "auto"), { recursive: true })
      // A direct root whose name is not UTF-8, and an indirect one through a non-UTF-8 path.
      fs.symlinkSync(kept1, bytes(gcroots, "/root-", ff))
      const result = bytes(base, "/result-", ff)
      fs.symlinkSync(kept2, result)
      fs.symlinkSync(result, path.join(gcroots, "auto", "abc"))
      // Garbage: a stray entry with a non-UTF-8 name, a dead process's read-only temporary of such names.
      const real = layout.realStoreDir
      materializeNamesTree(bytes(real, "/", ff, "-stray"))
      const temp = path.join(real, `${tempPrefix}${2 ** 30 + 7}-x`)
      materializeNamesTree(temp)
      yield* canonicalisePath(temp)
      yield* Effect.provide(
        Effect.gen(function*() {
          const gc = yield* GarbageCollector
          const roots = yield* gc.findRoots()
          expect(roots.map((r) => r.target).sort()).toEqual([kept1, kept2].sort())
          const r = yield* gc.collectGarbage()
          expect(r.paths).toContain(dead)
          expect(r.paths).not.toContain(kept1)
          expect(r.paths).not.toContain(kept2)
          expect(entriesHex(real)).toEqual(
            [kept1, kept2].map((p) => Buffer.from(path.basename(p)).toString("hex")).sort()
          )
          expect(fs.readlinkSync(path.join(gcroots, "auto", "abc"), { encoding: "buffer" }).equals(result)).toBe(true)
        }),
        storeLayers(layout)
      )
    }))

  it.scoped("an entry that cannot be removed is a warning: the rest is still collected, and the next GC works", () =>
    Effect.gen(function*() {
      const base = yield* tempBase
      const layout = makeStoreLayout(path.join(base, "root"))
      const dead = yield* Effect.scoped(
        Effect.provide(Effect.flatMap(Store, (s) => s.addTextToStore("dead", "3", [])), storeLayers(layout))
      )
      // Deeper than PATH_MAX: no path-based removal reaches its bottom.
      const deep = `${tempPrefix}${2 ** 30 + 7}-deep`
      execFileSync("bash", [
        "-c",
        `cd "$1" && mkdir "$2" && cd "$2" && for i in $(seq 80); do mkdir ${"d".repeat(60)} && cd ${
          "d".repeat(60)
        }; done`,
        "-",
        layout.realStoreDir,
        deep
      ])
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => execFileSync("rm", ["-rf", path.join(layout.realStoreDir, deep)]))
      )
      const logs: Array<string> = []
      const logger = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => {
          logs.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
        })
      )
      yield* Effect.provide(
        Effect.gen(function*() {
          const gc = yield* GarbageCollector
          expect((yield* gc.collectGarbage()).paths).toContain(dead)
          expect(logs.some((l) => l.startsWith(`WARN could not delete '/nix/store/${deep}'`))).toBe(true)
          expect((yield* gc.collectGarbage()).paths).toEqual([])
        }).pipe(Effect.provide(logger)),
        storeLayers(layout)
      )
      expect(entriesHex(layout.realStoreDir)).toEqual([Buffer.from(deep).toString("hex")])
    }))
})
