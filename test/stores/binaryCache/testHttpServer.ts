/** A programmable HTTP server on loopback for the http cache tests (a scoped resource). */
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** A request the server saw. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
  /** Which connection it came on (1, 2, …). */
  readonly socket: number
}

/** A running test server. */
export interface TestServer {
  readonly port: number
  readonly base: string
  readonly seen: Array<Seen>
  /** Peak number of requests being answered at once. */
  readonly peak: () => number
}

/** Starts a server answering with `handler` (after reading the request body); closed with the scope. */
export const testServer = (
  handler: (req: Seen, res: http.ServerResponse) => void | Promise<void>
): Effect.Effect<TestServer, never, import("effect").Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; state: TestServer }>((resume) => {
      const seen: Array<Seen> = []
      const sockets = new WeakMap<object, number>()
      let nextSocket = 1
      let active = 0
      let peak = 0
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          let id = sockets.get(req.socket)
          if (id === undefined) sockets.set(req.socket, id = nextSocket++)
          const s: Seen = {
            method: req.method ?? "",
            url: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks),
            socket: id
          }
          seen.push(s)
          active++
          peak = Math.max(peak, active)
          res.on("close", () => void active--)
          void handler(s, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ server, state: { port, base: `http://127.0.0.1:${port}`, seen, peak: () => peak } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))
