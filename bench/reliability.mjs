#!/usr/bin/env node
// `npm run bench -- reliability [--writers N] [--seconds S] [--kills K] [--nix-adds A]`: the soak run of
// issue 17 (opt-in, not in CI). Three experiments on fresh stores under a temporary directory:
//   1. N writer processes add paths (each referring to the previous one, rooted right after its add)
//      while a `tsnix --gc` loop collects, for S seconds; then every rooted path must be valid with its
//      files (else "lost"), and every reference of a valid path valid (else "dangling").
//   2. K SIGKILLs per write operation (--add, --import, --gc, --delete) at a random moment; after each,
//      `tsnix --verify --check-contents` must exit 0 (else the store "fails verify").
//   3. A tsnix --add runs while `nix-store --gc` loops (needs nix-store; skipped without): the added paths
//      (rooted beforehand) must stay valid and unmodified per `nix-store --verify --check-contents`.
// Prints exactly:
//   "N writers + GC for S s: X added, Y lost, Z dangling, W BUSY"
//   "kills: N per operation, M stores failing verify"
//   "beside Nix's GC: N adds, M corrupt, K failed"
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const tsnixBin = path.join(here, "../bin/tsnix")
const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}
const writers = opt("writers", 4)
const seconds = opt("seconds", 20)
const kills = opt("kills", 5)
const nixAdds = opt("nix-adds", 24)
const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-soak-"))
const env = { ...process.env, NIX_CONFIG: "" }
const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ="
}

/** Runs a process to its end: {status, stdout, stderr}. */
const run = (cmd, args, options = {}) =>
  new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env: options.env ?? env, stdio: [options.input ? "pipe" : "ignore", "pipe", "pipe"] })
    const out = []
    const err = []
    c.stdout.on("data", (d) => out.push(d))
    c.stderr.on("data", (d) => err.push(d))
    c.on("error", reject)
    if (options.input) {
      c.stdin.on("error", () => undefined)
      c.stdin.end(options.input)
    }
    if (options.killAfter !== undefined) setTimeout(() => c.kill("SIGKILL"), options.killAfter)
    c.on("close", (status, signal) =>
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }))
  })
const ts = (root, args, options) =>
  run(process.execPath, [tsnixBin, "--store", root, "--option", "gc-runtime-roots", "false", ...args], options)

/** The valid paths and their references, from `--dump-db`. */
const dumpDb = async (root) => {
  const r = await ts(root, ["--dump-db"])
  const lines = r.stdout.toString().split("\n")
  const refs = new Map()
  for (let i = 0; i + 4 < lines.length;) {
    const p = lines[i]
    const n = Number(lines[i + 4])
    refs.set(p, lines.slice(i + 5, i + 5 + n))
    i += 5 + n
  }
  return refs
}

const makeTree = (dir, files, size) => {
  fs.mkdirSync(dir, { recursive: true })
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, `f${i}`), randomBytes(size))
}

