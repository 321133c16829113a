import { describe, expect, it } from "@effect/vitest"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Exit, Scope } from "effect"
import { parseSandboxPath, prepareSandbox, SandboxError, sandboxAvailable } from "../../../src/builder/sandbox/index.js"
import type { SandboxedCommand, SandboxRequest } from "../../../src/builder/sandbox/index.js"

const busybox = "/usr/bin/busybox"
const available = fs.existsSync(busybox) && (await Effect.runPromise(sandboxAvailable))
if (!available) console.warn("sandbox tests skipped: needs bwrap (Debian package bubblewrap) and /usr/bin/busybox")

const bb = "/nix/store/00000000000000000000000000000000-busybox"
const out = "/nix/store/11111111111111111111111111111111-out"

/** A store whose logical dir is /nix/store and real dir is under a temp dir, holding busybox. */
const makeStore = () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-sandbox-"))
  const real = path.join(top, "nix/store")
  fs.mkdirSync(path.join(real, path.basename(bb)), { recursive: true })
  fs.copyFileSync(busybox, path.join(real, path.basename(bb), "busybox"))
  fs.chmodSync(path.join(real, path.basename(bb), "busybox"), 0o555)
  fs.writeFileSync(path.join(real, "22222222222222222222222222222222-file"), "a file input\n")
  fs.symlinkSync("22222222222222222222222222222222-file", path.join(real, "44444444444444444444444444444444-link"))
  const build = path.join(top, "build")
  fs.mkdirSync(build, { mode: 0o700 })
  fs.writeFileSync(path.join(top, "greeting"), "hello from the host\n")
  return { top, real, build }
}

const run = (cmd: SandboxedCommand) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    execFile(
      cmd.command,
      [...cmd.args],
      { env: { ...cmd.env }, encoding: "utf8" },
      (err, stdout, stderr) =>
        resume(
          Effect.succeed({ code: err === null ? 0 : (typeof err.code === "number" ? err.code : -1), stdout, stderr })
        )
    )
  })

const request = (
  s: ReturnType<typeof makeStore>,
  script: string,
  extra: Partial<SandboxRequest> = {}
): SandboxRequest => ({
  logicalStoreDir: "/nix/store",
  realStoreDir: s.real,
  inputPaths: [
    bb,
    "/nix/store/22222222222222222222222222222222-file",
    "/nix/store/44444444444444444444444444444444-link"
  ],
  outputPaths: [out],
  hostBuildDir: s.build,
  sandboxPaths: [],
  network: false,
  builder: `${bb}/busybox`,
  args: ["sh", "-c", script],
  env: { out, PATH: "/path-not-set", HOME: "/homeless-shelter" },
  ...extra
})

