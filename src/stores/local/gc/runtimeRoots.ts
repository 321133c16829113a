/**
 * Runtime roots (Linux): store paths that running processes use, found as
 * Nix 2.8's `findRuntimeRoots` finds them in `/proc`: each process's `exe`,
 * `cwd` and open files (`fd/*`), the files it maps (`maps`), store paths
 * named in its environment (`environ`), and the programs named by
 * `/proc/sys/kernel/{modprobe,fbsplash,poweroff_cmd}`.
 *
 * Paths are recognised under the logical store directory and, for a chroot
 * store, under its real store directory too (mapped back to logical paths):
 * processes see the real files. Processes that vanish or cannot be inspected
 * (another user's) are skipped, as in Nix.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import type { StoreLayout } from "../../../core/storeLayout.js"
import { addRoot, isInStore, storePathOf } from "./roots.js"
import type { RootMap } from "./roots.js"

const quoteRegex = (s: string) => s.replace(/[.^$\\*+?()[\]{}|]/g, "\\$&")

const mapLine = /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\/\S+)\s*$/

const readLinkQuiet = (p: string): Promise<string | undefined> => fs.readlink(p).catch(() => undefined)
const readFileQuiet = (p: string): Promise<string | undefined> => fs.readFile(p, "latin1").catch(() => undefined)
const readDirQuiet = (p: string): Promise<Array<string>> => fs.readdir(p).catch(() => [])

/**
 * The files (and strings) running processes refer to, each with where it was
 * seen (`/proc/<pid>/exe`, …). Unfiltered.
 */
export const scanProc = (storeDirs: ReadonlyArray<string>, procDir = "/proc"): Promise<Map<string, Set<string>>> =>
  (async () => {
    const found = new Map<string, Set<string>>()
    const add = (target: string, where: string) => {
      const s = found.get(target)
      if (s === undefined) found.set(target, new Set([where]))
      else s.add(where)
    }
    const envRe = new RegExp(
      `(?:${storeDirs.map(quoteRegex).join("|")})/[0-9a-z]+[0-9a-zA-Z+\\-._?=]*`,
      "g"
    )
    const link = async (p: string) => {
      const t = await readLinkQuiet(p)
      if (t !== undefined && t.startsWith("/")) add(t, p)
    }
    const pids = (await readDirQuiet(procDir)).filter((n) => /^\d+$/.test(n))
    for (const pid of pids) {
      const base = `${procDir}/${pid}`
      await link(`${base}/exe`)
      await link(`${base}/cwd`)
      const fds = await readDirQuiet(`${base}/fd`)
      for (const fd of fds) if (!fd.startsWith(".")) await link(`${base}/fd/${fd}`)
      const maps = await readFileQuiet(`${base}/maps`)
      if (maps !== undefined) {
        for (const line of maps.split("\n")) {
          const m = mapLine.exec(line)
          if (m?.[1] !== undefined) add(m[1], `${base}/maps`)
        }
      }
      const env = await readFileQuiet(`${base}/environ`)
      if (env !== undefined) { for (const m of env.matchAll(envRe)) add(m[0], `${base}/environ`) }
    }
    for (const f of ["modprobe", "fbsplash", "poweroff_cmd"]) {
      const p = `${procDir}/sys/kernel/${f}`
      const c = await readFileQuiet(p)
      if (c !== undefined) add(c, p)
    }
    return found
  })()

/**
 * The runtime roots of the store laid out as `layout` (candidates, not yet
 * checked for validity). With `censor`, every link reads `{censored}`, as Nix
 * shows them to unprivileged clients.
 */
export const findRuntimeRoots = (layout: StoreLayout, censor = false): Effect.Effect<RootMap> =>
  Effect.promise(async () => {
    const roots: RootMap = new Map()
    if (process.platform !== "linux") return roots
    const dirs = layout.realStoreDir === layout.storeDir ? [layout.storeDir] : [layout.storeDir, layout.realStoreDir]
    const found = await scanProc(dirs)
    for (const [target, wheres] of found) {
      let logical: string | undefined
      if (isInStore(layout.storeDir, target)) logical = target
      else if (isInStore(layout.realStoreDir, target)) {
        logical = layout.storeDir + target.slice(layout.realStoreDir.length)
      }
      if (logical === undefined) continue
      const sp = storePathOf(layout.storeDir, logical)
      if (sp === undefined) continue
      for (const w of wheres) addRoot(roots, sp, censor ? "{censored}" : w)
    }
    return roots
  }).pipe(Effect.withSpan("gc.findRuntimeRoots"))
