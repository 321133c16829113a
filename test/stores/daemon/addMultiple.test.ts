/**
 * The daemon client's AddMultipleToStore (op 44, protocol 1.32+): a copy of
 * a closure into a daemon store goes out as one request of infos and NARs,
 * against `tsnix daemon` (a real process; runs in CI) and Nix 2.8's
 * nix-daemon (skipped without it). A NAR that does not match its info stops
 * the request: that path and the ones after it are not added.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeStoreLayout } from "../../../src/core/storeLayout.js"
import { Store, type StoreShape } from "../../../src/services/Store.js"
import { copyClosure } from "../../../src/stores/generic/copy.js"
import * as StoreFromUri from "../../../src/stores/fromUri.js"
import * as StoreLive from "../../../src/stores/local/layer.js"
import { removeTree } from "../../../src/stores/local/ops/removeTree.js"
import { haveNixDaemon, nixDaemon, type NixDaemon, tsnixDaemon } from "./nixDaemon.js"

/** A local store in a fresh directory (the copy's source). */
const sourceStore = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-addmulti-"))),
    (d) => Effect.ignore(removeTree(d))
  )
  const ctx = yield* Layer.build(
    StoreLive.layer({ layout: makeStoreLayout(path.join(dir, "root")), fsyncMetadata: false })
  )
  return Context.get(ctx, Store)
})

const daemonStore = (d: NixDaemon) =>
  Effect.map(
    Layer.build(StoreFromUri.storeLayer(`unix://${d.socket}?root=${d.root}`)),
    (ctx) => Context.get(ctx, Store)
  )

/** A chain of `n` text paths, each referring to the one before. */
const chain = (src: StoreShape, tag: string, n: number) =>
  Effect.gen(function*() {
    const paths: Array<string> = []
    for (let i = 0; i < n; i++) {
      const refs = paths.slice(-1)
      paths.push(yield* Effect.orDie(src.addTextToStore(`${tag}-${i}`, `${tag} ${i} ${refs.join(" ")}\n`, refs)))
    }
    return paths
  })

const infoOf = (s: StoreShape, p: string) => Effect.map(Effect.orDie(s.queryPathInfo(p)), (o) => Option.getOrThrow(o))

const suite = (name: string, daemon: typeof tsnixDaemon, skip: boolean) =>
  describe.skipIf(skip)(`AddMultipleToStore against ${name}`, () => {
    it.scopedLive("copies a closure in one request; the infos arrive as sent", () =>
      Effect.gen(function*() {
        const src = yield* sourceStore
        const dst = yield* daemonStore(yield* daemon)
        expect(dst.addMultipleToStore).toBeDefined()
        const paths = yield* chain(src, "chain", 6)
        const r = yield* Effect.orDie(copyClosure(src, dst, [paths[5]!]))
        expect(r.copied).toEqual(paths)
        for (const p of paths) {
          const a = yield* infoOf(src, p)
          const b = yield* infoOf(dst, p)
          expect(b.narHash).toEqual(a.narHash)
          expect(b.narSize).toBe(a.narSize)
          expect(b.references).toEqual(a.references)
          expect(b.ca).toEqual(a.ca)
        }
        // Again: everything is there, nothing is sent.
        expect((yield* Effect.orDie(copyClosure(src, dst, [paths[5]!]))).copied).toEqual([])
      }), 30000)

    it.scopedLive(
      "a NAR that does not match its info fails the request: it and the paths after it are not added",
      () =>
        Effect.gen(function*() {
          const src = yield* sourceStore
          const dst = yield* daemonStore(yield* daemon)
          const paths = [
            ...(yield* chain(src, "ok", 1)),
            ...(yield* chain(src, "bad", 1)),
            ...(yield* chain(src, "after", 1))
          ]
          const items = []
          for (const p of paths) items.push({ info: yield* infoOf(src, p), nar: src.narFromPath(p) })
          // The second path's NAR is the third's.
          items[1] = { info: items[1]!.info, nar: src.narFromPath(paths[2]!) }
          const add = dst.addMultipleToStore
          if (add === undefined) return expect.unreachable("no addMultipleToStore")
          const r = yield* Effect.either(add(items))
          expect(r._tag).toBe("Left")
          if (r._tag === "Left") expect((r.left as { _tag: string })._tag).toBe("HashMismatchError")
          expect(yield* Effect.orDie(dst.queryValidPaths(paths.slice(1)))).toEqual([])
          // The connection pool recovers: a new request works.
          yield* Effect.orDie(
            add(items.slice(1).map((i, k) => ({ info: i.info, nar: src.narFromPath(paths[k + 1]!) })))
          )
          expect(yield* Effect.orDie(dst.queryValidPaths(paths.slice(1)))).toEqual(paths.slice(1))
        }),
      30000
    )
  })

suite("tsnix daemon", tsnixDaemon, false)
suite("Nix 2.8's nix-daemon", nixDaemon, !haveNixDaemon)
