/**
 * Store optimisation at the library level: the `.links` name of a leaf is the
 * nix32 sha256 of its NAR (as Nix's hashPath), names are bytes end to end,
 * suspicious writable files and corrupted links are handled as Nix does,
 * auto-optimise covers add, text add and import, verify reports modified links,
 * and the collector deletes unused links. Nix's own answers on a whole store are
 * in test/cli/optimise-cli.test.ts (golden/optimise).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Logger, LogLevel, Stream } from "effect"
import { encodeNix32 } from "../../../../src/core/nix32.js"
import * as GcLive from "../../../../src/stores/local/gc/layer.js"
import * as StoreLive from "../../../../src/stores/local/layer.js"
import { narHashPath } from "../../../../src/io/dump.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"
import { GarbageCollector } from "../../../../src/services/GcStore.js"
import { LocalStore } from "../../../../src/services/LocalStore.js"
import { Store } from "../../../../src/services/Store.js"
import {
  emptyStats,
  hashLeaf,
  joinBytes,
  type OptimiseLog,
  optimiseTree
} from "../../../../src/stores/local/ops/optimiseFs.js"
import { tempBase } from "../gc/helpers.js"

const quietLog = (lines: Array<string> = []): OptimiseLog => ({
  warn: (m) => lines.push(`warning: ${m}`),
  info: (m) => lines.push(m),
  error: (m) => lines.push(m),
  talkative: () => undefined,
  debug: () => undefined
})

const layers = (root: string, autoOptimise = false) =>
  GcLive.layer({ gcRuntimeRoots: false }).pipe(
    Layer.provideMerge(StoreLive.layer({ layout: makeStoreLayout(root), fsyncMetadata: false, autoOptimise }))
  )

/** A store directory with `.links`, outside any database: for the walk alone. */
const walkDirs = (base: string) => {
  const store = path.join(base, "store")
  fs.mkdirSync(path.join(store, ".links"), { recursive: true })
  return { store, links: path.join(store, ".links") }
}

const linkCount = (p: string | Buffer) => fs.lstatSync(p).nlink

