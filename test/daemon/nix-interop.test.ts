/**
 * Nix 2.8's own clients (nix-store, nix, nix-instantiate) against tsnix's
 * daemon, in-process on a temp store, driven with `unix://SOCK?root=ROOT`.
 * The answers expected are what the same commands print against Nix 2.8's
 * nix-daemon (checked side by side when this was written; the byte-level
 * comparison is golden-replay.test.ts). Needs nix-bin: SKIPPED without it (CI).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { startDaemon } from "./helpers.js"

const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const isRoot = process.getuid?.() === 0
const NIX_CONFIG =
  "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="

interface Run {
  readonly out: string
  readonly err: string
  readonly rc: number
}

/** Runs a command without blocking the event loop (the daemon runs in this process). */
const run = (cmd: string, args: ReadonlyArray<string>, options: { input?: Buffer; cwd?: string; uid?: number } = {}) =>
  Effect.promise(() =>
    new Promise<Run>((resolve) => {
      const child = execFile(cmd, args, {
        env: {
          ...process.env,
          NIX_CONFIG,
          ...(options.uid === undefined ? {} : { HOME: options.cwd ?? "/tmp", USER: "nobody" })
        },
        cwd: options.cwd,
        maxBuffer: 1 << 26,
        encoding: "buffer",
        timeout: 30000,
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid })
      }, (error, stdout, stderr) => {
        const rc = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ out: stdout.toString(), err: stderr.toString(), rc })
      })
      if (options.input !== undefined) child.stdin?.end(options.input)
      else child.stdin?.end()
    })
  )

const HELLO = "/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt"

