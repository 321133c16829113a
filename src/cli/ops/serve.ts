/**
 * `tsnix [--store STORE] serve --listen HOST:PORT [--secret-key FILE]
 * [--priority N] [--compression none|zstd|xz]`: serves the store as an HTTP
 * binary cache until interrupted (see `serve/server.ts`). Prints
 * `listening on http://HOST:PORT` on stderr once the socket is bound (the
 * real port when `:0` was asked).
 *
 * @since 0.1.0
 */
import * as HttpServer from "@effect/platform/HttpServer"
import { Data, Effect, Layer } from "effect"
import * as fs from "node:fs"
import { parseSecretKey } from "../../core/cache/signing.js"
import { layer as serveLayer, parseListen } from "../../serve/server.js"
import type { NarCompression } from "../../serve/routes.js"
import { UsageError } from "../argv.js"
import { Cli } from "../context.js"
import type { Operation } from "../operation.js"
import { storeLayerFor } from "../storeLayers.js"

/** The server could not start (the address is taken, not local, …). */
export class ServeFailure extends Data.TaggedError("ServeFailure")<{ readonly message: string }> {}

const causeText = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause ? String(cause.message) : String(cause)

const readSecretKey = (file: string) =>
  Effect.tryPromise({
    try: () => fs.promises.readFile(file, "utf8"),
    catch: (e) => new ServeFailure({ message: `reading secret key '${file}': ${causeText(e)}` })
  }).pipe(
    Effect.flatMap((text) => parseSecretKey(text.trim())),
    Effect.mapError((
      e
    ) => (e._tag === "ServeFailure" ? e : new ServeFailure({ message: `secret key '${file}': ${e.message}` })))
  )

const compressions: Readonly<Record<string, NarCompression>> = { none: "none", xz: "xz", zstd: "zstd", zst: "zstd" }

/** Runs the cache server for the invocation's store. */
export const serveOperation: Operation = Effect.gen(function*() {
  const { parsed } = yield* Cli
  const listen = parsed.values.get("listen")
  if (listen === undefined) {
    return yield* new UsageError({
      message: "'serve' needs '--listen HOST:PORT' (nix-store's --serve protocol is not supported by tsnix yet)"
    })
  }
  if (parsed.args.length > 0) return yield* new UsageError({ message: `unexpected argument '${parsed.args[0]}'` })
  const address = parseListen(listen)
  if (address === undefined) return yield* new UsageError({ message: `'--listen' expects HOST:PORT, not '${listen}'` })
  const priorityText = parsed.values.get("priority") ?? "30"
  if (!/^[0-9]+$/.test(priorityText)) {
    return yield* new UsageError({ message: `'--priority' expects a number, not '${priorityText}'` })
  }
  const compressionText = parsed.values.get("compression") ?? "none"
  const compression = compressions[compressionText]
  if (compression === undefined) {
    return yield* new UsageError({ message: `'--compression' expects none, zstd or xz, not '${compressionText}'` })
  }
  const keyFile = parsed.values.get("secret-key")
  const secretKeys = keyFile === undefined ? [] : [yield* readSecretKey(keyFile)]
  const storeLayer = yield* storeLayerFor
  const server = serveLayer(address, { priority: Number(priorityText), compression, secretKeys })
  yield* Effect.gen(function*() {
    const bound = (yield* HttpServer.HttpServer).address
    const where = bound._tag === "TcpAddress"
      ? `${bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname}:${bound.port}`
      : bound.path
    process.stderr.write(`listening on http://${where}\n`)
    return yield* Effect.never
  }).pipe(
    Effect.provide(server.pipe(Layer.provide(storeLayer))),
    Effect.mapError((e) =>
      e._tag === "ServeError"
        ? new ServeFailure({ message: `cannot listen on ${listen}: ${causeText(e.cause)}` })
        : e
    )
  )
})
