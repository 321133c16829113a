/**
 * Builders started through the spawner (spawner.ts, spawnerClient.ts) and directly (the first
 * launch, while the spawner starts): the same argv[0], working directory, environment, stdio
 * (stdout and stderr interleaved on one pipe, stdin /dev/null) and a session of their own; an
 * interruption kills the builder's process group either way.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type ChildSpec, runChild } from "../../src/builder/child.js"
import { whenSpawnerReady } from "../../src/builder/spawnerClient.js"

const script = [
  "echo \"argv0=$0 pwd=$PWD foo=$FOO path=$PATH\"",
  "echo to-stderr >&2",
  "read -r x && echo \"stdin=$x\" || echo stdin-empty",
  // pid, process group and session of this shell (fields 1, 5 and 6 of /proc/<pid>/stat)
  "set -- $(cat /proc/$$/stat | sed 's/.*) //')",
  "echo \"ids=$$ $3 $4\"",
  "exit 3"
].join("\n")

const spec = (cwd: string, onOutput: (c: Uint8Array) => void): ChildSpec => ({
  command: "/bin/sh",
  args: ["-c", script],
  argv0: "my-builder",
  env: { FOO: "bar baz", PATH: "/usr/bin:/bin" },
  cwd,
  timeout: 0,
  maxSilentTime: 0,
  maxLogSize: 0,
  onOutput
})

const run = (cwd: string) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    const outcome = yield* runChild(spec(cwd, (c) => chunks.push(Buffer.from(c))))
    return { outcome, text: Buffer.concat(chunks).toString() }
  })

describe("builder spawner", () => {
  it.effect("starts a builder as the direct way does: argv0, cwd, env, one pipe, no stdin, own session", () =>
    Effect.gen(function*() {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-spawner-test-"))
      try {
        // The first launch goes the direct way (and starts the spawner); the next ones through it.
        const direct = yield* run(cwd)
        expect(yield* Effect.promise(() => whenSpawnerReady())).toBe(true)
        const spawned = yield* run(cwd)
        for (const r of [direct, spawned]) {
          expect(r.outcome).toEqual({ _tag: "Exited", code: 3, signal: null })
          const lines = r.text.trim().split("\n")
          expect(lines.slice(0, 3)).toEqual([
            `argv0=my-builder pwd=${cwd} foo=bar baz path=/usr/bin:/bin`,
            "to-stderr",
            "stdin-empty"
          ])
          const [pid, pgrp, session] = lines[3]!.slice(4).split(" ")
          expect(pgrp).toBe(pid)
          expect(session).toBe(pid)
        }
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true })
      }
    }))

  it.effect("output written just before the builder exits is kept (the exit may be reported before it is read)", () =>
    Effect.gen(function*() {
      expect(yield* Effect.promise(() => whenSpawnerReady())).toBe(true)
      for (let i = 0; i < 30; i++) {
        let out = ""
        const outcome = yield* runChild({
          ...spec(os.tmpdir(), (c) => (out += Buffer.from(c).toString())),
          args: ["-c", `echo nothing-${i}`]
        })
        expect(outcome).toEqual({ _tag: "Exited", code: 0, signal: null })
        expect(out).toBe(`nothing-${i}\n`)
      }
    }))

  it.live("interruption kills the builder's process group, through the spawner too", () =>
    Effect.gen(function*() {
      expect(yield* Effect.promise(() => whenSpawnerReady())).toBe(true)
      let out = ""
      const fiber = yield* Effect.fork(runChild({
        ...spec(os.tmpdir(), (c) => (out += Buffer.from(c).toString())),
        args: ["-c", "sleep 30 & echo \"pids=$$ $!\"; wait"]
      }))
      for (let i = 0; i < 400 && !out.includes("\n"); i++) yield* Effect.sleep(Duration.millis(10))
      const pids = out.trim().slice(5).split(" ").map(Number)
      expect(pids.length).toBe(2)
      yield* Fiber.interrupt(fiber)
      // Alive: there, and not a zombie (an orphan waits for whatever reaps orphans here).
      const alive = (p: number) => {
        try {
          return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${p}/stat`, "utf8"))
        } catch {
          return false
        }
      }
      for (let i = 0; i < 100 && pids.some(alive); i++) yield* Effect.sleep(Duration.millis(10))
      expect(pids.filter(alive)).toEqual([])
    }))
})
