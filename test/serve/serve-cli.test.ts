/** `tsnix serve`'s command line: its mistakes are usage errors; a taken port is a clear error. Runs the built bin/tsnix. */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { runTsnix } from "../cli/helpers.js"

describe("tsnix serve (CLI)", () => {
  it("refuses bad arguments", async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-serve-cli-"))
    const cases: Array<[Array<string>, string]> = [
      [[], "error: 'serve' needs '--listen HOST:PORT'"],
      [["--listen", "nowhere"], "error: '--listen' expects HOST:PORT, not 'nowhere'"],
      [["--listen", "127.0.0.1:70000"], "error: '--listen' expects HOST:PORT, not '127.0.0.1:70000'"],
      [
        ["--listen", "127.0.0.1:0", "--compression", "bzip2"],
        "error: '--compression' expects none, zstd or xz, not 'bzip2'"
      ],
      [["--listen", "127.0.0.1:0", "--priority", "high"], "error: '--priority' expects a number, not 'high'"],
      [["--listen", "127.0.0.1:0", "--secret-key", path.join(store, "missing")], "error: reading secret key"],
      [["--listen", "127.0.0.1:0", "extra"], "error: unexpected argument 'extra'"]
    ]
    for (const [args, message] of cases) {
      const r = await runTsnix(["--store", store, "serve", ...args])
      expect(r.status, args.join(" ")).toBe(1)
      expect(r.stderr, args.join(" ")).toContain(message)
    }
    fs.writeFileSync(path.join(store, "bad-key"), "not a key")
    const bad = await runTsnix([
      "--store",
      store,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--secret-key",
      path.join(store, "bad-key")
    ])
    expect(bad.stderr).toContain(`error: secret key '${path.join(store, "bad-key")}'`)
    // a port that is taken
    const taken = net.createServer()
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()))
    const port = (taken.address() as net.AddressInfo).port
    const r = await runTsnix(["--store", store, "serve", "--listen", `127.0.0.1:${port}`])
    taken.close()
    expect(r.status).toBe(1)
    expect(r.stderr).toBe(
      `error: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`
    )
    fs.rmSync(store, { recursive: true, force: true })
  }, 30_000)
})
