/**
 * Store URIs and the store a program talks to (the CLI's `--store`, and
 * `layerConfig` for a library user: one resolution for both).
 *
 * `--store` takes Nix 2.8's local-store spellings: a path (`/tmp/root`,
 * `./root`: anything with a `/` and no `://`) is a chroot store at that root;
 * `local` (and `auto`) is the store at its own location; either may carry
 * Nix's parameters `?root=R&store=/x/store&state=S&real=D&log=L`, which mean
 * what they mean in Nix (see {@link localStoreLayout}). Without `--store`:
 * `$TSNIX_STORE` (same spellings), else a per-user default chroot store
 * `$XDG_DATA_HOME/tsnix/root` (`~/.local/share/tsnix/root`). The logical store
 * directory is `/nix/store` unless `NIX_STORE_DIR` (or `store=`) says
 * otherwise; without a root, `NIX_STATE_DIR` and `NIX_LOG_DIR` give the state
 * and log directories, as in Nix.
 *
 * @since 0.1.0
 */
import { Config, type ConfigError, Data, Effect, Option } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import {
  defaultLogDir,
  defaultStateDir,
  defaultStoreDir,
  localStoreLayout,
  type StoreLayout
} from "../core/storeLayout.js"
import type { DaemonStoreUri, DaemonTransport } from "./daemon/spec.js"

export type { DaemonStoreUri, DaemonTransport } from "./daemon/spec.js"

/** A store URI tsnix cannot open, or a bad parameter or directory in it (the CLI reports it as a usage error). */
export class InvalidStoreUriError extends Data.TaggedError("InvalidStoreUriError")<{ readonly message: string }> {}

/** The store parameters that choose directories (Nix's LocalFSStoreConfig and StoreConfig). */
const directoryParams = ["root", "store", "state", "real", "log"] as const

/**
 * Parameters Nix 2.8's local store knows that do not change where or how
 * tsnix reads and writes the store: accepted and ignored.
 */
const ignoredParams: ReadonlySet<string> = new Set([
  "path-info-cache-size",
  "trusted",
  "priority",
  "want-mass-query",
  "system-features",
  "require-sigs"
])

/** A parsed `--store` value: the directory parameters it sets. */
export interface StoreUri {
  readonly root?: string
  readonly store?: string
  readonly state?: string
  readonly real?: string
  readonly log?: string
}

/** Nix's percentDecode: `%XX` becomes the byte XX (`+` stays `+`). */
const percentDecode = (s: string): string | undefined => {
  const bytes: Array<number> = []
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "%") {
      const hex = s.slice(i + 1, i + 3)
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined
      bytes.push(parseInt(hex, 16))
      i += 2
    } else bytes.push(...Buffer.from(s[i]!, "utf8"))
  }
  return Buffer.from(bytes).toString("utf8")
}

/** Nix's decodeQuery: `k=v` pairs split on `&`; the first of a repeated key wins; a pair without `=` is dropped. */
const decodeQuery = (uri: string, query: string): Effect.Effect<Map<string, string>, InvalidStoreUriError> =>
  Effect.gen(function*() {
    const out = new Map<string, string>()
    for (const s of query.split("&")) {
      if (s === "") continue
      const e = s.indexOf("=")
      if (e < 0) continue
      const value = percentDecode(s.slice(e + 1))
      if (value === undefined) {
        return yield* new InvalidStoreUriError({ message: `invalid URI parameter '${s}' in store '${uri}'` })
      }
      const key = s.slice(0, e)
      if (!out.has(key)) out.set(key, value)
    }
    return out
  })

/** Nix's test for a store given as a path: no `://`, and at least one `/`. */
const isNonUriPath = (spec: string): boolean => !spec.includes("://") && spec.includes("/")

/**
 * Parses a `--store` value into its directory parameters. A parameter Nix's
 * local store does not know is an error naming it (Nix 2.8 only warns
 * "unknown setting"); a directory that is not absolute is Nix's
 * "not an absolute path" error.
 */
