/**
 * Store layout, store URIs, and stores that must not change: a new store gets
 * Nix 2.8's state layout; a store Nix made with NIX_STORE_DIR=/x/store and
 * --store ROOT (files in ROOT/nix/store) is read and verified as Nix does;
 * read-only operations leave a Nix-made database byte-identical; with
 * `--option read-only true` nothing in the store changes; another user can
 * run every query on a store it cannot write. Goldens: golden/layout (made
 * by golden/layout/generate.sh with Nix 2.8) and golden/db/nix-store-fixture.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runTsnix, type RunResult } from "./helpers.js"

const goldenRoot = path.resolve(__dirname, "../../golden")
const layoutGolden = path.join(goldenRoot, "layout")
const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const isRoot = process.getuid?.() === 0
const nobody = 65534

const temps: Array<string> = []
afterAll(() => {
  for (const t of temps) {
    spawnSync("chmod", ["-R", "u+w", t])
    fs.rmSync(t, { recursive: true, force: true })
  }
})

/** A fresh directory that other users may enter (mkdtemp makes 0700 ones). */
const tempDir = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-layout-"))
  fs.chmodSync(d, 0o755)
  temps.push(d)
  return d
}

/** A copy of a committed fixture store at DIR/root. */
const copyFixture = (fixture: string): string => {
  const root = path.join(tempDir(), "root")
  fs.cpSync(fixture, root, { recursive: true, verbatimSymlinks: true })
  return root
}

/** Every file under `root`: "MODE TYPE PATH [-> TARGET]" as golden/layout/generate.sh lists them. */
const listTree = (root: string, user: string): Array<string> => {
  const out: Array<[string, string]> = []
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel === "" ? name : `${rel}/${name}`
      const st = fs.lstatSync(path.join(root, r))
      const type = st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "f"
      const mode = modeString(st.mode, type)
      const shown = r.replace(`/per-user/${user}`, "/per-user/USER")
      const target = type === "l" ? ` -> ${fs.readlinkSync(path.join(root, r)).replace(root, "ROOT")}` : ""
      out.push([shown, `${mode} ${type} ${shown}${target}`])
      if (type === "d") walk(r)
    }
  }
  walk("")
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((x) => x[1])
}

const modeString = (mode: number, type: string): string => {
  const bits = "rwxrwxrwx"
  let s = type === "d" ? "d" : type === "l" ? "l" : "-"
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : "-"
  return s
}

/** Path, mode, size and mtime of every file under `dir` (what "nothing changed" compares). */
const snapshot = (dir: string): Array<string> => {
  const out: Array<string> = []
  const walk = (p: string) => {
    const st = fs.lstatSync(p)
    out.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`)
    if (st.isDirectory()) { for (const n of fs.readdirSync(p).sort()) walk(path.join(p, n)) }
  }
  walk(dir)
  return out
}

const goldenLines = (file: string): Array<string> => fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "")

const answer = (name: string) => {
  const dir = path.join(layoutGolden, "x-store-answers")
  return {
    args: goldenLines(path.join(dir, `${name}.args`)),
    out: fs.readFileSync(path.join(dir, `${name}.out`), "utf8"),
    err: fs.readFileSync(path.join(dir, `${name}.err`), "utf8"),
    rc: Number(fs.readFileSync(path.join(dir, `${name}.rc`), "utf8").trim())
  }
}

const expectOk = (r: RunResult) => {
  expect(r.stderr).not.toContain("error")
  expect(r.status).toBe(0)
}

describe("a new store", () => {
  it("gets Nix 2.8's state layout, with Nix's modes", async () => {
    const root = path.join(tempDir(), "new")
    const r = await runTsnix(["--store", root, "-q", "--hash", "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x"])
    expect(r.stderr).toBe("error: path '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x' is not valid\n")
    expect(listTree(root, os.userInfo().username)).toEqual(goldenLines(path.join(layoutGolden, "new-store-tree.txt")))
    expect(goldenLines(path.join(layoutGolden, "init-tree.txt"))).toEqual(
      goldenLines(path.join(layoutGolden, "new-store-tree.txt"))
    )
    expect(fs.statSync(path.join(root, "nix/var/nix/db/reserved")).size).toBe(8 * 1024 * 1024)
    // A second opening changes nothing of it.
    const before = snapshot(path.join(root, "nix/var/nix"))
    expectOk(await runTsnix(["--store", root, "--dump-db"]))
    expect(snapshot(path.join(root, "nix/var/nix")).filter((l) => !l.startsWith("db"))).toEqual(
      before.filter((l) => !l.startsWith("db"))
    )
  })

  it.skipIf(!isRoot)(
    `under a directory this user cannot write: an error naming it${
      isRoot ? "" : " (skipped: needs root to switch to another uid)"
    }`,
    async () => {
      const parent = path.join(tempDir(), "owned-by-root")
      fs.mkdirSync(parent, { mode: 0o755 })
      const r = await runTsnix([
        "--store",
        path.join(parent, "sub/new"),
        "-q",
        "--hash",
        "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x"
      ], { uid: nobody, gid: nobody })
      expect(r.status).toBe(1)
      expect(r.stderr).toBe(
        `error: cannot create the Nix store: directory '${parent}' is not writable by this user (creating '${
          path.join(parent, "sub/new/nix/store")
        }')\n`
      )
      expect(fs.readdirSync(parent)).toEqual([])
    }
  )
})

