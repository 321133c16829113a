/**
 * `tsnix daemon` as a command: `--stdio` (one connection on stdin/stdout) and
 * `--socket PATH` / NIX_DAEMON_SOCKET_PATH (mode 0666), spoken to with the
 * protocol codecs.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { encodePadded, encodeU64, u64 } from "../../src/core/wire/index.js"
import * as W from "../../src/core/wire/worker/index.js"
import { Client } from "../daemon/helpers.js"
import { runTsnix, tsnixBin } from "./helpers.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-daemon-cli-"))

describe("tsnix daemon", () => {
  it("refuses --stdio with --socket, and arguments", async () => {
    const d = tmp()
    const a = await runTsnix(["--store", path.join(d, "s"), "daemon", "--stdio", "--socket", path.join(d, "x")])
    expect(a.status).toBe(1)
    expect(a.stderr).toContain("'--stdio' and '--socket' cannot be used together")
    const b = await runTsnix(["--store", path.join(d, "s"), "daemon", "extra"])
    expect(b.status).toBe(1)
    fs.rmSync(d, { recursive: true, force: true })
  })

  it("serves one connection on stdin/stdout with --stdio", async () => {
    const d = tmp()
    const child = spawn(tsnixBin, ["--store", path.join(d, "s"), "daemon", "--stdio"], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const chunks: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => chunks.push(b))
    child.stdin.write(W.encodeClientMagic())
    child.stdin.write(W.encodeClientHello({ version: W.PROTOCOL_VERSION }, W.PROTOCOL_VERSION))
    child.stdin.write(encodeU64(W.Op.IsValidPath))
    child.stdin.write(encodePadded("/nix/store/00000000000000000000000000000000-x"))
    const expected = Buffer.concat([
      W.encodeServerHello(),
      W.encodeDaemonNixVersion(W.PROTOCOL_VERSION, "2.8.0"),
      W.STDERR_LAST,
      W.STDERR_LAST,
      encodeU64(0)
    ])
    for (let i = 0; i < 200 && Buffer.concat(chunks).length < expected.length; i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    child.stdin.end()
    const code = await new Promise<number | null>((r) => child.on("exit", r))
    expect(Buffer.concat(chunks).toString("hex")).toBe(expected.toString("hex"))
    expect(code).toBe(0)
    fs.rmSync(d, { recursive: true, force: true })
  }, 30000)

  it("listens on NIX_DAEMON_SOCKET_PATH (mode 0666) and on --socket", async () => {
    const d = tmp()
    for (const how of ["env", "flag"] as const) {
      const sock = path.join(d, how, "daemon-socket", "socket")
      const args = ["--store", path.join(d, "s"), "daemon", ...(how === "flag" ? ["--socket", sock] : [])]
      const child = spawn(tsnixBin, args, {
        stdio: "ignore",
        env: { ...process.env, ...(how === "env" ? { NIX_DAEMON_SOCKET_PATH: sock } : {}) }
      })
      for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50))
      await new Promise((r) => setTimeout(r, 100))
      expect(fs.statSync(sock).mode & 0o777).toBe(0o666)
      const c = await Client.connect(sock)
      expect((await c.op(W.Op.IsValidPath, encodePadded("/nix/store/00000000000000000000000000000000-x"))).error)
        .toBeUndefined()
      expect(await c.raw.read(u64)).toBe(0n)
      c.close()
      child.kill("SIGTERM")
      await new Promise((r) => child.on("exit", r))
    }
    fs.rmSync(d, { recursive: true, force: true })
  }, 30000)
})
