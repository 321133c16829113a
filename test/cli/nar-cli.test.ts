import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { execFileSync } from "node:child_process"
import { runTsnix, tsnixBin } from "./helpers.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cli-"))

// Golden values below come from Nix 2.8 (`nix-store --dump`, `nix-hash`) on the same tree.
const makeTree = (root: string) => {
  fs.mkdirSync(path.join(root, "sub"), { recursive: true })
  fs.writeFileSync(path.join(root, "a"), "hello\n")
  fs.chmodSync(path.join(root, "a"), 0o755)
  fs.symlinkSync("a", path.join(root, "l"))
}

describe("tsnix --dump / --restore / hash", () => {
  it("dumps, hashes and restores like nix-store and nix-hash", async () => {
    const dir = tmp()
    const tree = path.join(dir, "d")
    makeTree(tree)
    const dump = await runTsnix(["--dump", tree])
    expect(dump.status).toBe(0)
    const h = await runTsnix(["hash", tree])
    expect(h.stdout.toString()).toBe("63834b6289da339a1d69731a122d98a0d9d23f572a55552435d08ed41830bf81\n")
    expect((await runTsnix(["hash", "--type", "sha1", "--base32", tree])).stdout.toString()).toBe(
      "6y0fghz2qv230x9r2w8pa253wa1sk5c3\n"
    )
    expect((await runTsnix(["hash", "--flat", "--sri", path.join(tree, "a")])).stdout.toString())
      .toBe("sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=\n")
    const restored = path.join(dir, "r")
    const r = await runTsnix(["--restore", restored], { input: dump.stdout })
    expect(r.status).toBe(0)
    expect(fs.readlinkSync(path.join(restored, "l"))).toBe("a")
    expect(fs.statSync(path.join(restored, "a")).mode & 0o100).toBe(0o100)
    expect((await runTsnix(["--dump", restored])).stdout.equals(dump.stdout)).toBe(true)
  })

  it.skipIf(process.platform !== "linux")(
    "--dump into a pipe enlarges the pipe's buffer to 1 MiB and writes the same NAR",
    async () => {
      const dir = tmp()
      const tree = path.join(dir, "d")
      makeTree(tree)
      fs.writeFileSync(path.join(tree, "big"), Buffer.alloc(3 << 20, 7))
      const expected = (await runTsnix(["--dump", tree])).stdout
      // The reader reads everything, then asks the kernel for its pipe's size (F_GETPIPE_SZ = 1032).
      const reader =
        "import fcntl, hashlib, sys; d = sys.stdin.buffer.read(); print(len(d), hashlib.sha256(d).hexdigest(), fcntl.fcntl(0, 1032))"
      const out = execFileSync("bash", ["-c", `"$0" --dump "$1" | python3 -c "$2"`, tsnixBin, tree, reader], {
        encoding: "utf8"
      })
      const maxSize = Number(fs.readFileSync("/proc/sys/fs/pipe-max-size", "utf8"))
      const hash = (await import("node:crypto")).createHash("sha256").update(expected).digest("hex")
      expect(out.trim()).toBe(`${expected.length} ${hash} ${Math.min(1 << 20, maxSize)}`)
    }
  )

  it("sets the umask to 022 as every Nix command does: --restore under umask 077 gives Nix's modes", () => {
    const dir = tmp()
    const tree = path.join(dir, "d")
    makeTree(tree)
    const restored = path.join(dir, "r")
    execFileSync("bash", ["-c", `umask 077 && "$0" --dump "$1" | "$0" --restore "$2"`, tsnixBin, tree, restored])
    // nix-store --restore under umask 077 gives the same (checked by hand with Nix 2.8).
    expect(fs.statSync(restored).mode & 0o777).toBe(0o755)
    expect(fs.statSync(path.join(restored, "a")).mode & 0o777).toBe(0o755)
    expect(fs.statSync(path.join(restored, "sub")).mode & 0o777).toBe(0o755)
  })

  it("converts hashes between encodings", async () => {
    const r = await runTsnix([
      "hash",
      "--to-base32",
      "sha256:63834b6289da339a1d69731a122d98a0d9d23f572a55552435d08ed41830bf81"
    ])
    expect(r.stdout.toString()).toBe("10dz60cd93nh6lj5am9aawzx5nd0k0ni46kkd4frlcysi5i4p0v3\n")
    const back = await runTsnix([
      "hash",
      "--to-base16",
      "--type",
      "sha256",
      "10dz60cd93nh6lj5am9aawzx5nd0k0ni46kkd4frlcysi5i4p0v3"
    ])
    expect(back.stdout.toString()).toBe("63834b6289da339a1d69731a122d98a0d9d23f572a55552435d08ed41830bf81\n")
    const bad = await runTsnix(["hash", "--to-base32", "sha256:xyz"])
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/^error: /)
  })

  it("refuses an existing target and leaves nothing behind on a truncated NAR", async () => {
    const dir = tmp()
    const tree = path.join(dir, "d")
    makeTree(tree)
    const dump = (await runTsnix(["--dump", tree])).stdout
    const exists = await runTsnix(["--restore", tree], { input: dump })
    expect(exists.status).toBe(1)
    expect(exists.stderr.split("\n")[0]).toMatch(/^error: .*exists/)
    const target = path.join(dir, "t")
    const cut = await runTsnix(["--restore", target], { input: dump.subarray(0, 100) })
    expect(cut.status).toBe(1)
    expect(cut.stderr).toMatch(/^error: /)
    expect(cut.stderr).not.toMatch(/\n\s+at /)
    expect(fs.existsSync(target)).toBe(false)
  })

  it("prints one error line and exits 1 for bad usage; --help and --version work", async () => {
    const bad = await runTsnix(["--frobnicate"])
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/^error: unrecognised flag '--frobnicate'/)
    expect((await runTsnix(["--version"])).stdout.toString()).toMatch(/^tsnix .* \d+\.\d+\.\d+\n$/)
    expect((await runTsnix(["--help"])).stdout.toString()).toContain("--add")
    const missing = await runTsnix(["--dump", "/nonexistent/x"])
    expect(missing.status).toBe(1)
    expect(missing.stderr.trim().split("\n")).toHaveLength(1)
  })

  it("a large tree, whose walk moves to the dump worker, dumps to a slow reader and hashes as in-process", async () => {
    const dir = tmp()
    const tree = path.join(dir, "big-tree")
    fs.mkdirSync(path.join(tree, "small"), { recursive: true })
    for (let i = 0; i < 24; i++) {
      fs.writeFileSync(path.join(tree, `f${String(i).padStart(2, "0")}`), Buffer.alloc(1 << 20, i))
    }
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(tree, "small", `s${i}`), `${i}\n`)
    const { walkChunks } = await import("../../src/io/walk.js")
    const nar = Buffer.concat([...walkChunks(Buffer.from(tree))].map((c) => Buffer.from(c)))
    const { spawn } = await import("node:child_process")
    // A slow reader (a pause after every chunk): the dump lasts long enough for the worker to start.
    const child = spawn(process.execPath, [tsnixBin, "-v", "--dump", tree], { stdio: ["ignore", "pipe", "pipe"] })
    let err = ""
    child.stderr.on("data", (d) => (err += d))
    const parts: Array<Buffer> = []
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    const ended = new Promise<void>((resolve) => child.stdout.on("end", () => resolve()))
    child.stdout.on("data", (c: Buffer) => {
      parts.push(c)
      child.stdout.pause()
      setTimeout(() => child.stdout.resume(), 4)
    })
    await ended
    const status = await exited
    expect(status).toBe(0)
    expect(err).toContain("a worker thread continues the walk")
    expect(Buffer.concat(parts).equals(nar)).toBe(true)
    const { createHash } = await import("node:crypto")
    const h = await runTsnix(["hash", tree])
    expect(h.stdout.toString()).toBe(`${createHash("sha256").update(nar).digest("hex")}\n`)
  }, 60_000)

  it("into a file (> and >>) and into a shell pipe, the dump worker writes the NAR itself, byte for byte", async () => {
    const dir = tmp()
    const tree = path.join(dir, "big-tree")
    fs.mkdirSync(path.join(tree, "small"), { recursive: true })
    for (let i = 0; i < 24; i++) {
      fs.writeFileSync(path.join(tree, `f${String(i).padStart(2, "0")}`), Buffer.alloc(1 << 20, i))
    }
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(tree, "small", `s${i}`), `${i}\n`)
    const { walkChunks } = await import("../../src/io/walk.js")
    const nar = Buffer.concat([...walkChunks(Buffer.from(tree))].map((c) => Buffer.from(c)))
    const out = path.join(dir, "out.nar")
    const { spawnSync } = await import("node:child_process")
    /** Runs a shell command line; its standard error. */
    const sh = (cmd: string): string => {
      const r = spawnSync("sh", ["-c", cmd], {
        env: { ...process.env, NODE: process.execPath, TSNIX: tsnixBin, TREE: tree, OUT: out },
        stdio: ["ignore", "ignore", "pipe"]
      })
      expect(r.status).toBe(0)
      return r.stderr.toString()
    }
    // `>`: descriptor 1 is the file; `>>`: the second NAR goes after the first.
    sh(`"$NODE" "$TSNIX" --dump "$TREE" > "$OUT"`)
    expect(fs.readFileSync(out).equals(nar)).toBe(true)
    sh(`"$NODE" "$TSNIX" --dump "$TREE" >> "$OUT"`)
    expect(fs.readFileSync(out).equals(Buffer.concat([nar, nar]))).toBe(true)
    // A real pipe (not a socket) to a slow reader (so the walk outlasts the worker's start): reopened
    // blocking through /proc/self/fd/1; -v says the worker wrote the rest.
    const slowCat =
      `const fs = require("node:fs"); const b = Buffer.alloc(65536); const o = fs.openSync(process.env.OUT, "w");
      const step = () => { const k = fs.readSync(0, b); if (k === 0) return; fs.writeSync(o, b, 0, k); setTimeout(step, 2) }; step()`
    const err = sh(`set -e; "$NODE" "$TSNIX" -v --dump "$TREE" | "$NODE" -e '${slowCat}'`)
    expect(fs.readFileSync(out).equals(nar)).toBe(true)
    if (process.platform === "linux") expect(err).toContain("a worker thread writes the rest")
  }, 60_000)

  it("stops quietly when the reader closes the pipe", async () => {
    const dir = tmp()
    const big = path.join(dir, "big")
    fs.writeFileSync(big, Buffer.alloc(8 << 20, 1))
    const { spawn } = await import("node:child_process")
    const { tsnixBin } = await import("./helpers.js")
    const child = spawn(process.execPath, [tsnixBin, "--dump", big], { stdio: ["ignore", "pipe", "pipe"] })
    let err = ""
    child.stderr.on("data", (d) => (err += d))
    await new Promise<void>((resolve) =>
      child.stdout.once("data", () => {
        child.stdout.destroy()
        resolve()
      })
    )
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    expect(err).toBe("")
    expect(status).toBe(0)
  })
})