describe("NIX_STORE_DIR=/x/store with --store ROOT (a store Nix 2.8 made)", () => {
  const fixture = path.join(layoutGolden, "x-store-fixture")
  const env = { NIX_STORE_DIR: "/x/store" }

  for (const spelling of ["env", "uri"] as const) {
    it(`keeps its files in ROOT/nix/store and answers as Nix does (${spelling === "env" ? "NIX_STORE_DIR" : "local?root=ROOT&store=/x/store"})`, async () => {
      const root = copyFixture(fixture)
      const store = spelling === "env" ? ["--store", root] : ["--store", `local?root=${root}&store=/x/store`]
      const opts = spelling === "env" ? { env } : {}
      for (const name of ["dump-db", "qR", "q-hash", "q-outputs", "check-validity"]) {
        const a = answer(name)
        const r = await runTsnix([...store, ...a.args], opts)
        expect({ name, out: r.stdout.toString("utf8"), err: r.stderr, rc: r.status }).toEqual({
          name,
          out: a.out,
          err: a.err,
          rc: a.rc
        })
      }
      // --verify --check-contents finds nothing wrong, and leaves every registration in place.
      const v = answer("verify")
      const r = await runTsnix([...store, ...v.args], opts)
      expect(r.status).toBe(v.rc)
      expect(r.stderr.split("\n")).toEqual(v.err.split("\n"))
      const after = await runTsnix([...store, "--dump-db"], opts)
      expect(after.stdout.toString("utf8")).toBe(answer("dump-db-after-verify").out)
      expect(fs.existsSync(path.join(root, "x"))).toBe(false)
    })
  }

  it.skipIf(!hasNix)("Nix 2.8 still sees every registration after tsnix's --verify --check-contents", async () => {
    const root = copyFixture(fixture)
    expectOk(await runTsnix(["--store", root, "--verify", "--check-contents"], { env }))
    const r = spawnSync("nix-store", ["--store", root, "--dump-db"], {
      env: {
        ...process.env,
        ...env,
        NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group ="
      }
    })
    expect(r.stdout.toString("utf8")).toBe(answer("dump-db").out)
  })
})

