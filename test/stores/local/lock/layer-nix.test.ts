/**
 * Interoperation of the live Lock layer with Nix 2.8 itself on the same chroot
 * store. Skipped when `nix-store` is not installed (CI).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Ref, Schedule, Scope } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LiveLock from "../../../../src/stores/local/lock/layer.js"
import { makeStoreLayout } from "../../../../src/core/storeLayout.js"

const hasNix = spawnSync("nix-store", ["--version"]).status === 0
const env = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ="
}

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.promises.mkdtemp(path.join(os.tmpdir(), "tsnix-locknix-"))),
  (d) => Effect.promise(() => fs.promises.rm(d, { recursive: true, force: true }))
)

/** Runs nix-store with `args`; killed when the scope closes. */
const nixStore = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const proc = spawn("nix-store", [...args], { env, stdio: ["pipe", "pipe", "pipe"] })
      let out = ""
      let err = ""
      proc.stdout.on("data", (d: Buffer) => (out += d.toString()))
      proc.stderr.on("data", (d: Buffer) => (err += d.toString()))
      let exited = false
      const exit = new Promise<{ code: number | null; at: number }>((resolve) =>
        proc.on("exit", (code) => {
          exited = true
          resolve({ code, at: Date.now() })
        })
      )
      return { proc, out: () => out, err: () => err, exited: () => exited, exit: Effect.promise(() => exit) }
    }),
    (c) => Effect.sync(() => c.proc.kill("SIGKILL"))
  )

/** Polls `cond` every 10 ms for up to `ms`. */
const eventually = (cond: () => boolean, what: string, ms = 20_000) =>
  Effect.suspend(() => (cond() ? Effect.void : Effect.fail(new Error(`never: ${what}`)))).pipe(
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo(ms)))
  )

/** Whether process `pid` has `file` open. */
const hasOpen = (pid: number, file: string) => {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

describe.skipIf(!hasNix)("Lock live layer with Nix 2.8", () => {
  it.scopedLive("Nix waits for our exclusive big lock; we wait for Nix's shared one", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = makeStoreLayout(path.join(dir, "root"))
      const lock = yield* LiveLock.make(layout)
      const file = path.join(dir, "hello.txt")
      fs.writeFileSync(file, "hello\n")

      const held = yield* Scope.make()
      yield* Scope.extend(lock.bigLock("exclusive"), held)
      const add = yield* nixStore(["--store", layout.root, "--add", file])
      yield* eventually(() => add.err().includes("waiting for the big Nix store lock"), "Nix waits for the big lock")
      expect(add.exited()).toBe(false)
      yield* Scope.close(held, Exit.void)
      const { code } = yield* add.exit
      expect(code, add.err()).toBe(0)
      expect(add.out()).toMatch(/^\/nix\/store\/[0-9a-z]{32}-hello\.txt\n$/)

      // `nix-store --serve` holds the big lock shared for as long as it runs.
      const serve = yield* nixStore(["--store", layout.root, "--serve", "--write"])
      yield* eventually(
        () => hasOpen(serve.proc.pid ?? -1, path.join(layout.dbDir, "big-lock")),
        "Nix holds the big lock"
      )
      const waiter = yield* Effect.fork(Effect.scoped(Effect.as(lock.bigLock("exclusive"), Date.now())))
      yield* Effect.sleep("300 millis")
      expect(Option.isNone(yield* Fiber.poll(waiter))).toBe(true)
      yield* Effect.scoped(lock.bigLock("shared", { timeout: 0 }))
      serve.proc.stdin.end()
      const { at } = yield* serve.exit
      expect((yield* Fiber.join(waiter)) - at).toBeLessThan(300)
    }))

  it.scopedLive("Nix waits for our lock on the path it adds, then deletes the lock file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "data.txt")
      fs.writeFileSync(file, "some data\n")
      // Learn the store path from a scratch store.
      const scratch = spawnSync("nix-store", ["--store", path.join(dir, "scratch"), "--add", file], { env })
      const storePath = scratch.stdout.toString().trim()
      expect(storePath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-data\.txt$/)

      const layout = makeStoreLayout(path.join(dir, "root"))
      const lock = yield* LiveLock.make(layout)
      const lockFile = path.join(layout.root, storePath) + ".lock"
      const held = yield* Scope.make()
      yield* Scope.extend(lock.lockPaths([storePath]), held)
      const add = yield* nixStore(["--store", layout.root, "--add", file])
      yield* eventually(() => hasOpen(add.proc.pid ?? -1, lockFile), "Nix opens the path lock")
      yield* Effect.sleep("200 millis")
      expect(add.exited()).toBe(false)
      yield* Scope.close(held, Exit.void)
      expect((yield* add.exit).code, add.err()).toBe(0)
      expect(add.out().trim()).toBe(storePath)
      expect(fs.existsSync(lockFile)).toBe(false) // Nix released it with setDeletion(true)
    }))

  it.scopedLive("Nix sends its temporary root to our collector over the GC socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layout = makeStoreLayout(path.join(dir, "root"))
      const lock = yield* LiveLock.make(layout)
      const file = path.join(dir, "root.txt")
      fs.writeFileSync(file, "a root\n")
      const received = yield* Ref.make<ReadonlyArray<string>>([])
      yield* lock.gcLock("exclusive")
      yield* lock.serveTempRoots((p) => Ref.update(received, (r) => [...r, p]))
      const add = yield* nixStore(["--store", layout.root, "--add", file])
      expect((yield* add.exit).code, add.err()).toBe(0)
      expect(yield* Ref.get(received)).toEqual([add.out().trim()])
    }))
})
