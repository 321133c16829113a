/**
 * The collector against Nix 2.8's own answers (golden/gc, made by
 * golden/gc/generate.sh) on the same store: --print-dead / --print-live for
 * all four keep-outputs × keep-derivations settings, --print-roots,
 * -q --roots, --delete outcomes and a full --gc.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { Store } from "../../../../src/services/Store.js"
import { goldenLines, goldenNames, unbase, withGoldenStore } from "./helpers.js"

const settings = [
  [false, false],
  [false, true],
  [true, false],
  [true, true]
] as const

describe("GarbageCollector vs Nix 2.8 (golden)", () => {
  for (const [ko, kd] of settings) {
    it.scoped(`--print-dead and --print-live, keep-outputs=${ko} keep-derivations=${kd}`, () =>
      withGoldenStore({ keepOutputs: ko, keepDerivations: kd }, (base) =>
        Effect.gen(function*() {
          const gc = yield* GarbageCollector
          const l = yield* gc.liveness
          expect(l.dead).toEqual(goldenLines(`${ko}-${kd}.dead`))
          expect(l.live).toEqual(goldenLines(`${ko}-${kd}.live`))
          // The stale indirect root was removed, the live one kept.
          const auto = path.join(base, "root/nix/var/nix/gcroots/auto")
          expect(fs.readdirSync(auto).sort()).toEqual(["indirect"])
          // Nothing was deleted.
          const store = yield* Store
          expect((yield* store.queryAllValidPaths).length).toBe(20)
        })))

    it.scoped(`-q --roots, keep-outputs=${ko} keep-derivations=${kd}`, () =>
      withGoldenStore({ keepOutputs: ko, keepDerivations: kd }, (base) =>
        Effect.gen(function*() {
          const gc = yield* GarbageCollector
          const files = fs.readdirSync(path.join(__dirname, "../../../../golden/gc/nix")).filter((f) =>
            f.startsWith(`qroots-${ko}-${kd}-`)
          )
          expect(files.length).toBe(4)
          for (const f of files) {
            const p = `/nix/store/${f.slice(`qroots-${ko}-${kd}-`.length, -".txt".length)}`
            const roots = yield* gc.queryRoots([p])
            // Nix 2.8 prints these in hash-table order (Roots is an unordered_map): compare as sets.
            expect(roots.map((r) => unbase(base, `${r.link} -> ${r.target}`)).sort(), f).toEqual(goldenLines(f).sort())
          }
        })))
  }

  it.scoped("--print-roots", () =>
    withGoldenStore({}, (base) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const roots = yield* gc.findRoots()
        expect(roots.map((r) => unbase(base, `${r.link} -> ${r.target}`))).toEqual(goldenLines("roots.txt"))
      })))

  const deletions: ReadonlyArray<
    readonly [string, (n: Record<string, string>, dep: string) => ReadonlyArray<string>, boolean]
  > = [
    ["added", (n) => [n["added"] as string], false],
    ["live", (_n, dep) => [dep], false],
    ["ignore", () => ["/nix/store/61l0gz4937ynn8wnf30mbf86ama1krg8-top"], true],
    ["ignore-indirect", () => ["/nix/store/ba8i1g03vi9pyr7ccg9y2vdphdca92d2-indirect"], true],
    ["refto-and-added", (n) => [n["refto"] as string, n["added"] as string], false]
  ]
  for (const [name, args, ignore] of deletions) {
    it.scoped(`--delete ${name}`, () =>
      withGoldenStore({}, () =>
        Effect.gen(function*() {
          const gc = yield* GarbageCollector
          const store = yield* Store
          const r = yield* Effect.either(
            gc.deletePaths(args(goldenNames(), "/nix/store/2y4kdbywfwfrq8z3fcff1nia56sl62b2-dep"), {
              ignoreLiveness: ignore
            })
          )
          const status = Number(goldenLines(`delete-${name}.status`)[0])
          if (status === 0) {
            expect(Either.isRight(r)).toBe(true)
            const n = Either.isRight(r) ? r.right.paths.length : -1
            expect(`${n} store paths deleted, 0.00 MiB freed`).toBe(goldenLines(`delete-${name}.stdout`)[0])
          } else {
            expect(Either.isLeft(r) && r.left._tag).toBe("PathAliveError")
            expect(Either.isLeft(r) ? r.left.message : "").toContain(goldenLines(`delete-${name}.stderr`)[0])
          }
          expect([...(yield* store.queryAllValidPaths)]).toEqual(goldenLines(`delete-${name}.valid`))
        })))
  }

  it.scoped("--gc deletes what Nix deletes", () =>
    withGoldenStore({}, (_base, layout) =>
      Effect.gen(function*() {
        const gc = yield* GarbageCollector
        const store = yield* Store
        const r = yield* gc.collectGarbage()
        expect(`${r.paths.length} store paths deleted, 0.00 MiB freed`).toBe(goldenLines("gc.stdout")[0])
        expect([...(yield* store.queryAllValidPaths)]).toEqual(goldenLines("gc.valid"))
        const entries = fs.readdirSync(layout.realStoreDir).filter((n) => !n.endsWith(".lock")).sort()
        // .links included: a tsnix store has Nix's layout.
        expect(entries).toEqual(goldenLines("gc.entries").filter((n) => n !== "." && n !== ".."))
        const v = yield* store.verifyStore({ checkContents: true })
        expect(v.errors).toBe(false)
        expect(r.bytesFreed).toBeGreaterThan(0)
      })))
})
