/**
 * Nix 2.8 against `tsnix serve`: `nix copy --from http://…` into a chroot
 * store (signatures checked with the served key; an untrusted key refused),
 * and `nix-store -r` substituting from it. Needs nix (nix-bin); SKIPPED when
 * it is not installed (CI). Runs the built bin/tsnix (`npm run build`).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runTsnix, tsnixBin } from "../cli/helpers.js"

const hasNix = spawnSync("nix", ["--version"], { stdio: "ignore" }).status === 0
const here = path.dirname(fileURLToPath(import.meta.url))
const storeNar = path.resolve(here, "../../golden/store/export.nar")
const paths = Object.fromEntries(
  fs.readFileSync(path.resolve(here, "../../golden/store/paths.txt"), "utf8").trim().split("\n").map((l) =>
    l.split("=")
  )
) as Record<string, string>

const secretKey = "test-1:mGQg+9zSMg3pgpQAPjLnhjeq8JQxZtEvG1r02K+j4LvaMjVow/6M0OQJVnvZAZba7fL/2QT9v2ztpIlGg8RU2g=="
const publicKey = "test-1:2jI1aMP+jNDkCVZ72QGW2u3y/9kE/b9s7aSJRoPEVNo="
const otherKey = "other-1:/AjEovq/QxvqU2dCvUvyg3ZSdr3vLVNJqdIq86EDeZc="

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-serve-nix-"))
const children: Array<ChildProcess> = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM")
  execFileSync("chmod", ["-R", "u+w", work])
  fs.rmSync(work, { recursive: true, force: true })
})

const nix = (args: ReadonlyArray<string>, extraConf = "") =>
  spawnSync(args[0] as string, args.slice(1), {
    env: {
      ...process.env,
      XDG_CACHE_HOME: path.join(work, "cache"),
      NIX_CONFIG:
        `experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters =\nfsync-metadata = false\n${extraConf}`
    },
    encoding: "utf8"
  })

/** Starts `tsnix --store ROOT serve --listen 127.0.0.1:0 …`; resolves with its URL once it listens. */
const startServe = (root: string, args: ReadonlyArray<string>) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [tsnixBin, "--store", root, "serve", "--listen", "127.0.0.1:0", ...args], {
      env: { ...process.env, NIX_CONFIG: "" },
      stdio: ["ignore", "ignore", "pipe"]
    })
    children.push(child)
    let err = ""
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString()
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(err)
      if (m !== null) resolve(m[1] as string)
    })
    child.on("exit", (code) => reject(new Error(`tsnix serve exited (${code}): ${err}`)))
  })

describe("Nix 2.8 uses tsnix serve as a binary cache", () => {
  it.skipIf(!hasNix)("nix copy --from http://… and nix-store -r substitute from it", { timeout: 60_000 }, async () => {
    const served = path.join(work, "served")
    const imported = await runTsnix(["--store", served, "--import"], { input: fs.readFileSync(storeNar) })
    expect(imported.stderr).toBe("")
    const keyFile = path.join(work, "sk")
    fs.writeFileSync(keyFile, secretKey)
    const url = await startServe(served, ["--secret-key", keyFile, "--priority", "42"])

    // nix copy, signatures checked against the served key
    const dst = path.join(work, "copy")
    const top = [paths["top"], paths["out"], paths["tree"]] as Array<string>
    const copy = nix(["nix", "copy", "--from", url, "--store", dst, ...top], `trusted-public-keys = ${publicKey}`)
    expect(copy.stderr).not.toContain("error")
    expect(copy.status).toBe(0)
    const verify = nix(["nix-store", "--store", dst, "--verify", "--check-contents"])
    expect(verify.status).toBe(0)
    const q = (store: string, p: string) => nix(["nix-store", "--store", store, "-qR", p]).stdout
    expect(q(dst, paths["top"] as string)).toBe(
      (await runTsnix(["--store", served, "-qR", paths["top"] as string])).stdout.toString()
    )
    const sigs = nix(["nix", "path-info", "--store", dst, "--sigs", paths["out"] as string]).stdout
    expect(sigs).toContain("test-1:")
    const info = nix(["nix", "path-info", "--store", url, "--json", paths["out"] as string])
    expect(info.status).toBe(0)

    // a key Nix does not trust: the input-addressed path is refused
    const refused = nix(
      ["nix", "copy", "--from", url, "--store", path.join(work, "refused"), paths["out"] as string],
      `trusted-public-keys = ${otherKey}`
    )
    expect(refused.status).not.toBe(0)
    expect(refused.stderr).toContain("lacks a valid signature")

    // nix-store -r of a path: substituted from the server
    const sub = path.join(work, "substituted")
    const r = nix(
      ["nix-store", "--store", sub, "-r", paths["out"] as string],
      `substituters = ${url}\ntrusted-public-keys = ${publicKey}`
    )
    expect(r.stderr).toContain(`copying path '${paths["out"]}' from '${url}'`)
    expect(r.status).toBe(0)
    expect(r.stdout.trim()).toBe(paths["out"])
    expect(nix(["nix-store", "--store", sub, "--verify-path", paths["out"] as string]).status).toBe(0)

    // NARs compressed on the fly: narinfos say so (no FileHash, FileSize 0), Nix decompresses and checks the NAR hash
    for (const compression of ["xz", "zstd"]) {
      const curl = await startServe(served, ["--compression", compression])
      const dst2 = path.join(work, `copy-${compression}`)
      const c = nix(["nix", "copy", "--no-check-sigs", "--from", curl, "--store", dst2, ...top])
      expect(c.stderr).not.toContain("error")
      expect(c.status).toBe(0)
      expect(nix(["nix-store", "--store", dst2, "--verify", "--check-contents"]).status).toBe(0)
      expect(q(dst2, paths["top"] as string)).toBe(q(dst, paths["top"] as string))
    }
  })
})
