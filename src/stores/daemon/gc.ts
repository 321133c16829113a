/**
 * The {@link GcStore} contract over the worker protocol: FindRoots (14),
 * CollectGarbage (20) in its four actions, AddTempRoot / AddIndirectRoot
 * (11, 12). The collector is the daemon's (its own keep-* settings apply);
 * `queryRoots` and `whyAlive` are computed here from the roots and the
 * references, as nix-store does for a remote store. Permanent roots are made
 * by the client (the symlink) and registered with AddIndirectRoot, as Nix's
 * addPermRoot does for a daemon.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option } from "effect"
import * as path from "node:path"
import { compareStrings } from "../../core/topoSort.js"
import { encodePadded } from "../../core/wire/encode.js"
import { Op } from "../../core/wire/worker/ops.js"
import { encodeGcRequest, GcAction, type GcActionValue, gcReply, rootsReply } from "../../core/wire/worker/requests.js"
import { bool } from "../../core/wire/decode.js"
import { PathNotValidError } from "../../services/errors/database.js"
import { GcIoError } from "../../services/errors/gc.js"
import { RemoteStoreError } from "../../services/errors/remote.js"
import type { ChainStep, FindRootsError, GcResult, GcSettings, GcStoreShape, RootLink } from "../../services/GcStore.js"
import type { StoreShape } from "../../services/Store.js"
import { checkRootLink, makeSymlink, removeRootLink } from "../generic/rootLinks.js"
import type { DaemonClient } from "./client.js"
import { typedRemoteError } from "./errors.js"

const UNLIMITED = 0xffffffffffffffffn

/** Builds the GcStore service of a daemon reached through `client`; `store` answers the queries. */
export const makeGcStore = (client: DaemonClient, store: StoreShape, settings: GcSettings): GcStoreShape => {
  const storeDir = store.storeDir
  const gc = (action: GcActionValue, pathsToDelete: ReadonlyArray<string>, options: {
    readonly ignoreLiveness?: boolean | undefined
    readonly maxFreed?: number | undefined
  } = {}) =>
    client.call(
      Op.CollectGarbage,
      [
        encodeGcRequest({
          action,
          pathsToDelete,
          ignoreLiveness: options.ignoreLiveness === true,
          maxFreed: options.maxFreed === undefined ? UNLIMITED : BigInt(Math.max(0, Math.floor(options.maxFreed)))
        })
      ],
      gcReply
    )

  const findRoots = (): Effect.Effect<Array<RootLink>, FindRootsError> =>
    Effect.map(
      client.call(Op.FindRoots, [], rootsReply),
      (roots) => roots.sort((a, b) => compareStrings(a.link, b.link) || compareStrings(a.target, b.target))
    )

  const addIndirectRoot = (rootPath: string) =>
    Effect.asVoid(client.call(Op.AddIndirectRoot, [encodePadded(path.resolve(rootPath))], bool))

  return {
    settings,
    findRoots: () => findRoots(),
    liveness: Effect.gen(function*() {
      const live = yield* gc(GcAction.ReturnLive, [])
      const dead = yield* gc(GcAction.ReturnDead, [])
      return { live: [...live.paths].sort(compareStrings), dead: [...dead.paths].sort(compareStrings) }
    }),
    collectGarbage: (options) =>
      Effect.map(
        gc(GcAction.DeleteDead, [], { maxFreed: options?.maxFreed }),
        (r): GcResult => ({ paths: r.paths, bytesFreed: r.bytesFreed })
      ),
    deletePaths: (paths, options) =>
      Effect.gen(function*() {
        const r = yield* gc(GcAction.DeleteSpecific, paths, { ignoreLiveness: options?.ignoreLiveness }).pipe(
          Effect.catchIf((e): e is RemoteStoreError => e instanceof RemoteStoreError, (e) => {
            const t = typedRemoteError(e)
            return Effect.fail(t._tag === "PathAliveError" ? t : e)
          })
        )
        return { paths: r.paths, bytesFreed: r.bytesFreed }
      }),
    queryRoots: (paths) =>
      Effect.gen(function*() {
        const referrers = new Set(
          yield* store.computeClosure(paths, {
            direction: "referrers",
            includeOutputs: settings.keepOutputs,
            includeDerivers: settings.keepDerivations
          })
        )
        return (yield* findRoots()).filter((r) => referrers.has(r.target))
      }),
    addPermRoot: (storePath, rootPath) =>
      Effect.gen(function*() {
        const root = yield* checkRootLink(storeDir, rootPath)
        yield* store.addTempRoot(storePath).pipe(
          Effect.catchTag("LockIOError", (e) =>
            Effect.fail(new GcIoError({ path: storePath, operation: "locking", cause: e }))),
          Effect.catchTag("LockPathError", (e) =>
            Effect.fail(new GcIoError({ path: storePath, operation: "locking", cause: e }))),
          Effect.catchTag("LockTimeoutError", (e) =>
            Effect.fail(new GcIoError({ path: storePath, operation: "locking", cause: e })))
        )
        yield* makeSymlink(root, storePath)
        yield* addIndirectRoot(root)
        return root
      }),
    addIndirectRoot,
    removeRoot: (rootPath) =>
      Effect.gen(function*() {
        yield* removeRootLink(storeDir, path.resolve(rootPath))
        // The daemon drops the stale gcroots/auto link the next time it reads the roots.
      }),
    whyAlive: (target) =>
      Effect.gen(function*() {
        if (!(yield* store.isValidPath(target))) return yield* new PathNotValidError({ path: target })
        const roots = yield* findRoots()
        const byTarget = new Map<string, Array<string>>()
        for (const r of roots) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r.link])
        // Breadth first from the roots along references: the first chain found is a shortest one.
        const parent = new Map<string, string | undefined>()
        let frontier = [...byTarget.keys()].sort(compareStrings)
        for (const r of frontier) parent.set(r, undefined)
        while (frontier.length > 0 && !parent.has(target)) {
          const next: Array<string> = []
          for (const p of frontier) {
            const refs = yield* Effect.either(store.queryReferences(p))
            if (Either.isLeft(refs)) continue
            for (const r of refs.right) {
              if (!parent.has(r)) {
                parent.set(r, p)
                next.push(r)
              }
            }
          }
          frontier = next
        }
        if (!parent.has(target)) return Option.none()
        const chain: Array<ChainStep> = []
        for (let p: string | undefined = target; p !== undefined; p = parent.get(p)) {
          chain.unshift({ path: p, via: parent.get(p) === undefined ? "root" : "reference" })
        }
        const root = (chain[0] as ChainStep).path
        return Option.some({ root, links: byTarget.get(root) ?? [], chain })
      })
  }
}
