// The README's library example: a program on the store contracts, the store taken from the environment.
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { LocalStore, Store, StoreFromUri } from "../src/index.js"

/** Adds two text paths, one referring to the other, and reads back what the store knows. */
export const program = Effect.gen(function*() {
  // Any store: the local one today; a daemon or a binary cache once they exist.
  const store = yield* Store
  const lib = yield* store.addTextToStore("greeting", "Hello, world\n", [])
  const app = yield* store.addTextToStore("app", `#!/bin/sh\ncat ${lib}\n`, [lib])
  const closure = yield* store.computeClosure([app])
  const info = yield* store.queryPathInfo(app)
  // What only a store on this machine has: its directories.
  const { layout } = yield* LocalStore
  return { app, closure, references: Option.map(info, (i) => i.references), realStoreDir: layout.realStoreDir }
})

/** The store as the tsnix command would open it: TSNIX_STORE, NIX_STORE_DIR, NIX_CONFIG, read from Config. */
export const StoreLive = StoreFromUri.layerConfig()

/** Runs the program against a chroot store at `root` (as `TSNIX_STORE=root` would choose it). */
export const runAt = (root: string) =>
  program.pipe(
    Effect.provide(StoreLive),
    Effect.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["TSNIX_STORE", root]])))),
    Effect.runPromise
  )