describe("prepareSandbox", () => {
  it("parses sandbox-paths entries as Nix does", () => {
    expect(parseSandboxPath("/bin/sh")).toEqual({ source: "/bin/sh", target: "/bin/sh", optional: false })
    expect(parseSandboxPath("/bin/sh=/nix/store/x/bin/bash?")).toEqual({
      source: "/nix/store/x/bin/bash",
      target: "/bin/sh",
      optional: true
    })
    expect(parseSandboxPath("")).toBeUndefined()
  })

  it.effect.skipIf(!available)(
    "runs the builder as uid 1000/gid 100 in /build, outputs land at outputHostPath, the root goes away",
    () =>
      Effect.gen(function*() {
        const s = makeStore()
        const scope = yield* Scope.make()
        const cmd = yield* prepareSandbox(request(
          s,
          [
            "set -e",
            "B=/nix/store/00000000000000000000000000000000-busybox/busybox",
            "$B mkdir $out",
            "$B id > $out/id; $B hostname > $out/hostname; $B pwd > $out/pwd; echo $$ > $out/pid",
            "$B cat /etc/passwd /etc/group /etc/hosts > $out/etc",
            "$B ls /nix/store > $out/store; $B ls / > $out/root; $B ls /dev > $out/dev",
            "$B cat /nix/store/22222222222222222222222222222222-file > $out/file",
            "$B readlink /nix/store/44444444444444444444444444444444-link > $out/link; $B ls /opt > $out/opt 2>&1 || true",
            "if (echo x > /nix/store/00000000000000000000000000000000-busybox/w) 2>/dev/null; then echo writable; else echo read-only; fi > $out/ro",
            "$B env | $B sort > $out/env",
            "$B cat /greeting > $out/greeting",
            "echo to-stdout; echo to-stderr >&2"
          ].join("\n"),
          { sandboxPaths: ["/opt/missing-too?", `/greeting=${s.top}/greeting`] }
        )).pipe(Scope.extend(scope))
        const r = yield* run(cmd)
        expect(r).toMatchObject({ code: 0, stdout: "to-stdout\n", stderr: "to-stderr\n" })
        const o = cmd.outputHostPath(out)
        const read = (f: string) => fs.readFileSync(path.join(o, f), "utf8")
        expect(read("id")).toMatch(/^uid=1000\(nixbld\) gid=100\(nixbld\)/)
        expect(read("hostname")).toBe("localhost\n")
        expect(read("pwd")).toBe("/build\n")
        expect(read("pid")).toBe("1\n")
        expect(read("etc")).toBe(
          "root:x:0:0:Nix build user:/build:/noshell\nnixbld:x:1000:100:Nix build user:/build:/noshell\n"
            + "nobody:x:65534:65534:Nobody:/:/noshell\nroot:x:0:\nnixbld:!:100:\nnogroup:x:65534:\n"
            + "127.0.0.1 localhost\n::1 localhost\n"
        )
        expect(read("store").split("\n").filter((l) => l !== "")).toEqual([
          "00000000000000000000000000000000-busybox",
          "11111111111111111111111111111111-out",
          "22222222222222222222222222222222-file",
          "44444444444444444444444444444444-link"
        ])
        expect(read("root")).toBe("build\ndev\netc\ngreeting\nnix\nproc\ntmp\n")
        expect(read("file")).toBe("a file input\n")
        expect(read("link")).toBe("22222222222222222222222222222222-file\n")
        expect(read("opt")).toMatch(/No such file or directory/)
        expect(read("greeting")).toBe("hello from the host\n")
        expect(read("ro")).toBe("read-only\n")
        expect(read("env")).toBe(`HOME=/homeless-shelter\nPATH=/path-not-set\nPWD=/build\nSHLVL=1\nout=${out}\n`)
        const root = path.dirname(path.dirname(path.dirname(o)))
        expect(fs.existsSync(root)).toBe(true)
        yield* Scope.close(scope, Exit.void)
        expect(fs.existsSync(root)).toBe(false)
        expect(fs.readdirSync(path.join(s.top, "nix"))).toEqual(["store"])
        fs.rmSync(s.top, { recursive: true, force: true })
      })
  )

  it.effect.skipIf(!available)(
    "a missing input is a SandboxError and leaves no sandbox directory",
    () =>
      Effect.gen(function*() {
        const s = makeStore()
        const r = yield* Effect.scoped(
          prepareSandbox(request(s, "true", { inputPaths: ["/nix/store/33333333333333333333333333333333-gone"] }))
        ).pipe(Effect.flip)
        expect(r).toBeInstanceOf(SandboxError)
        expect(r.message).toContain("33333333333333333333333333333333-gone")
        const bad = yield* Effect.scoped(prepareSandbox(request(s, "true", { inputPaths: ["/etc/passwd"] }))).pipe(
          Effect.flip
        )
        expect(bad.message).toContain("is not a path in the store directory")
        const noBuild = yield* Effect.scoped(
          prepareSandbox(request(s, "true", { hostBuildDir: path.join(s.top, "nope") }))
        )
          .pipe(Effect.flip)
        expect(noBuild.message).toContain("the build directory")
        const missing = yield* Effect.scoped(prepareSandbox(request(s, "true", { sandboxPaths: ["/opt/not-there"] })))
          .pipe(Effect.flip)
        expect(missing.message).toContain("sandbox path '/opt/not-there' does not exist")
        const huge = yield* Effect.scoped(
          prepareSandbox(request(s, "true", { inputPaths: [bb], env: { big: "x".repeat(2_000_000) } }))
        )
          .pipe(Effect.flip)
        expect(huge.message).toContain("the kernel accepts")
        expect(fs.readdirSync(path.join(s.top, "nix"))).toEqual(["store"])
        fs.rmSync(s.top, { recursive: true, force: true })
      })
  )

  it.effect.skipIf(!available)(
    "SIGKILL to the command's process group ends the builder and all it started",
    () =>
      Effect.gen(function*() {
        const s = makeStore()
        yield* Effect.scoped(Effect.gen(function*() {
          const cmd = yield* prepareSandbox(
            request(s, `B=${bb}/busybox; $B sleep 30 & $B sleep 31`)
          )
          const child = spawn(cmd.command, [...cmd.args], { env: { ...cmd.env }, stdio: "ignore", detached: true })
          // The live processes of the child's group (the bwraps, the shell, the two sleeps).
          const ours = () =>
            fs.readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p)).filter((p) => {
              try {
                const stat = fs.readFileSync(`/proc/${p}/stat`, "latin1")
                const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
                return f[0] !== "Z" && Number(f[2]) === child.pid
              } catch {
                return false
              }
            })
          // Both sleeps (and the shell) are running inside.
          for (let i = 0; i < 100 && ours().length < 3; i++) {
            yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
          }
          expect(ours().length).toBeGreaterThanOrEqual(3)
          const exited = new Promise((res) => child.on("exit", res))
          process.kill(-child.pid!, "SIGKILL")
          yield* Effect.promise(() => exited)
          for (let i = 0; i < 40 && ours().length > 0; i++) {
            yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
          }
          expect(ours()).toEqual([])
        }))
        expect(fs.readdirSync(path.join(s.top, "nix"))).toEqual(["store"])
        fs.rmSync(s.top, { recursive: true, force: true })
      })
  )
})