describe("Nix 2.8's clients against tsnix daemon", () => {
  it.scoped.skipIf(!hasNix)(
    "add, query, path-info, instantiate, export/import, verify, optimise, gc, delete, copy",
    () =>
      Effect.gen(function*() {
        const { socket, layout, dir } = yield* startDaemon()
        const S = `unix://${socket}?root=${layout.root}`
        const work = path.join(dir, "work")
        fs.mkdirSync(path.join(work, "tree", "sub"), { recursive: true })
        fs.writeFileSync(path.join(work, "hello.txt"), "hello\n")
        fs.writeFileSync(path.join(work, "tree", "a"), "a\n")
        fs.writeFileSync(path.join(work, "tree", "sub", "b"), "b\n")
        fs.writeFileSync(
          path.join(work, "dep.nix"),
          "derivation { name = \"dep\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [ \"-c\" \"echo > $out\" ]; }\n"
        )
        const ns = (...args: Array<string>) => run("nix-store", ["--store", S, ...args], { cwd: work })
        const nix = (...args: Array<string>) =>
          run("nix", [...args.slice(0, 2), "--store", S, ...args.slice(2)], { cwd: work })

        expect((yield* ns("--add", "hello.txt")).out).toBe(`${HELLO}\n`)
        const tree = (yield* ns("--add", "tree")).out.trim()
        expect(tree).toMatch(/^\/nix\/store\/[a-z0-9]{32}-tree$/)
        expect((yield* ns("--add-fixed", "sha256", "hello.txt")).out).toBe(
          "/nix/store/gy454w1cxaq731grqwylhzf4pp9r5izh-hello.txt\n"
        )
        expect((yield* ns("-q", "--hash", HELLO)).out).toBe(
          "sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw\n"
        )
        expect((yield* ns("-q", "--size", HELLO)).out).toBe("120\n")
        expect((yield* ns("-qR", HELLO)).out).toBe(`${HELLO}\n`)
        const cv = yield* ns("--check-validity", HELLO, "/nix/store/00000000000000000000000000000000-x")
        expect(cv.rc).toBe(1)
        expect(cv.err).toContain("path '/nix/store/00000000000000000000000000000000-x' is not valid")
        const json = JSON.parse((yield* nix("path-info", "--json", "-r", HELLO)).out) as Array<Record<string, unknown>>
        expect(json[0]?.["narHash"]).toBe("sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM=")
        expect(json[0]?.["ca"]).toBe("fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw")
        expect((yield* nix("path-info", "--all")).out.trim().split("\n").sort()).toEqual(
          [HELLO, tree, "/nix/store/gy454w1cxaq731grqwylhzf4pp9r5izh-hello.txt"].sort()
        )
        expect((yield* run("nix-instantiate", ["--store", S, "dep.nix"], { cwd: work })).out).toBe(
          "/nix/store/2al1bij22scf6znn9zp7y98f8z4xpf00-dep.drv\n"
        )
        const exported = yield* Effect.promise(() =>
          new Promise<Buffer>((resolve) =>
            execFile("nix-store", ["--store", S, "--export", HELLO], {
              env: { ...process.env, NIX_CONFIG },
              encoding: "buffer",
              maxBuffer: 1 << 26
            }, (_e, out) => resolve(out))
          )
        )
        expect(exported.length).toBeGreaterThan(120)
        const verify = yield* ns("--verify", "--check-contents")
        expect(verify.rc).toBe(0)
        expect(verify.err).toContain("checking store hashes...")
        expect((yield* ns("--optimise")).err).toMatch(/MiB freed by hard-linking \d+ files/)
        const dead = yield* ns("--gc", "--print-dead")
        expect(dead.out.trim().split("\n")).toContain(HELLO)
        expect(dead.err).toContain("finding garbage collector roots...")
        const del = yield* ns("--delete", HELLO)
        expect(del.err).toContain(`deleting '${HELLO}'`)
        expect(del.out).toBe("1 store paths deleted, 0.00 MiB freed\n")
        expect((yield* run("nix-store", ["--store", S, "--import"], { input: exported })).out).toBe(`${HELLO}\n`)
        const gc = yield* ns("--gc")
        expect(gc.out).toMatch(/^\d+ store paths deleted, /)
        expect((yield* ns("--check-validity", HELLO)).rc).toBe(1)
        // nix copy: AddMultipleToStore (signatures checked even for root, as Nix's daemon) and back.
        const src = path.join(dir, "src")
        const h2 = (yield* run("nix-store", ["--store", src, "--add", "hello.txt"], { cwd: work })).out.trim()
        // Signatures are checked (even for root, as Nix's daemon does); a content-addressed path passes.
        expect((yield* run("nix", ["copy", "--from", src, "--to", S, h2])).rc).toBe(0)
        expect((yield* run("nix", ["copy", "--no-check-sigs", "--from", src, "--to", S, h2])).rc).toBe(0)
        expect((yield* ns("-q", "--hash", h2)).rc).toBe(0)
        const dst = path.join(dir, "dst")
        expect((yield* run("nix", ["copy", "--from", S, "--to", dst, h2])).rc).toBe(0)
        expect((yield* run("nix-store", ["--store", dst, "-q", "--hash", h2])).out).toBe(
          "sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw\n"
        )
        const ping = yield* nix("store", "ping")
        expect(ping.out + ping.err).toContain("Version: 2.8.0")
      }),
    90000
  )

  it.scoped.skipIf(!hasNix || !isRoot)(
    "an untrusted user (nobody, via its own uid) is served without privileges",
    () =>
      Effect.gen(function*() {
        const { socket, layout, dir } = yield* startDaemon("trusted-users = root")
        fs.chmodSync(dir, 0o755)
        const S = `unix://${socket}?root=${layout.root}`
        const work = fs.mkdtempSync("/tmp/tsnix-untrusted-")
        fs.chmodSync(work, 0o777)
        fs.writeFileSync(path.join(work, "hello.txt"), "hello\n")
        fs.chmodSync(path.join(work, "hello.txt"), 0o644)
        try {
          const asNobody = (...args: Array<string>) =>
            run("nix-store", ["--store", S, ...args], { cwd: work, uid: 65534 })
          // Content-addressed paths need no signature.
          const added = yield* asNobody("--add", "hello.txt")
          expect(added).toEqual({ out: `${HELLO}\n`, err: "", rc: 0 })
          expect((yield* asNobody("-q", "--hash", HELLO)).out).toBe(
            "sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw\n"
          )
          const roots = yield* asNobody("--gc", "--print-roots")
          expect(roots.rc).toBe(0)
          for (const l of roots.out.trim().split("\n").filter((x) => x !== "")) expect(l).toMatch(/^\{censored\} -> /)
          const repair = yield* asNobody("--verify", "--repair")
          expect(repair.rc).toBe(1)
          expect(repair.err).toContain("you are not privileged to repair paths")
        } finally {
          fs.rmSync(work, { recursive: true, force: true })
        }
      }),
    60000
  )

  const tsnixBin = path.resolve(__dirname, "../../bin/tsnix")
  const hasBundle = fs.existsSync(path.resolve(__dirname, "../../dist"))
  it.scoped.skipIf(!hasNix || !hasBundle)(
    "ssh-ng://localhost running `tsnix daemon --stdio`: nix copy --to (AddMultipleToStore) and --from (NarFromPath)",
    () =>
      Effect.gen(function*() {
        const { dir } = yield* startDaemon()
        const R = path.join(dir, "served")
        const remote = `ssh-ng://localhost?remote-program=${encodeURIComponent(`${tsnixBin} --store ${R} daemon`)}`
        fs.writeFileSync(path.join(dir, "hello.txt"), "hello\n")
        const src = path.join(dir, "src")
        const p = (yield* run("nix-store", ["--store", src, "--add", "hello.txt"], { cwd: dir })).out.trim()
        expect(p).toBe(HELLO)
        const to = yield* run("nix", ["copy", "--no-check-sigs", "--from", src, "--to", remote, p])
        expect(to.rc).toBe(0)
        const dst = path.join(dir, "dst")
        const from = yield* run("nix", ["copy", "--from", remote, "--to", dst, p])
        expect(from.rc).toBe(0)
        expect((yield* run("nix-store", ["--store", dst, "--verify-path", p])).rc).toBe(0)
        expect((yield* run("nix-store", ["--store", dst, "-q", "--hash", p])).out).toBe(
          "sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw\n"
        )
      }),
    60000
  )
})
