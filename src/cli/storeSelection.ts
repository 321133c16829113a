/**
 * Which store the CLI talks to.
 *
 * `--store ROOT` (or `local?root=ROOT`) selects a chroot store at ROOT, as
 * Nix's `--store /tmp/root` does. Without it: `$TSNIX_STORE`, else a per-user
 * default `$XDG_DATA_HOME/tsnix/root` (`~/.local/share/tsnix/root`). The
 * logical store directory is `/nix/store` unless `NIX_STORE_DIR` says otherwise.
 *
 * @since 0.1.0
 */
import { Config, type ConfigError, Effect, Option } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import { UsageError } from "./argv.js"
import { defaultStoreDir, makeStoreLayout, type StoreLayout } from "../schema/StoreLayout.js"

/** Parses a `--store` value into a chroot root directory. */
export const storeRootFromUri = (uri: string): Effect.Effect<string, UsageError> => {
  if (uri.startsWith("local?") || uri.startsWith("local://?")) {
    const params = new URLSearchParams(uri.slice(uri.indexOf("?") + 1))
    const root = params.get("root")
    return root ? Effect.succeed(root) : Effect.succeed("/")
  }
  if (uri === "local" || uri === "auto") return Effect.succeed("/")
  if (uri.startsWith("/") || uri.startsWith(".")) return Effect.succeed(uri)
  return Effect.fail(new UsageError({ message: `don't know how to open Nix store '${uri}' (tsnix supports local stores: a root directory or local?root=DIR)` }))
}

/** Resolves the store layout from `--store` and the environment. */
export const selectStore = (storeFlag: string | undefined): Effect.Effect<StoreLayout, UsageError | ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const storeDir = yield* Config.string("NIX_STORE_DIR").pipe(Config.withDefault(defaultStoreDir))
    if (storeFlag !== undefined) return makeStoreLayout(yield* storeRootFromUri(storeFlag), storeDir)
    const env = yield* Config.option(Config.string("TSNIX_STORE"))
    if (Option.isSome(env) && env.value !== "") return makeStoreLayout(yield* storeRootFromUri(env.value), storeDir)
    const xdg = yield* Config.option(Config.string("XDG_DATA_HOME"))
    const base = Option.isSome(xdg) && xdg.value !== "" ? xdg.value : path.join(os.homedir(), ".local/share")
    return makeStoreLayout(path.join(base, "tsnix/root"), storeDir)
  })