export const parseStoreUri = (uri: string): Effect.Effect<StoreUri, InvalidStoreUriError> =>
  Effect.gen(function*() {
    const q = uri.indexOf("?")
    const base = q < 0 ? uri : uri.slice(0, q)
    const params = q < 0 ? new Map<string, string>() : yield* decodeQuery(uri, uri.slice(q + 1))
    let root: string | undefined
    if (base === "" || base === "auto" || base === "local") root = undefined
    else if (isNonUriPath(base)) root = path.resolve(base)
    else {
      return yield* new InvalidStoreUriError({
        message:
          `don't know how to open Nix store '${uri}' (tsnix supports local stores: a root directory or local?root=DIR)`
      })
    }
    for (const key of params.keys()) {
      if (!(directoryParams as ReadonlyArray<string>).includes(key) && !ignoredParams.has(key)) {
        return yield* new InvalidStoreUriError({
          message: `unknown setting '${key}' in store '${uri}' (a local store takes ${directoryParams.join(", ")})`
        })
      }
    }
    const out: { -readonly [K in keyof StoreUri]: string } = {}
    for (const key of directoryParams) {
      const v = params.get(key)
      if (v === undefined) continue
      if (v === "" && key === "root") continue
      if (!v.startsWith("/")) return yield* new InvalidStoreUriError({ message: `not an absolute path: '${v}'` })
      out[key] = v
    }
    // A path spelling sets the root, over any root= parameter (Nix's params2["root"] = absPath(uri)).
    if (root !== undefined) out.root = root
    return out
  })

/** Parses a `--store` value into a chroot root directory (`""` for a store without one). */
export const storeRootFromUri = (uri: string): Effect.Effect<string, InvalidStoreUriError> =>
  Effect.map(parseStoreUri(uri), (u) => u.root ?? "")

/** Reads an absolute directory from the environment (Nix's canonPath: relative is an error). */
const envDir = (name: string): Effect.Effect<Option.Option<string>, InvalidStoreUriError | ConfigError.ConfigError> =>
  Effect.flatMap(
    Config.option(Config.string(name)),
    (o) =>
      Option.isSome(o) && o.value !== "" && !o.value.startsWith("/")
        ? Effect.fail(new InvalidStoreUriError({ message: `not an absolute path: '${o.value}' (${name})` }))
        : Effect.succeed(Option.filter(o, (v) => v !== ""))
  )

/** Resolves the store layout from `--store` and the environment. */
export const selectStore = (
  storeFlag: string | undefined
): Effect.Effect<StoreLayout, InvalidStoreUriError | ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const envStore = yield* envDir("NIX_STORE_DIR")
    const storeDir = Option.isSome(envStore)
      ? envStore.value
      : Option.getOrElse(yield* envDir("NIX_STORE"), () => defaultStoreDir)
    const stateDir = Option.getOrElse(yield* envDir("NIX_STATE_DIR"), () => defaultStateDir)
    const logDir = Option.getOrElse(yield* envDir("NIX_LOG_DIR"), () => defaultLogDir)
    const fromUri = (u: StoreUri): StoreLayout =>
      localStoreLayout({
        root: u.root,
        storeDir: u.store ?? storeDir,
        stateDir: u.state,
        realStoreDir: u.real,
        logDir: u.log,
        defaultStateDir: stateDir,
        defaultLogDir: logDir
      })
    if (storeFlag !== undefined) return fromUri(yield* parseStoreUri(storeFlag))
    const env = yield* Config.option(Config.string("TSNIX_STORE"))
    if (Option.isSome(env) && env.value !== "") return fromUri(yield* parseStoreUri(env.value))
    const xdg = yield* Config.option(Config.string("XDG_DATA_HOME"))
    const base = Option.isSome(xdg) && xdg.value !== "" ? xdg.value : path.join(os.homedir(), ".local/share")
    return fromUri({ root: path.join(base, "tsnix/root") })
  })

// ---------------------------------------------------------------------------------------------
// Daemon URIs (the worker-protocol client): `daemon`, `unix://PATH`, `ssh-ng://HOST`.

