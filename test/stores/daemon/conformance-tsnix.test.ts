/**
 * The Store conformance suite against tsnix's daemon client talking to
 * `tsnix daemon` (a real process per test; runs without Nix): over its Unix
 * socket, and over `ssh-ng://localhost?remote-program=…` (the remote program
 * run locally with `--stdio`, as Nix does for localhost).
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { toRealPath } from "../../../src/core/storeLayout.js"
import { LocalStore } from "../../../src/services/LocalStore.js"
import { Store } from "../../../src/services/Store.js"
import * as StoreFromUri from "../../../src/stores/fromUri.js"
import { storeConformance } from "../../../src/testing/conformance.js"
import { tsnixBin, withTsnixDaemon } from "./nixDaemon.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../golden")

const hooks = {
  golden,
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

storeConformance(
  "daemon client against tsnix daemon (unix://)",
  withTsnixDaemon((d) => StoreFromUri.storeLayer(`unix://${d.socket}?root=${d.root}`)),
  hooks
)

const remoteProgram = (root: string) => encodeURIComponent(`${process.execPath} ${tsnixBin} --store ${root} daemon`)

storeConformance(
  "daemon client against tsnix daemon --stdio (ssh-ng://localhost)",
  withTsnixDaemon((d) =>
    StoreFromUri.storeLayer(`ssh-ng://localhost?remote-program=${remoteProgram(d.root)}&root=${d.root}`)
  ),
  hooks
)
