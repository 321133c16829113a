import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as StoreFromUri from "../../src/stores/fromUri.js"
import { isDaemonUri, parseDaemonUri } from "../../src/stores/uri.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("daemon store URIs", () => {
  it.effect("daemon: NIX_DAEMON_SOCKET_PATH, else NIX_STATE_DIR/daemon-socket/socket, else /nix/var/nix", () =>
    Effect.gen(function*() {
      const a = yield* parseDaemonUri("daemon").pipe(withEnv({ NIX_DAEMON_SOCKET_PATH: "/run/s" }))
      expect(a.transport).toEqual({ _tag: "unix", socketPath: "/run/s" })
      const b = yield* parseDaemonUri("daemon").pipe(withEnv({ NIX_STATE_DIR: "/st" }))
      expect(b.transport).toEqual({ _tag: "unix", socketPath: "/st/daemon-socket/socket" })
      const c = yield* parseDaemonUri("daemon").pipe(withEnv({}))
      expect(c.transport).toEqual({ _tag: "unix", socketPath: "/nix/var/nix/daemon-socket/socket" })
      expect(c.maxConnections).toBe(1)
    }))

  it.effect("unix://PATH?root=R&max-connections=N: root is client side, in the layout", () =>
    Effect.gen(function*() {
      const spec = yield* StoreFromUri.resolve("unix:///tmp/d.sock?root=/tmp/r&max-connections=4").pipe(withEnv({}))
      expect(spec._tag).toBe("daemon")
      if (spec._tag !== "daemon") return
      expect(spec.daemon.uri).toBe("unix:///tmp/d.sock")
      expect(spec.daemon.maxConnections).toBe(4)
      expect(spec.layout.storeDir).toBe("/nix/store")
      expect(spec.layout.realStoreDir).toBe("/tmp/r/nix/store")
    }))

  it.effect("ssh-ng://HOST?remote-program=…&remote-store=…", () =>
    Effect.gen(function*() {
      const d = yield* parseDaemonUri("ssh-ng://localhost?remote-program=tsnix%20--store%20/x%20daemon&remote-store=/y")
      expect(d.transport).toEqual({
        _tag: "ssh",
        host: "localhost",
        remoteProgram: "tsnix --store /x daemon",
        remoteStore: "/y",
        sshKey: undefined,
        compress: false
      })
      expect(d.uri).toBe("ssh-ng://localhost")
    }))

  it.effect("bad parameters and hosts are typed errors", () =>
    Effect.gen(function*() {
      const e1 = yield* Effect.flip(parseDaemonUri("unix:///s?bogus=1"))
      expect(e1.message).toContain("unknown setting 'bogus'")
      const e2 = yield* Effect.flip(parseDaemonUri("unix:///s?max-connections=0"))
      expect(e2.message).toContain("max-connections")
      const e3 = yield* Effect.flip(parseDaemonUri("ssh-ng://-oProxyCommand=x"))
      expect(e3.message).toContain("invalid SSH host name")
      const e4 = yield* Effect.flip(parseDaemonUri("unix://relative/s"))
      expect(e4.message).toContain("not an absolute path")
      expect(isDaemonUri("local?root=/x")).toBe(false)
      expect(isDaemonUri("/tmp/root")).toBe(false)
    }))
})
