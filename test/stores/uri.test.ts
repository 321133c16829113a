import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { selectStore } from "../../src/stores/uri.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

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
      // Nix's layout: the files of a chroot store are in ROOT/nix/store whatever the logical directory.
      expect(x.realStoreDir).toBe("/xdg/tsnix/root/nix/store")
      expect(x.stateDir).toBe("/xdg/tsnix/root/nix/var/nix")
    }))

  it.effect("NIX_STORE_DIR with --store ROOT: files in ROOT/nix/store, as Nix 2.8 keeps them", () =>
    Effect.gen(function*() {
      const l = yield* selectStore("/tmp/r").pipe(withEnv({ NIX_STORE_DIR: "/x/store", NIX_STATE_DIR: "/ignored" }))
      expect(l).toEqual({
        root: "/tmp/r",
        storeDir: "/x/store",
        realStoreDir: "/tmp/r/nix/store",
        stateDir: "/tmp/r/nix/var/nix",
        dbDir: "/tmp/r/nix/var/nix/db",
        logDir: "/tmp/r/nix/var/log/nix"
      })
    }))

  it.effect("local?root=&store=&state=&real=&log= mean what they mean in Nix", () =>
    Effect.gen(function*() {
      const a = yield* selectStore("local?root=/r&store=/y/store").pipe(withEnv({ NIX_STORE_DIR: "/x/store" }))
      expect([a.root, a.storeDir, a.realStoreDir, a.stateDir, a.logDir]).toEqual([
        "/r",
        "/y/store",
        "/r/nix/store",
        "/r/nix/var/nix",
        "/r/nix/var/log/nix"
      ])
      // A path spelling with parameters (Nix: root = the path; state= given: nothing under ROOT/nix/var).
      const b = yield* selectStore("/r?store=/z/store&state=/st&log=/lg")
      expect([b.root, b.storeDir, b.realStoreDir, b.stateDir, b.dbDir, b.logDir]).toEqual([
        "/r",
        "/z/store",
        "/r/nix/store",
        "/st",
        "/st/db",
        "/lg"
      ])
      const c = yield* selectStore("local?root=/r&real=/elsewhere/store")
      expect(c.realStoreDir).toBe("/elsewhere/store")
      // Percent-decoded values, as Nix's decodeQuery.
      expect((yield* selectStore("local?root=/a%20b")).root).toBe("/a b")
    }))

  it.effect("without a root: the logical directory, NIX_STATE_DIR and NIX_LOG_DIR", () =>
    Effect.gen(function*() {
      const env = withEnv({ NIX_STORE_DIR: "/x/store", NIX_STATE_DIR: "/s/state", NIX_LOG_DIR: "/s/log" })
      for (const uri of ["local", "auto", "local?store=/x/store"]) {
        const l = yield* selectStore(uri).pipe(env)
        expect([l.root, l.storeDir, l.realStoreDir, l.stateDir, l.logDir]).toEqual([
          "",
          "/x/store",
          "/x/store",
          "/s/state",
          "/s/log"
        ])
      }
      const d = yield* selectStore("local")
      expect([d.realStoreDir, d.stateDir, d.logDir]).toEqual(["/nix/store", "/nix/var/nix", "/nix/var/log/nix"])
      const e = yield* selectStore("local?state=/st&real=/rs").pipe(env)
      expect([e.storeDir, e.realStoreDir, e.stateDir]).toEqual(["/x/store", "/rs", "/st"])
    }))

  it.effect("an unknown store parameter is an error naming it; relative directories are refused as Nix does", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(selectStore("local?root=/r&foo=1"))
      expect(e.message).toContain("unknown setting 'foo'")
      const f = yield* Effect.flip(selectStore("/r?sotre=/x/store"))
      expect(f.message).toContain("unknown setting 'sotre'")
      // Parameters Nix's local store knows and that do not concern tsnix are accepted.
      expect((yield* selectStore("local?root=/r&priority=10&trusted=1")).root).toBe("/r")
      const g = yield* Effect.flip(selectStore("local?root=/r&store=rel/x"))
      expect(g.message).toBe("not an absolute path: 'rel/x'")
      for (const uri of [".", "local://?root=/r", "unix:///tmp/s"]) {
        expect((yield* Effect.flip(selectStore(uri))).message).toContain(`don't know how to open Nix store '${uri}'`)
      }
    }))

  it.effect("rejects store URIs it cannot open", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(selectStore("daemon"))
      expect(e.message).toContain("don't know how to open Nix store 'daemon'")
    }))
})
