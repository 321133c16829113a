/**
 * The conformance suite of the {@link Store} contract, parameterised by the
 * layer that provides it (the local store through `stores/fromUri` today; the
 * daemon client and binary caches next). Each test runs against a FRESH store
 * (the layer is built per test). Expected values come from Nix 2.8: the
 * suite reads tsnix's committed goldens (`golden/core`, `golden/store` of a
 * tsnix checkout) from `options.golden`.
 *
 * The suite knows nothing of where a store keeps its files. The tests that
 * damage files (verify, modified contents, canonical modes) run only when
 * `options.realPath` says where a path's files are; `options.strayFiles`
 * lists files a failed operation must not leave behind.
 *
 * Needs `@effect/vitest` (a test runner dependency of the caller).
 *
 * @since 0.1.0
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import type { Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { printHashWithAlgo } from "../core/hash.js"
import { Store, withTempRootSession } from "../services/Store.js"
import { printDumpDb } from "../core/validityFormat.js"
import { loadGolden } from "./golden.js"

/** How the suite reaches what the contract does not say. */
export interface ConformanceOptions<R> {
  /** The `golden/` directory of a tsnix checkout. */
  readonly golden: string
  /** Where a valid store path's files are (for the tests that damage them); without it those tests are skipped. */
  readonly realPath?: ((storePath: string) => Effect.Effect<string, never, Store | R>) | undefined
  /** Files the store holds that are neither valid paths nor its own bookkeeping (temporaries left behind); default none. */
  readonly strayFiles?: Effect.Effect<ReadonlyArray<string>, never, Store | R> | undefined
  /**
   * Tests to skip, by a part of their title, each with the reason (e.g. a
   * store behind Nix 2.8's daemon, which fails where tsnix does not).
   */
  readonly skip?: ReadonlyArray<{ readonly title: string; readonly reason: string }> | undefined
}

const collect = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

const dumpDbText = Effect.gen(function*() {
  const store = yield* Store
  const infos = yield* store.queryPathInfos()
  return printDumpDb(infos)
})

