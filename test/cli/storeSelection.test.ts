import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { selectStore } from "../../src/cli/storeSelection.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("store selection", () => {
  it.effect("--store ROOT is a chroot store with the logical /nix/store", () =>
    Effect.gen(function*() {
      const l = yield* selectStore("/tmp/r").pipe(withEnv({ TSNIX_STORE: "/elsewhere" }))
      expect(l.storeDir).toBe("/nix/store")
      expect(l.realStoreDir).toBe("/tmp/r/nix/store")
      expect(l.stateDir).toBe("/tmp/r/nix/var/nix")
      expect(l.dbDir).toBe("/tmp/r/nix/var/nix/db")
      expect((yield* selectStore("local?root=/tmp/q")).root).toBe("/tmp/q")
    }))

  it.effect("falls back to $TSNIX_STORE, then $XDG_DATA_HOME/tsnix/root; NIX_STORE_DIR sets the logical directory", () =>
    Effect.gen(function*() {
      expect((yield* selectStore(undefined).pipe(withEnv({ TSNIX_STORE: "/s" }))).root).toBe("/s")
      const x = yield* selectStore(undefined).pipe(withEnv({ XDG_DATA_HOME: "/xdg", NIX_STORE_DIR: "/my/store" }))
      expect(x.root).toBe("/xdg/tsnix/root")
      expect(x.storeDir).toBe("/my/store")
      expect(x.realStoreDir).toBe("/xdg/tsnix/root/my/store")
    }))

  it.effect("rejects store URIs it cannot open", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(selectStore("daemon"))
      expect(e.message).toContain("don't know how to open Nix store 'daemon'")
    }))
})
