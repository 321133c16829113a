/**
 * Reference cycles through the CLI. Registrations that form a cycle are refused
 * as Nix 2.8 refuses them (same message, status 1, nothing registered;
 * goldens: golden/cycles/generate.sh), a re-registration closing a cycle through
 * valid paths too; and a store that already holds a cycle (inserted here with
 * better-sqlite3, as an older tsnix could have left it) still collects garbage,
 * deletes, answers -qR / --referrers-closure, and --verify reports the cycle.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { rawDb } from "../stores/local/db/helpers.js"
import { runTsnix } from "./helpers.js"

const goldenDir = path.resolve(__dirname, "../../golden/cycles")
const golden = (name: string): string => fs.readFileSync(path.join(goldenDir, name), "utf8")
const paths = Object.fromEntries(
  golden("paths.txt").trim().split("\n").map((l) => l.split("=") as [string, string])
)
const A = paths["a"]!
const B = paths["b"]!

/** The fixed directory the goldens were made in (the store directory is part of the paths). */
const D = "/tmp/tsnix-golden-cycles"
const uri = `local?store=${D}/store&state=${D}/state&log=${D}/log`

const rmTree = (dir: string) => {
  if (!fs.existsSync(dir)) return
  const walk = (p: string) => {
    if (fs.lstatSync(p).isDirectory()) {
      fs.chmodSync(p, 0o755)
      for (const e of fs.readdirSync(p)) walk(path.join(p, e))
    }
  }
  walk(dir)
  fs.rmSync(dir, { recursive: true, force: true })
}

/** A fresh store at D whose store directory holds a.txt and b.txt, unregistered. */
const freshStore = async () => {
  rmTree(D)
  const r = await runTsnix(["--store", uri, "--dump-db"])
  expect(r.status).toBe(0)
  fs.writeFileSync(A, "a\n")
  fs.writeFileSync(B, "b\n")
}

const dumpDb = async () => {
  const r = await runTsnix(["--store", uri, "--dump-db"])
  expect(r.status).toBe(0)
  return r.stdout.toString("utf8")
}

/** Registers a (referring to b) and b through load-db. */
const registerAToB = async () => {
  const lines = golden("load-db.in").split("\n")
  // load-db.in: a's record (6 lines, a → b), then b's (7 lines: b → a, b); b is given no references.
  const input = [...lines.slice(0, 6), ...lines.slice(6, 10), "0", ""].join("\n")
  const r = await runTsnix(["--store", uri, "--load-db"], { input })
  expect(r.stderr).toBe("")
  expect(r.status).toBe(0)
}

/** Adds the references a → b and b → a behind tsnix's back. */
const insertCycle = () => {
  const db = rawDb(`${D}/state/db/db.sqlite`)
  try {
    db.prepare(
      `insert or ignore into Refs (referrer, reference) select x.id, y.id from ValidPaths x, ValidPaths y
         where (x.path = ? and y.path = ?) or (x.path = ? and y.path = ?)`
    ).run(A, B, B, A)
  } finally {
    db.close()
  }
}

afterEach(() => rmTree(D))

describe("registrations forming a reference cycle are refused as by Nix 2.8", () => {
  for (const name of ["load-db", "register-validity-hash-given", "register-validity", "self"]) {
    it(`${name}: Nix's message, status and resulting database`, async () => {
      await freshStore()
      const args = golden(`${name}.args`).trim().split("\n")
      const r = await runTsnix(["--store", uri, ...args], { input: golden(`${name}.in`) })
      expect(r.stderr).toBe(golden(`${name}.stderr`))
      expect(r.status).toBe(Number(golden(`${name}.status`).trim()))
      expect(await dumpDb()).toBe(golden(`${name}.db`))
    }, 30_000)
  }

  it("a re-registration closing a cycle through a valid path is refused, nothing changed", async () => {
    await freshStore()
    await registerAToB()
    const before = await dumpDb()
    const lines = golden("load-db.in").split("\n")
    const bToA = lines.slice(6).join("\n") // b → a, b
    const r = await runTsnix(["--store", uri, "--register-validity", "--reregister", "--hash-given"], { input: bToA })
    expect(r.stderr).toBe(`error: cycle detected in the references of '${B}' from '${A}'\n`)
    expect(r.status).toBe(1)
    expect(await dumpDb()).toBe(before)
    // Re-registering with the same references (or a self-reference) is fine.
    const same = [...lines.slice(6, 10), "1", B, ""].join("\n")
    const ok = await runTsnix(["--store", uri, "--register-validity", "--reregister", "--hash-given"], { input: same })
    expect(ok.stderr).toBe("")
    expect(ok.status).toBe(0)
  }, 30_000)
})