/** Store parameters of Nix's RemoteStoreConfig (and SSHStoreConfig for ssh-ng) that tsnix reads. */
const daemonParams: ReadonlySet<string> = new Set(["max-connections", "max-connection-age"])
const sshParams: ReadonlySet<string> = new Set([
  "remote-program",
  "remote-store",
  "ssh-key",
  "base64-ssh-public-host-key",
  "compress"
])

/** True when `uri` names a daemon store (`daemon`, `unix://…`, `ssh-ng://…`). */
export const isDaemonUri = (uri: string): boolean => {
  const base = uri.split("?")[0] ?? ""
  return base === "daemon" || base.startsWith("unix://") || base.startsWith("ssh-ng://")
}

/**
 * Parses a daemon store URI. The socket of `daemon` is `$NIX_DAEMON_SOCKET_PATH`,
 * else `$NIX_STATE_DIR/daemon-socket/socket` (default state directory
 * `/nix/var/nix`), as in Nix.
 */
export const parseDaemonUri = (
  uri: string
): Effect.Effect<DaemonStoreUri, InvalidStoreUriError | ConfigError.ConfigError> =>
  Effect.gen(function*() {
    const q = uri.indexOf("?")
    const base = q < 0 ? uri : uri.slice(0, q)
    const params = q < 0 ? new Map<string, string>() : yield* decodeQuery(uri, uri.slice(q + 1))
    const ssh = base.startsWith("ssh-ng://")
    for (const key of params.keys()) {
      const known = (directoryParams as ReadonlyArray<string>).includes(key) || ignoredParams.has(key) ||
        daemonParams.has(key) || (ssh && sshParams.has(key))
      if (!known) {
        return yield* new InvalidStoreUriError({ message: `unknown setting '${key}' in store '${uri}'` })
      }
    }
    const maxText = params.get("max-connections") ?? "1"
    if (!/^\d+$/.test(maxText) || Number(maxText) < 1) {
      return yield* new InvalidStoreUriError({ message: `invalid value '${maxText}' of 'max-connections' in '${uri}'` })
    }
    const directories = yield* parseStoreUri(
      `local?${
        [...params].filter(([k]) => (directoryParams as ReadonlyArray<string>).includes(k)).map(([k, v]) =>
          `${k}=${encodeURIComponent(v)}`
        ).join("&")
      }`
    )
    let transport: DaemonTransport
    let printed: string
    if (ssh) {
      const host = base.slice("ssh-ng://".length)
      if (host === "" || host.startsWith("-") || host.includes("/")) {
        return yield* new InvalidStoreUriError({ message: `invalid SSH host name '${host}'` })
      }
      transport = {
        _tag: "ssh",
        host,
        remoteProgram: params.get("remote-program") ?? "nix-daemon",
        remoteStore: params.get("remote-store"),
        sshKey: params.get("ssh-key"),
        compress: params.get("compress") === "true"
      }
      printed = `ssh-ng://${host}`
    } else if (base === "daemon") {
      const env = yield* Config.option(Config.string("NIX_DAEMON_SOCKET_PATH"))
      const stateDir = Option.getOrElse(yield* envDir("NIX_STATE_DIR"), () => "/nix/var/nix")
      const socketPath = Option.isSome(env) && env.value !== ""
        ? env.value
        : path.join(stateDir, "daemon-socket/socket")
      transport = { _tag: "unix", socketPath }
      printed = "daemon"
    } else {
      const socketPath = base.slice("unix://".length)
      if (!socketPath.startsWith("/")) {
        return yield* new InvalidStoreUriError({ message: `not an absolute path: '${socketPath}' (in '${uri}')` })
      }
      transport = { _tag: "unix", socketPath }
      printed = `unix://${socketPath}`
    }
    return { uri: printed, transport, maxConnections: Number(maxText), directories }
  })

/**
 * The client-side layout of a daemon store: the logical store directory of the
 * environment (or `store=`), and where `root=` says the files are readable here.
 */
export const daemonClientLayout = (
  d: DaemonStoreUri
): Effect.Effect<StoreLayout, InvalidStoreUriError | ConfigError.ConfigError> =>
  selectStore(
    `local?${Object.entries(d.directories).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join("&")}`
  )