try {
  // 1. Writers against a looping collector.
  {
    const root = path.join(work, "w")
    await ts(root, ["--gc"])
    const until = Date.now() + seconds * 1000
    const gcLoop = (async () => {
      while (Date.now() < until) await ts(root, ["--gc"])
    })()
    const results = await Promise.all(
      Array.from(
        { length: writers },
        (_, i) =>
          run(process.execPath, [path.join(here, "_reliability-writer.mjs"), root, `w${i}`, String(seconds * 1000)])
      )
    )
    await gcLoop
    const counts = results.map((r) => {
      try {
        return JSON.parse(r.stdout.toString().trim().split("\n").pop())
      } catch {
        return { added: 0, busy: 0, errors: 1 }
      }
    })
    const added = counts.reduce((n, c) => n + c.added, 0)
    const busy = counts.reduce((n, c) => n + c.busy, 0)
    const valid = await dumpDb(root)
    const gcroots = path.join(root, "nix/var/nix/gcroots")
    let lost = 0
    for (const n of fs.readdirSync(gcroots)) {
      if (!/^w\d+-\d+$/.test(n)) continue
      const target = fs.readlinkSync(path.join(gcroots, n))
      if (!valid.has(target) || !fs.existsSync(path.join(root, target))) lost++
    }
    let dangling = 0
    for (const refs of valid.values()) for (const r of refs) if (!valid.has(r)) dangling++
    console.log(
      `${writers} writers + GC for ${seconds} s: ${added} added, ${lost} lost, ${dangling} dangling, ${busy} BUSY`
    )
  }

  // 2. SIGKILL during each write operation, then verify.
  {
    const src = path.join(work, "k-src")
    const srcStore = path.join(work, "k-srcstore")
    const small = []
    for (let i = 0; i < 300; i++) {
      const f = path.join(work, `k-small-${i}`)
      fs.writeFileSync(f, `small ${i}\n`.repeat(1 + (i % 50)))
      small.push(f)
    }
    const added = (await ts(srcStore, ["--add", ...small])).stdout.toString().trim().split("\n")
    const exported = (await ts(srcStore, ["--export", ...added])).stdout
    let failing = 0
    const ops = ["add", "import", "gc", "delete"]
    for (const op of ops) {
      const root = path.join(work, `k-${op}`)
      for (let k = 0; k < kills; k++) {
        if (op === "gc" || op === "delete") await ts(root, ["--import"], { input: exported })
        const args = op === "add"
          ? (() => {
            const tree = path.join(src, `t${k}`)
            makeTree(tree, 1500, 1024)
            return ["--add", tree]
          })()
          : op === "import"
          ? ["--import"]
          : op === "gc"
          ? ["--gc"]
          : ["--delete", ...added]
        await ts(root, args, {
          input: op === "import" ? exported : undefined,
          killAfter: 30 + Math.floor(Math.random() * 400)
        })
        const v = await ts(root, ["--verify", "--check-contents"])
        if (v.status !== 0) failing++
      }
    }
    console.log(`kills: ${kills} per operation, ${failing} stores failing verify`)
  }

  // 3. tsnix --add beside Nix 2.8's collector.
  if (spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status !== 0) {
    console.log(`beside Nix's GC: skipped (no nix-store)`)
  } else {
    const root = path.join(work, "n")
    const scratch = path.join(work, "n-scratch")
    const srcs = Array.from({ length: nixAdds }, (_, i) => {
      const d = path.join(work, `n-src-${i}`)
      makeTree(d, 3, 100 + i)
      return d
    })
    const expected = (await ts(scratch, ["--add", ...srcs])).stdout.toString().trim().split("\n")
    const gcroots = path.join(root, "nix/var/nix/gcroots")
    fs.mkdirSync(gcroots, { recursive: true })
    expected.forEach((p, i) => fs.symlinkSync(p, path.join(gcroots, `expected-${i}`)))
    await run("nix-store", ["--store", root, "--init"], { env: nixEnv })
    let done = false
    const gcLoop = (async () => {
      while (!done) await run("nix-store", ["--store", root, "--gc"], { env: nixEnv })
    })()
    let failed = 0
    try {
      for (const s of srcs) if ((await ts(root, ["--add", s])).status !== 0) failed++
    } finally {
      done = true
      await gcLoop
    }
    const v = await run("nix-store", ["--store", root, "--verify", "--check-contents"], { env: nixEnv })
    const invalid = await run("nix-store", ["--store", root, "--check-validity", "--print-invalid", ...expected], {
      env: nixEnv
    })
    const modified = (v.stderr.match(/was modified/g) ?? []).length
    const notValid = invalid.stdout.toString().split("\n").filter((l) => l !== "").length
    console.log(`beside Nix's GC: ${nixAdds} adds, ${modified + notValid} corrupt, ${failed} failed`)
  }
} finally {
  spawnSync("chmod", ["-R", "u+w", work])
  fs.rmSync(work, { recursive: true, force: true })
}
