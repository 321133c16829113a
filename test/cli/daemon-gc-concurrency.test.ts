/**
 * `tsnix daemon` as a real process: collections requested through the daemon
 * while other clients of the same daemon add paths (their temp roots reach the
 * collector of the same process through the GC socket), round after round.
 * Every round must end within its time limit (a temp-root hand-off that waits
 * on the collector, or a collector that waits on an adder, fails the round
 * instead of hanging), every path a client added stays valid while it is
 * connected, and the collector deletes only garbage.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { encodeNar } from "../../src/core/nar/index.js"
import { encodeFramed, encodeU64 } from "../../src/core/wire/index.js"
import * as W from "../../src/core/wire/worker/index.js"
import { Client } from "../daemon/helpers.js"
import { tsnixBin } from "./helpers.js"

const addNar = (name: string, text: string) => [
  W.encodeAddToStoreRequest({ name, method: { method: "recursive", algo: "sha256" }, references: [], repair: false }),
  encodeFramed([encodeNar({ _tag: "Regular", executable: false, contents: new TextEncoder().encode(text) })])
]

const add = async (c: Client, name: string, text: string): Promise<string> => {
  const r = await c.op(W.Op.AddToStore, ...addNar(name, text))
  if (r.error !== undefined) throw new Error(r.error)
  return (await c.raw.read(W.pathInfo("/nix/store", { withPath: true, format: 16 }))).path
}

/** `p`, or a failure naming `what` once `ms` have passed. */
const within = <A>(ms: number, what: string, p: Promise<A>): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<A>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang)`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

const startDaemon = async (dir: string): Promise<{ child: ChildProcess; socket: string }> => {
  const socket = path.join(dir, "daemon.sock")
  const child = spawn(tsnixBin, ["--store", path.join(dir, "s"), "daemon", "--socket", socket], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, NIX_CONFIG: "substituters =" }
  })
  for (let i = 0; i < 400 && !fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50))
  return { child, socket }
}

describe("tsnix daemon: collections and additions in one daemon process", () => {
  it("GCs through the daemon while 8 clients add: no hang, nothing added is lost, only garbage goes", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-daemon-gc-"))
    const { child, socket } = await startDaemon(dir)
    try {
      const adders = await Promise.all(Array.from({ length: 8 }, () => Client.connect(socket)))
      const mine: Array<Array<string>> = adders.map(() => [])
      for (let round = 0; round < 5; round++) {
        // Garbage for this round's collection (its client's temp roots go when it disconnects).
        const g = await Client.connect(socket)
        for (let i = 0; i < 10; i++) await add(g, `g${round}-${i}`, `garbage ${round} ${i}\n`)
        g.close()
        const gc = await Client.connect(socket)
        const collected = gc.op(
          W.Op.CollectGarbage,
          W.encodeGcRequest({
            action: W.GcAction.DeleteDead,
            pathsToDelete: [],
            ignoreLiveness: false,
            maxFreed: 2n ** 64n - 1n
          })
        ).then(async (r) => {
          if (r.error !== undefined) throw new Error(r.error)
          return gc.raw.read(W.gcReply)
        })
        const adding = adders.map(async (c, w) => {
          for (let i = 0; i < 3; i++) {
            const p = await add(c, `w${w}-${round}-${i}`, `worker ${w} round ${round} ${i}\n`)
            mine[w]!.push(p)
          }
        })
        const [res] = await within(20000, `round ${round}`, Promise.all([collected, ...adding]))
        for (const p of res.paths) expect(p).toMatch(/-g\d+-\d+$/)
        gc.close()
      }
      // Everything each client added is still valid (its temp roots kept it through every collection).
      for (const [w, c] of adders.entries()) {
        const q = await c.op(W.Op.QueryValidPaths, W.encodeSet(mine[w]!), encodeU64(0))
        expect(q.error).toBeUndefined()
        expect(await c.raw.read(W.pathSet)).toEqual(W.sortedUnique(mine[w]!))
        c.close()
      }
    } finally {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 150000)
})
