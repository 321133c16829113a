/**
 * `tsnix [--store STORE] daemon [--socket PATH | --stdio]`: serves the store
 * over the worker protocol (see `src/daemon/`). The socket is `--socket`,
 * else `$NIX_DAEMON_SOCKET_PATH`, else `STATE/daemon-socket/socket`; with
 * systemd socket activation (LISTEN_FDS=1 for this pid) the inherited socket
 * is used. `--stdio` serves one trusted connection on stdin/stdout (what an
 * `ssh-ng://` remote program runs).
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as path from "node:path"
import { type ConfAssignment, parseNixConf } from "../../config/nixConf.js"
import { serveSocket, serveStdio, socketActivation } from "../../daemon/server.js"
import { daemonSettings } from "../../daemon/settings.js"
import { UsageError } from "../argv.js"
import { Cli } from "../context.js"
import type { Operation } from "../operation.js"
import * as BuilderLive from "../../builder/layer.js"
import { DaemonBuildEnv } from "../../daemon/buildEnv.js"
import { Builder, type BuildOptions } from "../../services/Builder.js"
import { cliBuildOptions } from "../buildOptions.js"
import { Derivations, withDerivations } from "../derivationArg.js"
import { withLocalStoreOnly, withStore } from "../storeLayers.js"
import { trustedKeys } from "./copy.js"

const assignments = (options: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function*() {
    const out: Array<ConfAssignment> = []
    const envConf = process.env["NIX_CONFIG"]
    if (envConf !== undefined) out.push(...(yield* parseNixConf(envConf, "NIX_CONFIG")))
    for (const [name, value] of options) {
      const append = name.startsWith("extra-")
      out.push({ name: append ? name.slice(6) : name, value, append, line: 0 })
    }
    return out
  })

/** `daemon [--socket PATH | --stdio]`. */
export const daemonOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  if (parsed.args.length > 0) return yield* new UsageError({ message: "'daemon' takes no arguments" })
  const socket = parsed.values.get("socket")
  const stdio = parsed.flags.has("stdio")
  if (stdio && socket !== undefined) {
    return yield* new UsageError({ message: "'--stdio' and '--socket' cannot be used together" })
  }
  const daemon = daemonSettings(yield* assignments(parsed.options))
  const serve = stdio
    ? serveStdio(daemon)
    : serveSocket(
      Option.match(socketActivation(), {
        onSome: (fd) => ({ _tag: "Fd" as const, fd }),
        onNone: () => ({
          _tag: "Path" as const,
          path: socket ?? process.env["NIX_DAEMON_SOCKET_PATH"] ?? path.join(layout.stateDir, "daemon-socket", "socket")
        })
      }),
      daemon
    )
  // The build ops' environment: the daemon's build and substitution settings, and for a local
  // store its Builder and Derivations (src/daemon/buildOps.ts).
  const { settings } = yield* Cli
  const buildOptions: BuildOptions = {
    ...(yield* cliBuildOptions),
    onLog: undefined,
    onInfo: undefined,
    onError: undefined
  }
  const substitute = {
    substituters: settings.substituters,
    substitute: settings.substitute,
    requireSigs: settings.requireSigs,
    publicKeys: yield* trustedKeys(settings)
  }
  const cli = yield* Cli
  if (cli.store?._tag === "daemon") {
    // withStore provides the store's collector (configured from the settings).
    yield* withStore(
      Effect.provideService(serve, DaemonBuildEnv, {
        builder: undefined,
        derivations: undefined,
        buildOptions,
        substitute
      })
    )
    return
  }
  yield* withLocalStoreOnly("daemon")(withDerivations(
    Effect.gen(function*() {
      const builder = yield* Builder
      const derivations = yield* Derivations
      return yield* Effect.provideService(serve, DaemonBuildEnv, { builder, derivations, buildOptions, substitute })
    }).pipe(Effect.provide(BuilderLive.layer))
  ))
})
