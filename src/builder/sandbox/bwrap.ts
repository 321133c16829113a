/**
 * Finding bubblewrap (`bwrap`, Debian package `bubblewrap`) and checking that it can make the
 * namespaces a build needs here (user namespaces may be disabled, or forbidden in a container).
 *
 * @since 0.1.0
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"

/** The Debian package that provides `bwrap`, for messages. */
export const bwrapPackage = "bubblewrap"

/** The `bwrap` executable: `$TSNIX_BWRAP`, else the first `bwrap` on `$PATH`, else `/usr/bin/bwrap`. */
export const findBwrap: Effect.Effect<string | undefined> = Effect.sync(() => {
  const isExec = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return fs.statSync(p).isFile()
    } catch {
      return false
    }
  }
  const explicit = process.env["TSNIX_BWRAP"]
  if (explicit !== undefined && explicit !== "") return isExec(explicit) ? explicit : undefined
  const dirs = (process.env["PATH"] ?? "").split(":").filter((d) => d !== "")
  for (const d of [...dirs, "/usr/bin", "/bin"]) {
    const p = path.join(d, "bwrap")
    if (isExec(p)) return p
  }
  return undefined
})

/** A program that surely exists on the host, for the availability probe. */
const probeProgram = (): string | undefined => ["/bin/true", "/usr/bin/true", "/bin/sh"].find((p) => fs.existsSync(p))

/** Runs bwrap with the namespaces of a build and a trivial program; whether it exits 0. */
const probe = (bwrap: string): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const prog = probeProgram()
    if (prog === undefined) return resume(Effect.succeed(false))
    // The same nesting as a build: an outer bwrap with a fresh devpts, an inner one with every namespace.
    const args = [
      "--unshare-user",
      "--uid",
      "1000",
      "--gid",
      "100",
      "--die-with-parent",
      "--dev-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--",
      bwrap,
      "--unshare-user",
      "--uid",
      "1000",
      "--gid",
      "100",
      "--unshare-pid",
      "--unshare-ipc",
      "--unshare-uts",
      "--unshare-net",
      "--hostname",
      "localhost",
      "--ro-bind",
      "/",
      "/",
      "--dev-bind",
      "/dev/pts",
      "/dev/pts",
      "--proc",
      "/proc",
      "--as-pid-1",
      "--die-with-parent",
      "--",
      prog,
      ...(prog === "/bin/sh" ? ["-c", ":"] : [])
    ]
    const child = execFile(bwrap, args, { timeout: 10_000, env: {} }, (err) => resume(Effect.succeed(err === null)))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

let cached: boolean | undefined

/** Whether sandboxed builds can run here: bwrap found AND able to make the namespaces (checked once). */
export const sandboxAvailable: Effect.Effect<boolean> = Effect.suspend(() =>
  cached !== undefined ? Effect.succeed(cached) : Effect.gen(function*() {
    const bwrap = yield* findBwrap
    const ok = bwrap === undefined ? false : yield* probe(bwrap)
    cached = ok
    return ok
  })
)
