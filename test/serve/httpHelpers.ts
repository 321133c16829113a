/** Raw HTTP requests for the serve tests: the target is sent as given (no URL normalisation). */
import { Effect } from "effect"
import * as http from "node:http"

/** A response, read whole. */
export interface RawResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

/** Sends `method target` to `port` on 127.0.0.1 and reads the whole answer. */
export const rawRequest = (
  port: number,
  target: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly agent?: http.Agent } = {}
) =>
  Effect.async<RawResponse, Error>((resume) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: target,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: options.agent ?? false
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })))
        res.on("error", (e) =>
          resume(Effect.fail(e)))
      }
    )
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
  })
