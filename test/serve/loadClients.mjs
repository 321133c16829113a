// Load generator for the serve event-loop test, run as a child process so that the clients' own work
// (parsing responses, counting bytes) does not run on the server's event loop.
// argv: PORT JSON, where JSON is { clients, targets: [url…] }: each client fetches every target, one
// after another on its own kept-alive connection, reading every body to its end. Prints "ready" once
// started, waits for a line on stdin, runs, then prints { ok, failures, bytes, ms } as JSON.
import * as http from "node:http"

const port = Number(process.argv[2])
const spec = JSON.parse(process.argv[3])
const get = (agent, target) =>
  new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: target, agent }, (res) => {
      let n = 0
      res.on("data", (d) => void (n += d.length))
      res.on("end", () => resolve({ status: res.statusCode, bytes: n }))
      res.on("error", () => resolve({ status: 0, bytes: n }))
    })
    req.on("error", () => resolve({ status: 0, bytes: 0 }))
  })
process.stdout.write("ready\n")
await new Promise((resolve) => process.stdin.once("data", resolve))
const t0 = Date.now()
let ok = 0
let failures = 0
let bytes = 0
await Promise.all(Array.from({ length: spec.clients }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  for (const target of spec.targets) {
    const r = await get(agent, target)
    if (r.status === 200) ok++
    else failures++
    bytes += r.bytes
  }
  agent.destroy()
}))
process.stdout.write(JSON.stringify({ ok, failures, bytes, ms: Date.now() - t0 }) + "\n")
process.exit(0)
