/**
 * All the roots of a store, checked: permanent roots (gcroots, profiles),
 * runtime roots (when enabled) and temporary roots of live processes, as Nix
 * 2.8's `findRoots(censor)` reports them.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { nixInfo } from "../../../core/nixLog.js"
import type { GcContext } from "./context.js"
import { addRoot, findPermanentRoots } from "./roots.js"
import type { RootMap } from "./roots.js"
import { findRuntimeRoots } from "./runtimeRoots.js"
import { pidOfTempRootsFile } from "../lock/tempRoots.js"

/** Which roots to look for. */
export interface FindRootsOptions {
  /** Report runtime and temporary roots' sources as `{censored}`. */
  readonly censor?: boolean | undefined
  /** Include the temporary roots of live processes (default true). */
  readonly temp?: boolean | undefined
}

/** Permanent and runtime roots whose store path is valid (invalid ones are logged and skipped). */
export const findRootsNoTemp = (ctx: GcContext, censor: boolean) =>
  Effect.gen(function*() {
    const roots = yield* findPermanentRoots(ctx.layout)
    if (ctx.settings.gcRuntimeRoots) {
      for (const [p, links] of yield* findRuntimeRoots(ctx.layout, censor)) for (const l of links) addRoot(roots, p, l)
    }
    const valid = new Set(yield* ctx.db.queryValidPaths([...roots.keys()]))
    const out: RootMap = new Map()
    for (const [p, links] of roots) {
      if (valid.has(p)) out.set(p, links)
      else {for (const l of links) {
          if (!l.startsWith("/proc/") && l !== "{censored}") {
            yield* nixInfo(`skipping invalid root from '${l}' to '${p}'`)
          }
        }}
    }
    return out
  })

/** Every root (see the module comment). */
export const findAllRoots = (ctx: GcContext, options: FindRootsOptions = {}) =>
  Effect.gen(function*() {
    const censor = options.censor === true
    const roots = yield* findRootsNoTemp(ctx, censor)
    if (options.temp !== false) {
      const temp = yield* ctx.lock.readTempRoots()
      for (const [name, paths] of temp.byProcess) {
        const pid = pidOfTempRootsFile(name) // a session file `<pid>-<n>` is shown as its process, as Nix 2.8 does
        for (const p of paths) addRoot(roots, p, censor ? "{censored}" : `{temp:${pid}}`)
      }
    }
    return roots
  })
