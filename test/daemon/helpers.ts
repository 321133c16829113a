/** Shared helpers of the daemon tests: an in-process daemon on a temp store, and a client made of the protocol codecs. */
import { Deferred, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { makeStoreLayout, type StoreLayout } from "../../src/core/storeLayout.js"
import { type Decoder, encodeU64, isNeedInput, WireReader } from "../../src/core/wire/index.js"
import * as W from "../../src/core/wire/worker/index.js"
import { serveSocket } from "../../src/daemon/server.js"
import { daemonSettings } from "../../src/daemon/settings.js"
import * as GcLive from "../../src/stores/local/gc/layer.js"
import * as StoreLive from "../../src/stores/local/layer.js"
import { removeTree } from "../../src/stores/local/ops/removeTree.js"

/** A temporary directory removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-daemon-test-"))),
  (dir) => Effect.ignore(removeTree(dir))
)

/** The store and collector layers of a temp store. */
export const storeLayers = (layout: StoreLayout) =>
  GcLive.layer({ gcRuntimeRoots: false, keepDerivations: true, keepOutputs: false }).pipe(
    Layer.provideMerge(StoreLive.layer({ layout, fsyncMetadata: false }))
  )

/** Starts a daemon on a fresh temp store (settings as nix.conf text); returns its socket and layout. */
export const startDaemon = (conf = "") =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const layout = makeStoreLayout(path.join(dir, "root"))
    const socket = path.join(dir, "daemon.sock")
    const settings = daemonSettings(
      conf.split("\n").filter((l) => l.includes("=")).map((l, i) => {
        const [name, ...rest] = l.split("=")
        return { name: (name as string).trim(), value: rest.join("=").trim(), append: false, line: i + 1 }
      })
    )
    const ready = yield* Deferred.make<void>()
    yield* Effect.forkScoped(
      serveSocket({ _tag: "Path", path: socket }, settings, () => Deferred.unsafeDone(ready, Effect.void)).pipe(
        Effect.provide(storeLayers(layout))
      )
    )
    yield* Deferred.await(ready)
    return { socket, layout, dir }
  })

/** A raw client connection: write bytes, read decoded values (or everything until EOF). */
export class RawClient {
  readonly reader = new WireReader()
  private waiters: Array<() => void> = []
  ended = false
  received = 0
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (b: Buffer) => {
      this.received += b.length
      this.reader.feed(new Uint8Array(b))
      this.wake()
    })
    socket.on("end", () => {
      this.ended = true
      this.reader.end()
      this.wake()
    })
    socket.on("error", () => {
      this.ended = true
      this.reader.end()
      this.wake()
    })
  }
  private wake() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
  /** Connects to `socketPath`. */
  static connect(socketPath: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(socketPath, () => resolve(new RawClient(s)))
      s.once("error", reject)
    })
  }
  /** Sends bytes. */
  write(...parts: ReadonlyArray<Uint8Array>): void {
    for (const p of parts) this.socket.write(p)
  }
  /** Reads one value (rejects on a decoding error or EOF). */
  async read<A>(decoder: Decoder<A>, timeoutMs = 10000): Promise<A> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const r = this.reader.read(decoder, W.isWorkerValueError)
      if (!isNeedInput(r)) {
        if (r instanceof Error) throw r
        return r as A
      }
      if (Date.now() > deadline) throw new Error("timeout waiting for the daemon")
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
  }
  /** Waits until the daemon closes the connection (true) or `timeoutMs` passes (false). */
  async waitEnd(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
    return this.ended
  }
  /** Waits until at least `n` bytes arrived in total. */
  async waitReceived(n: number, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.received < n && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
  }
  /** Everything buffered and not decoded yet. */
  rest(): Uint8Array {
    return Buffer.concat(this.reader.takeRemainder())
  }
  close(): void {
    this.socket.destroy()
  }
}

/** A protocol client: the handshake of a Nix 2.8 client, and ops with their STDERR messages. */
export class Client {
  private constructor(readonly raw: RawClient, readonly daemonVersion: number) {}
  /** Connects and shakes hands as a client of `version` (default 1.34); SetOptions is not sent. */
  static async connect(socketPath: string, version = W.PROTOCOL_VERSION): Promise<Client> {
    const raw = await RawClient.connect(socketPath)
    raw.write(W.encodeClientMagic())
    const daemonVersion = await raw.read(W.serverHello)
    raw.write(W.encodeClientHello({ version }, Math.min(version, daemonVersion)))
    await raw.read(W.daemonNixVersion(Math.min(version, daemonVersion)))
    const c = new Client(raw, Math.min(version, daemonVersion))
    const first = await c.messages()
    if (first.error !== undefined) throw new Error(first.error)
    return c
  }
  /** Reads STDERR messages up to LAST (error undefined) or ERROR (its message). */
  async messages(): Promise<{ readonly log: Array<W.StderrMessage>; readonly error: string | undefined }> {
    const log: Array<W.StderrMessage> = []
    for (;;) {
      const m = await this.raw.read(W.stderrMessage(this.daemonVersion))
      if (m._tag === "Last") return { log, error: undefined }
      if (m._tag === "Error") return { log, error: m.message }
      log.push(m)
    }
  }
  /** Sends an op with its argument bytes and reads its messages. */
  async op(code: number, ...args: ReadonlyArray<Uint8Array>) {
    this.raw.write(encodeU64(code), ...args)
    return this.messages()
  }
  close(): void {
    this.raw.close()
  }
}