describe("optimise", () => {
  it.effect.prop(
    "a leaf's link name is the nix32 sha256 of its NAR (regular, executable, symlink)",
    [fc.uint8Array({ maxLength: 3000 }), fc.constantFrom("regular", "executable", "symlink")],
    ([bytes, kind]) =>
      Effect.scoped(Effect.gen(function*() {
        const base = yield* tempBase
        const p = path.join(base, "leaf")
        if (kind === "symlink") fs.symlinkSync(Buffer.from(bytes.filter((b) => b !== 0)).toString("latin1") || "t", p)
        else fs.writeFileSync(p, bytes, { mode: kind === "executable" ? 0o755 : 0o644 })
        const mine = yield* Effect.promise(() => hashLeaf(Buffer.from(p), fs.lstatSync(p, { bigint: true })))
        const nar = yield* narHashPath(p)
        expect(encodeNix32(mine)).toBe(encodeNix32(nar.narHash))
      })),
    { fastCheck: { numRuns: 40 } }
  )

  it.live("names that are not UTF-8 are walked and linked as bytes", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* tempBase
      const { store, links } = walkDirs(base)
      const names = [Buffer.from([0xff, 0xfe]), Buffer.from([0x61, 0x80, 0x62]), Buffer.from("caf\u00e9")]
      const dirs = ["p1", "p2"].map((d) => joinBytes(Buffer.from(store), d))
      for (const d of dirs) {
        fs.mkdirSync(d)
        const sub = joinBytes(d, Buffer.from([0xc3, 0x28]))
        fs.mkdirSync(sub)
        for (const n of names) {
          fs.writeFileSync(joinBytes(sub, n), Buffer.concat([Buffer.from("same "), n]), { mode: 0o444 })
        }
        fs.chmodSync(sub, 0o555)
        fs.chmodSync(d, 0o555)
      }
      const stats = emptyStats()
      const ctx = {
        realStoreDir: Buffer.from(store),
        linksDir: Buffer.from(links),
        inodes: new Set<number>(),
        stats,
        log: quietLog()
      }
      for (const d of dirs) yield* Effect.promise(() => optimiseTree(ctx, d))
      expect(stats.filesLinked).toBe(3)
      expect(fs.readdirSync(links).length).toBe(3)
      for (const n of names) {
        const f = joinBytes(joinBytes(dirs[1] as Buffer, Buffer.from([0xc3, 0x28])), n)
        expect(fs.readFileSync(f)).toEqual(Buffer.concat([Buffer.from("same "), n]))
        expect(linkCount(f)).toBe(3)
      }
      // The permission dance left the parents as the store wants them.
      const sub = joinBytes(dirs[1] as Buffer, Buffer.from([0xc3, 0x28]))
      expect(fs.statSync(sub).mode & 0o777).toBe(0o555)
      expect(Math.floor(fs.statSync(sub).mtimeMs / 1000)).toBe(1)
    })))

  it.live("skips writable files and replaces a corrupted link (another size), with Nix's warnings", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* tempBase
      const { store, links } = walkDirs(base)
      const f1 = path.join(store, "a")
      const f2 = path.join(store, "b")
      fs.writeFileSync(f1, "contents\n", { mode: 0o444 })
      fs.writeFileSync(f2, "contents\n", { mode: 0o644 })
      const name = encodeNix32(
        yield* Effect.promise(() => hashLeaf(Buffer.from(f1), fs.lstatSync(f1, { bigint: true })))
      )
      fs.writeFileSync(path.join(links, name), "corrupt, and longer\n", { mode: 0o444 })
      const lines: Array<string> = []
      const ctx = {
        realStoreDir: Buffer.from(store),
        linksDir: Buffer.from(links),
        inodes: new Set<number>(),
        stats: emptyStats(),
        log: quietLog(lines)
      }
      yield* Effect.promise(() => optimiseTree(ctx, Buffer.from(f1)))
      yield* Effect.promise(() => optimiseTree(ctx, Buffer.from(f2)))
      expect(lines).toEqual([
        `warning: removing corrupted link '${path.join(links, name)}'`,
        "warning: There may be more corrupted paths.\nYou should run `nix-store --verify --check-contents --repair` to fix them all",
        `warning: skipping suspicious writable file '${f2}'`
      ])
      expect(fs.readFileSync(path.join(links, name), "utf8")).toBe("contents\n")
      expect(linkCount(f1)).toBe(2)
      expect(linkCount(f2)).toBe(1)
    })))

  it.live("auto-optimise-store links what add, text add and import install; optimisePath and the stats", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* tempBase
      const src = path.join(base, "src")
      fs.mkdirSync(path.join(src, "d"), { recursive: true })
      fs.writeFileSync(path.join(src, "d", "x"), "shared\n")
      fs.writeFileSync(path.join(src, "d", "y"), "shared\n")
      fs.writeFileSync(path.join(src, "flat"), "shared\n")
      // An export stream of two paths from a store without auto-optimise.
      const exported = yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const s = yield* Store
          const p = yield* s.addToStore(path.join(src, "d"), { name: "other" })
          return [p, yield* Stream.runCollect(s.exportPaths([p]))] as const
        }),
        layers(path.join(base, "plain"))
      ))
      const root = path.join(base, "root")
      yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const s = yield* Store
          const d = yield* s.addToStore(path.join(src, "d"))
          const real = (p: string) => path.join(root, p)
          expect(linkCount(path.join(real(d), "x"))).toBe(3) // x, y and the link
          const flat = yield* s.addToStore(path.join(src, "flat"), { method: "flat" })
          const text = yield* s.addTextToStore("t", "shared\n", [])
          expect(linkCount(real(flat))).toBe(5)
          expect(linkCount(real(text))).toBe(5)
          const bytes = Buffer.concat([...exported[1]])
          const [imported] = yield* s.importPaths(Stream.make(new Uint8Array(bytes)))
          expect(imported).toBe(exported[0])
          expect(linkCount(path.join(real(imported as string), "y"))).toBe(7)
          expect(fs.readdirSync(path.join(root, "nix/store/.links")).length).toBe(1)
          // Nothing left to do.
          expect(yield* (yield* LocalStore).optimiseStore()).toEqual({ filesLinked: 0, bytesFreed: 0, blocksFreed: 0 })
          expect((yield* (yield* LocalStore).optimisePath(d)).filesLinked).toBe(0)
          const v = yield* s.verifyStore({ checkContents: true })
          expect(v.errors).toBe(false)
        }),
        layers(root, true)
      ))
    })))

  it.live("verify reports a modified link; the collector deletes unused links and keeps used ones", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* tempBase
      const root = path.join(base, "root")
      const src = path.join(base, "src")
      fs.mkdirSync(src)
      fs.writeFileSync(path.join(src, "a"), "one\n")
      fs.writeFileSync(path.join(src, "b"), "one\n")
      const lines: Array<string> = []
      // The library logs Nix's info lines at Debug (the CLI shows them by default).
      const logger = Layer.merge(
        Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => lines.push(String(message)))),
        Logger.minimumLogLevel(LogLevel.Debug)
      )
      // Added and optimised (which roots every path temporarily, as in Nix) by another store
      // instance: this one's temporary roots would keep b alive.
      const a = yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const s = yield* Store
          yield* s.addToStore(path.join(src, "b"))
          const a = yield* s.addToStore(path.join(src, "a"))
          const st = yield* (yield* LocalStore).optimiseStore()
          expect(st).toEqual({ filesLinked: 1, bytesFreed: 4, blocksFreed: expect.any(Number) })
          return a
        }),
        layers(root)
      ))
      yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const s = yield* Store
          const gc = yield* GarbageCollector
          const linksDir = path.join(root, "nix/store/.links")
          const bogus = path.join(linksDir, "1".repeat(52))
          fs.writeFileSync(bogus, "x")
          const v = yield* s.verifyStore({ checkContents: true })
          expect(v.modifiedLinks).toEqual([bogus])
          expect(v.errors).toBe(true)
          expect(
            lines.some((l) => l.startsWith(`link '${bogus}' was modified! expected hash '${"1".repeat(52)}', got '`))
          ).toBe(true)
          // Root a: the bogus link (count 1) goes; the shared one stays (a uses it).
          fs.mkdirSync(path.join(root, "nix/var/nix/gcroots"), { recursive: true })
          fs.symlinkSync(a, path.join(root, "nix/var/nix/gcroots/a"))
          lines.length = 0
          const r = yield* gc.collectGarbage()
          expect(r.paths.length).toBe(1)
          expect(r.bytesFreed).toBe(0) // b's file was shared with a
          expect(lines.slice(-2)[0]).toBe("deleting unused links...")
          expect(lines.slice(-1)[0]).toMatch(/^note: currently hard linking saves -?\d+\.\d\d MiB$/)
          expect(fs.readdirSync(linksDir).length).toBe(1)
          expect(linkCount(path.join(root, a))).toBe(2)
          // Delete a too: its link is unused now and goes with it.
          fs.unlinkSync(path.join(root, "nix/var/nix/gcroots/a"))
          yield* gc.deletePaths([a])
          expect(fs.readdirSync(linksDir)).toEqual([])
        }),
        Layer.merge(layers(root), logger)
      ))
    })))
})
