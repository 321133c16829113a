/**
 * nix-store's operations through `--store unix://SOCKET?root=ROOT`: tsnix's
 * client gives the same answers as Nix 2.8's nix-store on the same daemon,
 * for Nix 2.8's nix-daemon and for `tsnix daemon` (a real process each).
 * Without Nix, the tsnix daemon part checks tsnix's answers against the
 * committed goldens (Nix 2.8's answers on the same store).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Scope } from "effect"
import * as childProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { haveNixDaemon, nixConfig, nixDaemon, type NixDaemon, tsnixDaemon } from "../stores/daemon/nixDaemon.js"
import { runTsnix } from "./helpers.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/store")
const paths = Object.fromEntries(
  fs.readFileSync(path.join(golden, "paths.txt"), "utf8").trim().split("\n").map((l) =>
    l.split("=") as [string, string]
  )
)
const goldenQuery = (name: string) => fs.readFileSync(path.join(golden, "queries", `${name}.out`), "utf8")
const exportNar = fs.readFileSync(path.join(golden, "export.nar"))

const nixStore = (args: ReadonlyArray<string>, input?: Uint8Array) => {
  const r = childProcess.spawnSync("nix-store", [...args], {
    env: { ...process.env, NIX_CONFIG: nixConfig },
    input: input ?? "",
    maxBuffer: 1 << 26
  })
  return { status: r.status, stdout: r.stdout.toString("latin1") }
}

const tsnix = (args: ReadonlyArray<string>, input?: Uint8Array) =>
  Effect.promise(() => runTsnix(args, input === undefined ? {} : { input })).pipe(
    Effect.map((r) => ({ status: r.status, stdout: r.stdout.toString("latin1"), stderr: r.stderr }))
  )

/** The queries compared, after importing the golden store. */
const queries: ReadonlyArray<ReadonlyArray<string>> = [
  ["-qR", paths["top"] as string],
  ["-q", "--references", paths["top"] as string],
  ["-q", "--referrers", paths["leaf"] as string],
  ["-q", "--referrers-closure", paths["leaf"] as string],
  ["-q", "--hash", paths["hello"] as string],
  ["-q", "--size", paths["hello"] as string],
  ["-q", "--deriver", paths["out"] as string],
  ["-q", "--graph", paths["top"] as string],
  ["--check-validity", paths["top"] as string],
  ["--check-validity", "/nix/store/00000000000000000000000000000000-missing"],
  ["--gc", "--print-dead"],
  ["--gc", "--print-live"]
]

const session = (start: Effect.Effect<NixDaemon, never, Scope.Scope>, compareWithNix: boolean) =>
  Effect.gen(function*() {
    const d = yield* start
    const S = `unix://${d.socket}?root=${d.root}`
    const src = path.join(d.dir, "hello.txt")
    fs.writeFileSync(src, "hello\n")
    const add = yield* tsnix(["--store", S, "--add", src])
    expect(add.stderr).toBe("")
    expect(add.stdout).toBe(`${paths["hello"]}\n`)
    const imported = yield* tsnix(["--store", S, "--import"], exportNar)
    expect(imported.status, imported.stderr).toBe(0)
    for (const q of queries) {
      const ours = yield* tsnix(["--store", S, ...q])
      if (compareWithNix) {
        const theirs = nixStore(["--store", S, ...q])
        expect({ status: ours.status, stdout: ours.stdout }, q.join(" ")).toEqual(theirs)
      } else {expect(ours.status, `${q.join(" ")}: ${ours.stderr}`).toBe(
          q[0] === "--check-validity" && q[1]?.includes("missing") ? 1 : 0
        )}
    }
    if (!compareWithNix) {
      expect((yield* tsnix(["--store", S, "-qR", paths["top"] as string])).stdout).toBe(goldenQuery("qR-top"))
    }
    const exported = yield* Effect.promise(() => runTsnix(["--store", S, "--export", paths["top"] as string]))
    expect(exported.stdout.equals(fs.readFileSync(path.join(golden, "export-top.nar")))).toBe(true)
    const verify = yield* tsnix(["--store", S, "--verify", "--check-contents"])
    expect(verify.status, verify.stderr).toBe(0)
    expect((yield* tsnix(["--store", S, "--optimise"])).status).toBe(0)
    // GC: delete one dead path, then everything dead; the answers agree with the store's.
    const del = yield* tsnix(["--store", S, "--delete", paths["out"] as string])
    expect(del.status, del.stderr).toBe(0)
    expect((yield* tsnix(["--store", S, "--check-validity", paths["out"] as string])).status).toBe(1)
    const gc = yield* tsnix(["--store", S, "--gc"])
    expect(gc.status, gc.stderr).toBe(0)
    expect(gc.stdout).toMatch(/^\d+ store paths deleted, [\d.]+ MiB freed\n$/)
    const left = yield* tsnix(["--store", S, "--gc", "--print-dead"])
    expect(left.stdout).toBe("")
    if (compareWithNix) {
      const after = yield* tsnix(["--store", S, "--gc", "--print-live"])
      expect(after.stdout).toBe(nixStore(["--store", S, "--gc", "--print-live"]).stdout)
    }
  }).pipe(Effect.scoped)

describe("nix-store operations through --store unix://", () => {
  it.live.skipIf(!haveNixDaemon)(
    "against Nix 2.8's nix-daemon: the same answers as nix-store",
    () => session(nixDaemon, true),
    60_000
  )

  it.live(
    "against tsnix daemon: Nix's answers (compared with nix-store when installed)",
    () => session(tsnixDaemon, haveNixDaemon),
    60_000
  )
})
