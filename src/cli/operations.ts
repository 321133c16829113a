/**
 * The table of CLI operations, by name (long flag or subcommand). Each is
 * loaded on first use, so a command only pays for the modules it needs.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Cli } from "./context.js"
import type { Operation } from "./operation.js"

const lazy = <M>(load: () => Promise<M>, pick: (m: M) => Operation): Operation =>
  Effect.flatMap(Effect.promise(load), pick)

const store = () => import("./ops/store.js")
const gc = () => import("./ops/gc.js")

/** Operation name → implementation. */
export const operations: Readonly<Record<string, Operation>> = {
  hash: lazy(() => import("./ops/hash.js"), (m) => m.hashOperation),
  dump: lazy(() => import("./ops/dumpRestore.js"), (m) => m.dumpOperation),
  restore: lazy(() => import("./ops/dumpRestore.js"), (m) => m.restoreOperation),
  add: lazy(store, (m) => m.addOperation),
  "add-fixed": lazy(store, (m) => m.addFixedOperation),
  query: Effect.flatMap(Cli, ({ parsed }) =>
    parsed.flags.has("roots")
      ? lazy(gc, (m) => m.queryRootsOperation)
      : lazy(() => import("./ops/query.js"), (m) => m.queryOperation)),
  export: lazy(store, (m) => m.exportOperation),
  import: lazy(store, (m) => m.importOperation),
  verify: lazy(store, (m) => m.verifyOperation),
  "verify-path": lazy(store, (m) => m.verifyPathOperation),
  "check-validity": lazy(store, (m) => m.checkValidityOperation),
  "dump-db": lazy(store, (m) => m.dumpDbOperation),
  "load-db": lazy(store, (m) => m.loadDbOperation),
  "register-validity": lazy(store, (m) => m.registerValidityOperation),
  "query-failed-paths": lazy(store, (m) => m.queryFailedPathsOperation),
  "clear-failed-paths": lazy(store, (m) => m.clearFailedPathsOperation),
  delete: lazy(gc, (m) => m.deleteOperation),
  gc: lazy(gc, (m) => m.gcOperation),
  "show-derivation": lazy(() => import("./ops/derivation.js"), (m) => m.showDerivationOperation),
  "path-info": lazy(() => import("./ops/pathInfo.js"), (m) => m.pathInfoOperation),
  "print-env": lazy(() => import("./ops/derivation.js"), (m) => m.printEnvOperation),
  realise: lazy(() => import("./ops/realise.js"), (m) => m.realiseOperation),
  derivation: lazy(() => import("./ops/derivation.js"), (m) => m.derivationOperation),
  demo: lazy(() => import("./ops/demo.js"), (m) => m.demoOperation),
  optimise: lazy(store, (m) => m.optimiseOperation),
  "read-log": lazy(() => import("./ops/readLog.js"), (m) => m.readLogOperation),
  copy: lazy(() => import("./ops/copy.js"), (m) => m.copyOperation),
  "generate-binary-cache-key": lazy(() => import("./ops/keys.js"), (m) => m.generateKeyOperation),
  store: lazy(() => import("./ops/keys.js"), (m) => m.storeOperation),
  // `tsnix serve --listen …` (the HTTP cache server); nix-store's `--serve` (the ssh protocol) is not there yet
  serve: lazy(() => import("./ops/serve.js"), (m) => m.serveOperation),
  daemon: lazy(() => import("./ops/daemon.js"), (m) => m.daemonOperation),
  // --repair-path, from the substituters
  "repair-path": lazy(() => import("./ops/repair.js"), (m) => m.repairPathOperation)
}
