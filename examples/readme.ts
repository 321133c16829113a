// The README's library example: compose the local store layer and use it.
import { Effect, Option } from "effect"
import { makeStoreLayout, Store, StoreLayer } from "../src/index.js"

/** Adds two text paths, one referring to the other, and reads back what the store knows. */
export const program = Effect.gen(function*() {
  const store = yield* Store
  const lib = yield* store.addTextToStore("greeting", "Hello, world\n", [])
  const app = yield* store.addTextToStore("app", `#!/bin/sh\ncat ${lib}\n`, [lib])
  const closure = yield* store.computeClosure([app])
  const info = yield* store.queryPathInfo(app)
  return { app, closure, references: Option.map(info, (i) => i.references) }
})

/** Runs the program against a chroot store at `root` (like `nix-store --store root`). */
export const runAt = (root: string) =>
  program.pipe(Effect.provide(StoreLayer.layer({ layout: makeStoreLayout(root) })), Effect.runPromise)
