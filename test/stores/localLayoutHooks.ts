/**
 * The conformance suite's hooks for a store whose files are on this machine
 * under a LocalStore layout (the local store, and a daemon's store reached by
 * a client that knows its root): where a path's files are, and what in the
 * real store directory is neither a valid path nor the store's own (locks,
 * `.links`), i.e. a temporary a failed operation left behind.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { toRealPath } from "../../src/core/storeLayout.js"
import { LocalStore } from "../../src/services/LocalStore.js"
import { Store } from "../../src/services/Store.js"

/** `realPath` and `strayFiles` for `storeConformance`, read through the LocalStore service's layout. */
export const localLayoutHooks = {
  realPath: (p: string) => Effect.map(LocalStore, (l) => toRealPath(l.layout, p)),
  strayFiles: Effect.gen(function*() {
    const { layout } = yield* LocalStore
    const store = yield* Store
    if (!fs.existsSync(layout.realStoreDir)) return []
    const names = fs.readdirSync(layout.realStoreDir).filter((n) => n !== ".links" && !n.endsWith(".lock"))
    const valid = new Set(yield* Effect.orDie(store.queryValidPaths(names.map((n) => `${layout.storeDir}/${n}`))))
    return names.filter((n) => !valid.has(`${layout.storeDir}/${n}`))
  })
}