describe("read-only operations on a database Nix 2.8 made", () => {
  const fixture = path.join(goldenRoot, "db/nix-store-fixture")
  const paths = Object.fromEntries(
    goldenLines(path.join(goldenRoot, "db/paths.txt")).map((l) => l.split("=") as [string, string])
  )
  const queries = (top: string): Array<Array<string>> => [
    ["-q", "--hash", top],
    ["-qR", top],
    ["-q", "--referrers-closure", top],
    ["-q", "--roots", top],
    ["-q", "--tree", top],
    ["-q", "--deriver", top],
    ["--check-validity", top],
    ["--dump-db"],
    ["--query-failed-paths"],
    ["--export", top],
    ["--verify", "--check-contents"],
    ["--gc", "--print-dead"],
    ["--gc", "--print-live"]
  ]

  it("leave the database byte-identical: no FailedPaths table, no -wal or -shm", async () => {
    const root = copyFixture(fixture)
    const dbDir = path.join(root, "nix/var/nix/db")
    const before = fs.readFileSync(path.join(dbDir, "db.sqlite"))
    for (const q of queries(paths.top!)) expectOk(await runTsnix(["--store", root, ...q]))
    // Clearing failed paths on a database that has none is a no-op, too.
    expectOk(await runTsnix(["--store", root, "--clear-failed-paths", paths.top!]))
    expect(fs.readFileSync(path.join(dbDir, "db.sqlite")).equals(before)).toBe(true)
    expect(fs.readdirSync(dbDir).filter((n) => n.startsWith("db.sqlite"))).toEqual(["db.sqlite"])
  })

  it("with --option read-only true: nothing in the store changes, and writes fail with a read-only error", async () => {
    const root = copyFixture(fixture)
    const before = snapshot(root)
    const answers: Array<string> = []
    for (const q of queries(paths.top!)) {
      const r = await runTsnix(["--option", "read-only", "true", "--store", root, ...q])
      expectOk(r)
      answers.push(r.stdout.toString("latin1"))
    }
    for (const w of [["--add", path.join(fixture, "nix/var/nix/db/schema")], ["--gc"], ["--delete", paths.top!]]) {
      const r = await runTsnix(["--option", "read-only", "true", "--store", root, ...w])
      expect(r.status).toBe(1)
      expect(r.stderr).toMatch(/error: cannot [a-z ]+: the store database is opened read-only\n$/)
    }
    expect(snapshot(root)).toEqual(before)
    // The same answers as a writable opening gives.
    for (const [i, q] of queries(paths.top!).entries()) {
      expect((await runTsnix(["--store", copyFixture(fixture), ...q])).stdout.toString("latin1")).toBe(answers[i])
    }
  })

  it.skipIf(!isRoot)(
    `run by another user on a store it cannot write: every query works, nothing changes${
      isRoot ? "" : " (skipped: needs root to switch to another uid)"
    }`,
    async () => {
      const root = copyFixture(fixture)
      // Opened once by its owner: Nix's state layout (0600 big-lock and reserve, 0755 directories).
      expectOk(await runTsnix(["--store", root, "-q", "--hash", paths.top!]))
      spawnSync("chmod", ["-R", "go-w,go+rX", root])
      fs.chmodSync(path.join(root, "nix/var/nix/db/big-lock"), 0o600)
      const expected: Array<RunResult> = []
      for (const q of queries(paths.top!)) expected.push(await runTsnix(["--store", root, ...q]))
      const before = snapshot(root)
      for (const [i, q] of queries(paths.top!).entries()) {
        const r = await runTsnix(["--store", root, ...q], { uid: nobody, gid: nobody })
        expect({ q, err: r.stderr, rc: r.status }).toEqual({ q, err: expected[i]!.stderr, rc: 0 })
        expect(r.stdout.equals(expected[i]!.stdout)).toBe(true)
      }
      const add = await runTsnix(["--store", root, "--add", path.join(fixture, "nix/var/nix/db/schema")], {
        uid: nobody,
        gid: nobody
      })
      expect(add.status).toBe(1)
      expect(add.stderr).toBe("error: cannot add to the store: the store database is opened read-only\n")
      expect(snapshot(root)).toEqual(before)
    }
  )

  it.skipIf(!isRoot)(
    `run by another user while a writer has the database open (its -wal and -shm not writable)${
      isRoot ? "" : " (skipped: needs root to switch to another uid)"
    }`,
    async () => {
      const root = copyFixture(fixture)
      const dbFile = path.join(root, "nix/var/nix/db/db.sqlite")
      const added = "/nix/store/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-new"
      // A writer that commits a row into the WAL (not checkpointed) and keeps the database open.
      const holder = spawn(process.execPath, [
        "-e",
        `
      const Database = require(${JSON.stringify(require.resolve("better-sqlite3"))})
      const db = new Database(${JSON.stringify(dbFile)})
      db.pragma("journal_mode = WAL")
      db.pragma("wal_autocheckpoint = 0")
      db.prepare("insert into ValidPaths (path, hash, registrationTime, narSize) values (?, ?, 1, 0)").run(${
          JSON.stringify(added)
        }, "sha256:${"0".repeat(64)}")
      process.stdout.write("holding\\n")
      process.stdin.on("data", () => { db.close(); process.exit(0) })
    `
      ], { stdio: ["pipe", "pipe", "inherit"] })
      try {
        await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()))
        spawnSync("chmod", ["-R", "go-w,go+rX", root])
        expect(fs.existsSync(`${dbFile}-wal`)).toBe(true)
        const r = await runTsnix(["--store", root, "--check-validity", added, paths.top!], { uid: nobody, gid: nobody })
        expect({ err: r.stderr, rc: r.status }).toEqual({ err: "", rc: 0 })
        const q = await runTsnix(["--store", root, "-q", "--hash", added], { uid: nobody, gid: nobody })
        expect(q.stdout.toString()).toBe(`sha256:${"0".repeat(52)}\n`)
      } finally {
        holder.stdin.end("x")
        await new Promise((resolve) => holder.on("close", resolve))
      }
    }
  )

  it.skipIf(!isRoot)(
    `on a read-only bind mount: every query works, writes fail read-only${
      isRoot ? "" : " (skipped: needs root to mount)"
    }`,
    async () => {
      const src = copyFixture(fixture)
      const mnt = path.join(tempDir(), "mnt")
      fs.mkdirSync(mnt)
      if (spawnSync("mount", ["--bind", src, mnt]).status !== 0) {
        return console.log(
          "skipped: mount --bind is not permitted here"
        )
      }
      try {
        if (spawnSync("mount", ["-o", "remount,bind,ro", mnt]).status !== 0) {
          return console.log(
            "skipped: remount ro is not permitted here"
          )
        }
        const before = snapshot(src)
        for (const q of queries(paths.top!)) expectOk(await runTsnix(["--store", mnt, ...q]))
        const add = await runTsnix(["--store", mnt, "--add", path.join(fixture, "nix/var/nix/db/schema")])
        expect({ rc: add.status, err: add.stderr }).toEqual({
          rc: 1,
          err: "error: cannot add to the store: the store database is opened read-only\n"
        })
        expect(snapshot(src)).toEqual(before)
      } finally {
        spawnSync("umount", [mnt])
      }
    }
  )
})
