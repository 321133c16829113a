/**
 * The live GarbageCollector layer, over the Store's StoreDb and Lock
 * services; settings (keep-outputs, keep-derivations, gc-runtime-roots) are
 * passed in. `layerTest` is the collector over a fresh temporary store
 * (providing Store, StoreDb and Lock too), runtime roots off by default.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { nixInfo } from "../../../core/nixLog.js"
import { compareStrings } from "../../../core/topoSort.js"
import { ReadOnlyStoreError } from "../../../services/errors/database.js"
import { analyse, deleteDead, deleteSpecific, printableDead } from "./collect.js"
import { defaultGcSettings } from "./context.js"
import type { GcContext, GcSettings } from "./context.js"
import { findAllRoots } from "./findRoots.js"
import { addIndirectRoot, addPermRoot, removeRoot } from "./permRoots.js"
import { openSession } from "./session.js"
import { whyAlive } from "./whyAlive.js"
import { GarbageCollector } from "../../../services/GcStore.js"
import type { GarbageCollectorShape, RootLink } from "../../../services/GcStore.js"
import { Lock } from "../../../services/Lock.js"
import { LocalStore } from "../../../services/LocalStore.js"
import { StoreDb } from "../../../services/StoreDb.js"
import * as StoreLive from "../layer.js"

const sortLinks = (links: Array<RootLink>): Array<RootLink> =>
  links.sort((a, b) => compareStrings(a.link, b.link) || compareStrings(a.target, b.target))

/** Builds the collector from the store's services. */
export const make = (settings: Partial<GcSettings> = {}) =>
  Effect.gen(function*() {
    const store = yield* LocalStore
    const ctx: GcContext = {
      layout: store.layout,
      db: yield* StoreDb,
      lock: yield* Lock,
      settings: { ...defaultGcSettings, ...settings }
    }
    const flags = { keepOutputs: ctx.settings.keepOutputs, keepDerivations: ctx.settings.keepDerivations }
    const shape: GarbageCollectorShape = {
      settings: ctx.settings,
      findRoots: (options) =>
        Effect.map(findAllRoots(ctx, { censor: options?.censor }), (roots) => {
          const out: Array<RootLink> = []
          for (const [target, links] of roots) for (const link of links) out.push({ link, target })
          return sortLinks(out)
        }).pipe(Effect.withSpan("GarbageCollector.findRoots")),
      liveness: Effect.scoped(Effect.gen(function*() {
        const session = yield* openSession(ctx)
        const a = yield* analyse(ctx, session, { ignoreLiveness: false, ...flags })
        // Nix prints this after "finding garbage collector roots..." (printed by analyse).
        yield* nixInfo("determining live/dead paths...")
        const dead = printableDead(ctx, a)
        // Nix 2.8 lists stray (non-store-path) entries in both answers: it deletes them even in these modes.
        const named = new Set(a.entries.storePaths)
        const strays = dead.filter((p) => !a.valid.has(p) && !named.has(p) && !a.alive.has(p))
        return { live: [...a.alive, ...strays].sort(compareStrings), dead }
      })).pipe(Effect.withSpan("GarbageCollector.liveness")),
      collectGarbage: (options) =>
        Effect.scoped(Effect.gen(function*() {
          // Stray entries are deleted without a database write: refuse before anything.
          if (ctx.db.readOnly) return yield* new ReadOnlyStoreError({ operation: "collect garbage" })
          const session = yield* openSession(ctx)
          const a = yield* analyse(ctx, session, { ignoreLiveness: false, ...flags })
          return yield* deleteDead(ctx, session, a, options?.maxFreed, options?.onInterrupt)
        })).pipe(Effect.withSpan("GarbageCollector.collectGarbage")),
      deletePaths: (paths, options) =>
        Effect.scoped(Effect.gen(function*() {
          const ignore = options?.ignoreLiveness === true
          if (ctx.db.readOnly) return yield* new ReadOnlyStoreError({ operation: "delete paths" })
          const session = yield* openSession(ctx)
          // --ignore-liveness also disables keep-* (as Nix 2.8 does).
          const a = yield* analyse(
            ctx,
            session,
            ignore
              ? { ignoreLiveness: true, keepOutputs: false, keepDerivations: false }
              : { ignoreLiveness: false, ...flags }
          )
          return yield* deleteSpecific(ctx, session, a, paths)
        })).pipe(Effect.withSpan("GarbageCollector.deletePaths", { attributes: { count: paths.length } })),
      queryRoots: (paths) =>
        Effect.gen(function*() {
          const referrers = new Set(
            yield* ctx.db.computeClosure(paths, {
              direction: "referrers",
              includeOutputs: flags.keepOutputs,
              includeDerivers: flags.keepDerivations
            })
          )
          const roots = yield* findAllRoots(ctx)
          const out: Array<RootLink> = []
          for (const target of [...roots.keys()].sort(compareStrings)) {
            if (!referrers.has(target)) continue
            for (const link of [...(roots.get(target) ?? [])].sort(compareStrings)) out.push({ link, target })
          }
          return out
        }).pipe(Effect.withSpan("GarbageCollector.queryRoots")),
      addPermRoot: (storePath, rootPath) =>
        Effect.zipRight(ctx.lock.addTempRoot(storePath), addPermRoot(ctx.layout, storePath, rootPath)),
      addIndirectRoot: (rootPath) => addIndirectRoot(ctx.layout, path.resolve(rootPath)),
      removeRoot: (rootPath) => removeRoot(ctx.layout, rootPath),
      whyAlive: (p) => whyAlive(ctx, p).pipe(Effect.withSpan("GarbageCollector.whyAlive"))
    }
    return shape
  })

/** The collector with the given settings; requires the local store's LocalStore, StoreDb and Lock services. */
export const layer = (
  settings: Partial<GcSettings> = {}
): Layer.Layer<GarbageCollector, never, LocalStore | StoreDb | Lock> => Layer.effect(GarbageCollector, make(settings))

/** The collector over a fresh temporary store (runtime roots off unless asked for). */
export const layerTest = (settings: Partial<GcSettings> = {}) =>
  layer({ gcRuntimeRoots: false, ...settings }).pipe(Layer.provideMerge(StoreLive.layerTest))
