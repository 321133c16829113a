/**
 * `tsnix --generate-binary-cache-key`, `tsnix store verify` and `tsnix store
 * sign` on copies of the caches Nix 2.8 made (golden/cache), plus, when nix
 * is installed, Nix reading tsnix's keys and signatures.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runTsnix } from "./helpers.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/cache")
const hasNix = spawnSync("nix", ["--version"], { stdio: "ignore" }).status === 0
const conf = "experimental-features = nix-command\nsubstituters ="
const named = (n: string) =>
  fs.readFileSync(path.join(golden, "paths.txt"), "utf8").match(new RegExp(`^${n}=(.*)$`, "m"))![1]!
const out = named("out")
const pub = fs.readFileSync(path.join(golden, "keys/test-1.pub"), "utf8")
const copyOf = (name: string) => {
  const d = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-keys-")), name)
  fs.cpSync(path.join(golden, name), d, { recursive: true })
  return d
}
const tsnix = (args: ReadonlyArray<string>) => runTsnix(args, { env: { NIX_CONFIG: conf } })

describe("keys and signatures on the command line", () => {
  it("--generate-binary-cache-key writes Nix's key files (the secret one 0600); Nix derives the same public key", async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-keygen-"))
    const r = await tsnix(["--generate-binary-cache-key", "k-1", `${d}/sk`, `${d}/pk`])
    expect(r.status, r.stderr).toBe(0)
    expect(fs.statSync(`${d}/sk`).mode & 0o777).toBe(0o600)
    const pk = fs.readFileSync(`${d}/pk`, "utf8")
    expect(pk).toMatch(/^k-1:[A-Za-z0-9+/]{43}=$/)
    expect(fs.readFileSync(`${d}/sk`, "utf8")).toMatch(/^k-1:[A-Za-z0-9+/]{86}==$/)
    expect((await tsnix(["--generate-binary-cache-key", "k"])).stderr).toContain("three arguments expected")
    if (hasNix) {
      const n = spawnSync("nix", ["key", "convert-secret-to-public"], {
        input: fs.readFileSync(`${d}/sk`),
        env: { ...process.env, NIX_CONFIG: conf },
        encoding: "utf8"
      })
      expect(n.stdout).toBe(pk)
    }
  })

  it("store verify: untrusted without the key (exit 2), trusted with it, modified NAR (exit 1)", async () => {
    const c = copyOf("none")
    const v1 = await tsnix(["store", "verify", "--store", `file://${c}`, "-r", out])
    expect(v1.status).toBe(2)
    expect(v1.stderr).toBe(`path '${out}' is untrusted\n`)
    const v2 = await tsnix([
      "store",
      "verify",
      "--store",
      `file://${c}`,
      "--option",
      "trusted-public-keys",
      pub,
      "-r",
      out
    ])
    expect(v2.status, v2.stderr).toBe(0)
    const ni = fs.readFileSync(path.join(c, `${path.basename(out).slice(0, 32)}.narinfo`), "utf8")
    const nar = path.join(c, /^URL: (.*)$/m.exec(ni)![1]!)
    fs.chmodSync(nar, 0o644)
    fs.writeFileSync(nar, fs.readFileSync(nar, "latin1").replace("mid", "miD"), "latin1")
    const v3 = await tsnix(["store", "verify", "--store", `file://${c}`, "--option", "trusted-public-keys", pub, out])
    expect(v3.status).toBe(1)
    expect(v3.stderr).toMatch(
      new RegExp(`^path '${out}' was modified! expected hash 'sha256:[a-z0-9]{52}', got 'sha256:[a-z0-9]{52}'\\n$`)
    )
  })

  it("store sign on an unsigned cache gives Nix's narinfos (the same Sig bytes as nix copy with the key)", async () => {
    const c = copyOf("unsigned")
    const r = await tsnix([
      "store",
      "sign",
      "--store",
      `file://${c}`,
      "-k",
      path.join(golden, "keys/test-1.sec"),
      "-r",
      out,
      named("hello"),
      named("tree")
    ])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toBe("added 5 signatures\n")
    for (const f of fs.readdirSync(c).filter((f) => f.endsWith(".narinfo"))) {
      const sigs = (d: string) =>
        fs.readFileSync(path.join(d, f), "utf8").split("\n").filter((l) => l.startsWith("Sig: "))
      expect(sigs(c), `${f} in ${c}`).toEqual(sigs(path.join(golden, "none")))
      expect(sigs(c).length).toBe(1)
    }
  })
})
