/**
 * Explaining why a path is alive: a shortest chain from a root to it over
 * the edges liveness follows (references; with keep-outputs, a derivation's
 * valid outputs; with keep-derivations, a path's valid deriver).
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import type { GcContext } from "./context.js"
import { findAllRoots } from "./findRoots.js"
import { findChain } from "./liveness.js"
import type { LiveEdge, WhyAlive } from "./liveness.js"

/** Why `target` is alive, or None. */
export const whyAlive = (ctx: GcContext, target: string) =>
  Effect.gen(function*() {
    const { db, settings } = ctx
    const roots = yield* findAllRoots(ctx)
    const start = yield* db.queryValidPaths([...roots.keys()])
    if (roots.has(target)) {
      return Option.some<WhyAlive>({
        root: target,
        links: [...(roots.get(target) ?? [])].sort(),
        chain: [{ path: target, via: "root" }]
      })
    }
    const flags = { includeOutputs: settings.keepOutputs, includeDerivers: settings.keepDerivations }
    const alive = start.length === 0 ? [] : yield* db.computeClosure(start, flags)
    const aliveSet = new Set(alive)
    if (!aliveSet.has(target)) return Option.none<WhyAlive>()
    const infos = yield* db.queryPathInfos(alive)
    const edges = new Map<string, Array<{ to: string; via: LiveEdge }>>()
    for (const info of infos) {
      const es: Array<{ to: string; via: LiveEdge }> = info.references.filter((r) => r !== info.path).map((to) => ({
        to,
        via: "reference"
      }))
      if (settings.keepDerivations && Option.isSome(info.deriver) && aliveSet.has(info.deriver.value)) {
        es.push({ to: info.deriver.value, via: "deriver" })
      }
      if (settings.keepOutputs && info.path.endsWith(".drv")) {
        for (const o of yield* db.queryDerivationOutputs(info.path)) {
          if (aliveSet.has(o)) es.push({ to: o, via: "output" })
        }
      }
      edges.set(info.path, es)
    }
    const validRoots = new Map<string, ReadonlySet<string>>()
    for (const r of start) validRoots.set(r, roots.get(r) ?? new Set())
    return Option.fromNullable(findChain(validRoots, target, (p) => edges.get(p) ?? []))
  }).pipe(Effect.withSpan("gc.whyAlive"))
