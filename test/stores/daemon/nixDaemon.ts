/**
 * Test helpers: Nix 2.8's own nix-daemon on a fresh chroot store, and a
 * daemon-store layer talking to it (skipped without nix-daemon).
 */
import { Effect, Layer } from "effect"
import * as childProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { removeTree } from "../../../src/stores/local/ops/removeTree.js"

/** True when Nix 2.8's daemon is installed. */
export const haveNixDaemon = (() => {
  try {
    childProcess.execFileSync("nix-daemon", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

/** The NIX_CONFIG the goldens use (no sandbox, no build users, no substituters). */
export const nixConfig =
  "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="

/** A running nix-daemon: its chroot store root and socket. */
export interface NixDaemon {
  readonly root: string
  readonly socket: string
  readonly dir: string
}

const waitFor = (check: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      if (check()) return
      // A real timer: it.effect runs under the TestClock.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 25)))
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** Starts `nix-daemon --store ROOT` on a socket in a fresh directory, stopped and removed with the scope. */
export const nixDaemon = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-nixd-"))),
    (d) => Effect.ignore(removeTree(d))
  )
  const root = path.join(dir, "root")
  const socket = path.join(dir, "daemon.sock")
  yield* Effect.acquireRelease(
    Effect.sync(() =>
      childProcess.spawn("nix-daemon", ["--store", root], {
        env: { ...process.env, NIX_CONFIG: nixConfig, NIX_DAEMON_SOCKET_PATH: socket },
        stdio: ["ignore", "ignore", "ignore"]
      })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )
  yield* waitFor(() => fs.existsSync(socket), "the nix-daemon socket")
  return { root, socket, dir } satisfies NixDaemon
})

/** A fresh nix-daemon and `layerOf(daemon)` over it, per build of the layer. */
export const withNixDaemon = <A, E, R>(layerOf: (d: NixDaemon) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(Effect.map(nixDaemon, layerOf))

/** The built `bin/tsnix`. */
export const tsnixBin = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../../bin/tsnix")

/** Starts `tsnix --store ROOT daemon --socket SOCKET` (a real process), stopped and removed with the scope. */
export const tsnixDaemon = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-tsd-"))),
    (d) => Effect.ignore(removeTree(d))
  )
  const root = path.join(dir, "root")
  const socket = path.join(dir, "daemon.sock")
  yield* Effect.acquireRelease(
    Effect.sync(() =>
      childProcess.spawn(process.execPath, [tsnixBin, "--store", root, "daemon", "--socket", socket], {
        // Every client trusted: these tests are about the client, not the daemon's trust decisions
        // (which need the peer's uid: SO_PEERCRED through koffi's native module).
        env: { ...process.env, NIX_CONFIG: "fsync-metadata = false\ntrusted-users = *" },
        stdio: ["ignore", "ignore", "inherit"]
      })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )
  yield* waitFor(() => fs.existsSync(socket), "the tsnix daemon socket")
  return { root, socket, dir } satisfies NixDaemon
})

/** A fresh tsnix daemon and `layerOf(daemon)` over it, per build of the layer. */
export const withTsnixDaemon = <A, E, R>(layerOf: (d: NixDaemon) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(Effect.map(tsnixDaemon, layerOf))