describe("a store that already holds a cycle", () => {
  it("collects garbage (the cycle and unrelated garbage), deletes, answers queries, verify reports it", async () => {
    await freshStore()
    await registerAToB()
    insertCycle()
    // c: unrelated garbage.
    const cFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-cyc-")), "c.txt")
    fs.writeFileSync(cFile, "c\n")
    const add = await runTsnix(["--store", uri, "--add", cFile])
    expect(add.status).toBe(0)
    const C = add.stdout.toString("utf8").trim()
    fs.rmSync(path.dirname(cFile), { recursive: true })

    const qR = await runTsnix(["--store", uri, "-qR", A])
    expect(qR.stderr).toBe("")
    expect(qR.status).toBe(0)
    expect(qR.stdout.toString("utf8").trim().split("\n").sort()).toEqual([A, B].sort())
    const rc = await runTsnix(["--store", uri, "--query", "--referrers-closure", B])
    expect(rc.status).toBe(0)
    expect(rc.stdout.toString("utf8").trim().split("\n").sort()).toEqual([A, B].sort())

    const verify = await runTsnix(["--store", uri, "--verify"])
    expect(verify.stderr).toContain(`cycle detected in the references of '${B}' from '${A}'\n`)
    expect(verify.status).toBe(1)

    const dead = await runTsnix(["--store", uri, "--gc", "--print-dead"])
    expect(dead.status).toBe(0)
    expect(dead.stdout.toString("utf8").trim().split("\n").sort()).toEqual([A, B, C].sort())

    // --delete of one of them: still alive (the other refers to it), as Nix says.
    const one = await runTsnix(["--store", uri, "--delete", A])
    expect(one.status).toBe(1)
    expect(one.stderr).toContain("since it is still alive")
    const both = await runTsnix(["--store", uri, "--delete", A, B])
    expect(both.stderr).not.toContain("error")
    expect(both.status).toBe(0)
    expect(fs.existsSync(A) || fs.existsSync(B)).toBe(false)
    expect(fs.existsSync(C)).toBe(true)
  }, 60_000)

  it("--gc deletes the paths of the cycle; the store then verifies", async () => {
    await freshStore()
    await registerAToB()
    insertCycle()
    const gc = await runTsnix(["--store", uri, "--gc"])
    expect(gc.stderr).not.toContain("error")
    expect(gc.status).toBe(0)
    expect(gc.stdout.toString("utf8")).toContain("2 store paths deleted")
    expect(await dumpDb()).toBe("")
    const verify = await runTsnix(["--store", uri, "--verify"])
    expect(verify.status).toBe(0)
  }, 60_000)
})

describe("--import of a stream holding the same path twice", () => {
  it("keeps the first copy, as Nix does", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-dup-"))
    try {
      const s1 = path.join(work, "s1")
      const s2 = path.join(work, "s2")
      const s3 = path.join(work, "s3")
      fs.writeFileSync(path.join(work, "p.txt"), "p\n")
      fs.writeFileSync(path.join(work, "q.txt"), "q\n")
      const addP = await runTsnix(["--store", s1, "--add", path.join(work, "p.txt")])
      const P = addP.stdout.toString("utf8").trim()
      const e1 = (await runTsnix(["--store", s1, "--export", P])).stdout
      // In s2, P refers to Q.
      const added = await runTsnix(["--store", s2, "--add", path.join(work, "q.txt"), path.join(work, "p.txt")])
      const [Q, P2] = added.stdout.toString("utf8").trim().split("\n")
      expect(P2).toBe(P)
      const dump = (await runTsnix(["--store", s2, "--dump-db", P])).stdout.toString("utf8").split("\n")
      // path, hash, size, deriver, count → one reference (Q).
      const rereg = [...dump.slice(0, 4), "1", Q!, ""].join("\n")
      const r = await runTsnix(["--store", s2, "--register-validity", "--reregister", "--hash-given"], {
        input: rereg
      })
      expect(r.status).toBe(0)
      const e2 = (await runTsnix(["--store", s2, "--export", Q!, P])).stdout
      expect(e1.length).toBeGreaterThan(8)
      // e1 without its end marker (a zero u64), then e2: P (no references), Q, P (referring to Q).
      const stream = Buffer.concat([e1.subarray(0, e1.length - 8), e2])
      const imp = await runTsnix(["--store", s3, "--import"], { input: stream })
      expect(imp.stderr).toBe("")
      expect(imp.status).toBe(0)
      expect(imp.stdout.toString("utf8")).toBe(`${P}\n${Q}\n${P}\n`)
      const refs = await runTsnix(["--store", s3, "-q", "--references", P])
      expect(refs.stdout.toString("utf8")).toBe("")
    } finally {
      rmTree(work)
    }
  }, 60_000)
})