const tmpTree = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-conf-src-"))
  fs.mkdirSync(path.join(dir, "tree", "sub"), { recursive: true })
  fs.writeFileSync(path.join(dir, "tree", "a"), "a\n", { mode: 0o666 })
  fs.writeFileSync(path.join(dir, "tree", "sub", "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o777 })
  fs.symlinkSync("a", path.join(dir, "tree", "link"))
  return dir
}

/** Registers the Store conformance tests for `layer` under `describe(name)`. */
export const storeConformance = <R, E>(
  name: string,
  layer: Layer.Layer<Store | R, E>,
  options: ConformanceOptions<R>
) =>
  describe(`Store conformance: ${name}`, () => {
    const run = <A, E2>(eff: Effect.Effect<A, E2, Store | R>) => Effect.provide(eff, layer)
    const { corePaths, goldenAll, goldenBytes, goldenInput, goldenPaths, goldenText, named } = loadGolden(
      options.golden
    )
    const leftovers = options.strayFiles ?? Effect.succeed([])
    const realPath = options.realPath
    // A skipped test says why in its title: the caller's reason, or the missing realPath.
    const skipReason = (title: string, needsFiles: boolean): string | undefined =>
      (options.skip ?? []).find((s) => title.includes(s.title))?.reason ??
        (needsFiles && realPath === undefined ? "the store's files are not on this machine (no realPath)" : undefined)
    const titled = (title: string, reason: string | undefined) =>
      reason === undefined ? title : `${title} [skipped: ${reason}]`
    type Body = () => Effect.Effect<unknown, unknown, never>
    const test = (title: string, f: Body, timeout?: number, needsFiles = false) => {
      const reason = skipReason(title, needsFiles)
      return (reason === undefined ? it.effect : it.effect.skip)(titled(title, reason), f, timeout)
    }
    const files = (title: string, f: Body, timeout?: number) => test(title, f, timeout, true)
    const live = (title: string, f: Body, timeout?: number) => {
      const reason = skipReason(title, false)
      return (reason === undefined ? it.live : it.live.skip)(titled(title, reason), f, timeout)
    }
    const real = (p: string) => realPath === undefined ? Effect.die("no realPath") : realPath(p)
    const importGolden = (name: string) =>
      Effect.flatMap(Store, (store) => store.importPaths(Stream.make(new Uint8Array(goldenBytes(name)))))

    // Without realPath (a binary cache), all but the inode check.
    live("addToStore / addTextToStore give Nix's paths; re-adding does no work", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-conf-in-"))
        const added: Array<string> = []
        for (const g of corePaths.paths) {
          if (!g.path.startsWith("/nix/store/")) continue
          if ((g.kind === "source" || g.kind === "fixed") && g.input !== undefined) {
            const bytes = goldenInput(g.input)
            if (bytes === undefined) continue
            const src = path.join(dir, g.input)
            fs.writeFileSync(src, bytes)
            const p = yield* store.addToStore(src, { name: g.name, method: g.method, algo: g.algo })
            expect(p, `${g.kind} ${g.input} ${g.method} ${g.algo}`).toBe(g.path)
            added.push(p)
          } else if (g.kind === "text" && g.references.length === 0 && g.contents !== undefined) {
            expect(yield* store.addTextToStore(g.name, g.contents, [])).toBe(g.path)
            added.push(g.path)
          }
        }
        expect(added.length).toBeGreaterThan(20)
        // one by one: a cache need not list its paths
        const before = new Map<string, number>()
        for (const p of added) before.set(p, Option.getOrThrow(yield* store.queryPathInfo(p)).registrationTime)
        const fooReal = realPath === undefined
          ? undefined
          : yield* real("/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo")
        const inode = fooReal === undefined ? undefined : fs.statSync(fooReal).ino
        yield* Effect.sleep("1100 millis")
        const again = yield* store.addTextToStore("foo", "bar", [])
        expect(again).toBe("/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo")
        const info = Option.getOrThrow(yield* store.queryPathInfo(again))
        expect(info.registrationTime).toBe(before.get(again))
        if (fooReal !== undefined) expect(fs.statSync(fooReal).ino).toBe(inode)
        expect(yield* leftovers).toEqual([])
        fs.rmSync(dir, { recursive: true, force: true })
      })), 30_000)

    files("files are canonical: mtime 1, no write bits, 0444/0555", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        const dir = tmpTree()
        const p = yield* store.addToStore(path.join(dir, "tree"))
        expect(p).toBe(goldenPaths["tree"])
        const root = yield* real(p)
        const check = (f: string, mode: number) => {
          const st = fs.lstatSync(f)
          expect(st.mtimeMs, f).toBe(1000)
          if (!st.isSymbolicLink()) expect(st.mode & 0o7777, f).toBe(mode)
        }
        check(root, 0o555)
        check(path.join(root, "a"), 0o444)
        check(path.join(root, "sub"), 0o555)
        check(path.join(root, "sub", "run.sh"), 0o555)
        check(path.join(root, "link"), 0)
        fs.rmSync(dir, { recursive: true, force: true })
      })))

    test("bad names and dangling references fail with typed errors and leave nothing", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-conf-bad-"))
        fs.writeFileSync(path.join(dir, "a b"), "x")
        const e1 = yield* Effect.flip(store.addToStore(path.join(dir, "a b")))
        expect(e1._tag).toBe("InvalidStorePathError")
        expect(e1.message).toContain("a b")
        const e2 = yield* Effect.flip(
          store.addTextToStore("ok", "x", ["/nix/store/00000000000000000000000000000000-missing"])
        )
        expect(["DanglingReferenceError", "PathNotValidError"]).toContain(e2._tag)
        expect(yield* store.queryAllValidPaths).toEqual([])
        expect(yield* leftovers).toEqual([])
        fs.rmSync(dir, { recursive: true, force: true })
      })))

    test("imports Nix's export: same dump-db, closures, referrers; exports it back byte for byte", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        const imported = yield* importGolden("export.nar")
        expect([...imported].sort()).toEqual(goldenAll)
        expect(yield* dumpDbText).toBe(goldenText("dump-db.txt"))
        const qR = goldenText("queries/qR-top.out").trim().split("\n")
        expect([...(yield* store.computeClosure([goldenPaths["top"] as string], {}))].sort()).toEqual([...qR].sort())
        const referrers = goldenText("queries/referrers-leaf.out").trim().split("\n")
        expect([...(yield* store.queryReferrers(goldenPaths["leaf"] as string))].sort()).toEqual([...referrers].sort())
        expect((yield* collect(store.exportPaths(goldenAll))).equals(goldenBytes("export.nar"))).toBe(true)
        expect((yield* collect(store.exportPaths([...goldenAll].reverse()))).equals(goldenBytes("export.nar"))).toBe(
          true
        )
        // Importing again changes nothing.
        const before = yield* dumpDbText
        yield* importGolden("export.nar")
        expect(yield* dumpDbText).toBe(before)
        const report = yield* store.verifyStore({ checkContents: true })
        expect(report).toEqual({
          errors: false,
          invalidated: [],
          missingWithReferrers: [],
          modified: [],
          modifiedLinks: []
        })
      })))

    test("every truncation of an export stream fails typed, registers nothing, leaves no temp files", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        // The closure of mid.txt (leaf, then mid): self-contained, two paths.
        const bytes = new Uint8Array(goldenBytes("export-mid.nar"))
        for (let n = 0; n < bytes.length; n++) {
          const r = yield* Effect.either(store.importPaths(Stream.make(bytes.slice(0, n))))
          if (Either.isRight(r)) {
            throw new Error(`a truncation to ${n} bytes was accepted`)
          }
          expect(typeof r.left._tag, `truncated at ${n}`).toBe("string")
          expect(yield* store.queryAllValidPaths, `truncated at ${n}`).toEqual([])
        }
        expect(yield* leftovers).toEqual([])
        // The whole stream imports.
        expect(yield* store.importPaths(Stream.make(bytes))).toEqual([goldenPaths["leaf"], goldenPaths["mid"]])
      })), 60_000)
    test(
      "byte flips: either a typed failure with nothing registered, or a consistent import",
      () =>
        run(Effect.gen(function*() {
          const store = yield* Store
          const bytes = new Uint8Array(goldenBytes("export.nar"))
          let seed = 12345
          const rand = () =>
            (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
          let failures = 0
          for (let k = 0; k < 60; k++) {
            const copy = bytes.slice()
            const pos = Math.floor(rand() * copy.length)
            copy[pos] = (copy[pos] as number) ^ (1 + Math.floor(rand() * 255))
            const before = yield* dumpDbText
            const r = yield* Effect.either(store.importPaths(Stream.make(copy)))
            if (Either.isLeft(r)) {
              failures++
              expect(typeof r.left._tag).toBe("string")
              expect(yield* dumpDbText, `flip at ${pos}`).toBe(before)
            } else {
              // A flip inside file contents is a different but well-formed stream (Nix accepts it
              // too): whatever got registered must match its files.
              const report = yield* store.verifyStore({ checkContents: true })
              expect(report.errors, `flip at ${pos}`).toBe(false)
            }
            expect(yield* leftovers).toEqual([])
          }
          expect(failures).toBeGreaterThan(15)
        })),
      60_000
    )

    files(
      "verify: vanished paths are invalidated referrers first; a vanished path with a live referrer is an error",
      () =>
        run(Effect.gen(function*() {
          const store = yield* Store
          yield* importGolden("export.nar")
          const rm = (p: string) =>
            Effect.map(real(p), (f) => {
              fs.chmodSync(f, 0o644)
              fs.rmSync(f, { recursive: true, force: true })
            })
          // out and hello vanish together (out refers to hello, nothing refers to out): both are invalidated.
          const { top, mid, out, leaf, hello } = named
          yield* rm(out)
          yield* rm(hello)
          const r1 = yield* store.verifyStore({ checkContents: false })
          expect([...r1.invalidated].sort()).toEqual([out, hello].sort())
          expect(r1.errors).toBe(false)
          expect(yield* store.queryValidPaths([out, hello])).toEqual([])
          // top and mid vanish while app.drv (present) refers to top, and top to mid: both reported, both stay valid.
          yield* rm(top)
          yield* rm(mid)
          const r3 = yield* store.verifyStore({ checkContents: false })
          expect([...r3.missingWithReferrers].sort()).toEqual([top, mid].sort())
          expect(r3.invalidated).toEqual([])
          expect(yield* store.queryValidPaths([top, mid])).toHaveLength(2)
          // leaf vanishes while the drvs that refer to it stay: reported, left valid.
          yield* rm(leaf)
          const r2 = yield* store.verifyStore({ checkContents: false })
          expect(r2.errors).toBe(true)
          expect([...r2.missingWithReferrers].sort()).toEqual([leaf, mid, top].sort())
          expect(yield* store.isValidPath(leaf)).toBe(true)
        }))
    )

    files("verify --check-contents and verifyPath detect a modified file; export refuses it", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        yield* importGolden("export.nar")
        const hello = goldenPaths["hello"] as string
        const file = yield* real(hello)
        fs.chmodSync(file, 0o644)
        fs.writeFileSync(file, "HELLO\n")
        const report = yield* store.verifyStore({ checkContents: true })
        expect(report.modified).toEqual([hello])
        expect(report.errors).toBe(true)
        const e = yield* Effect.flip(store.verifyPath(hello))
        expect(e.message).toBe(goldenText("errors/verify-path-modified.stderr").trim())
        const e2 = yield* Effect.flip(collect(store.exportPaths([hello])))
        expect(`error: ${e2.message}`).toBe(goldenText("errors/export-modified.stderr").trim())
      })))

    test("a temp-roots session: work inside it runs as outside; releasing the roots removes no path", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        const inner = yield* withTempRootSession(Effect.gen(function*() {
          const p = yield* store.addTextToStore("session-text", "held by a session\n", [])
          yield* store.addTempRoot(p)
          return p
        }))
        expect(yield* store.isValidPath(inner)).toBe(true)
        // Nested and repeated sessions open and close cleanly.
        yield* Effect.scoped(Effect.zipRight(store.tempRootSession, Effect.scoped(store.tempRootSession)))
        expect(yield* store.addTextToStore("session-text", "held by a session\n", [])).toBe(inner)
      })))

    test("narFromPath streams the registered NAR (hash and size match); an invalid path is a typed error", () =>
      run(Effect.gen(function*() {
        const store = yield* Store
        const p = yield* store.addToStore(path.join(tmpTree(), "tree"))
        const nar = yield* collect(store.narFromPath(p))
        const info = Option.getOrThrow(yield* store.queryPathInfo(p))
        const { createHash } = yield* Effect.promise(() =>
          import("node:crypto")
        )
        expect(`sha256:${createHash("sha256").update(nar).digest("hex")}`).toBe(
          printHashWithAlgo(info.narHash, "base16")
        )
        expect(nar.length).toBe(info.narSize)
        const missing = `${store.storeDir}/${"0".repeat(32)}-missing`
        const e = yield* Effect.flip(collect(store.narFromPath(missing)))
        expect(e._tag).toBe("PathNotValidError")
      })))
  })
