/**
 * What the sandbox golden tests share: golden/sandbox's store paths, and
 * whether this machine can replay them (bubblewrap runs, and /usr/bin/busybox
 * is the busybox the goldens were made with). `skipReason` names the missing
 * Debian package, for the tests' warning.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { sandboxAvailable } from "../../../src/builder/sandbox/index.js"

/** The folder of the sandbox goldens. */
export const golden = path.resolve(import.meta.dirname, "../../../golden/sandbox")

/** golden/sandbox/paths.txt: name → store path. */
export const paths: Readonly<Record<string, string>> = Object.fromEntries(
  fs.readFileSync(path.join(golden, "paths.txt"), "utf8").trim().split("\n").map((l) =>
    l.split("=", 2) as [string, string]
  )
)

/** The static busybox the goldens' builders run. */
export const busybox = "/usr/bin/busybox"

const sameBusybox = fs.existsSync(busybox)
  && createHash("sha256").update(fs.readFileSync(busybox)).digest("hex")
    === fs.readFileSync(path.join(golden, "busybox.sha256"), "utf8").trim()
const bwrapOk = await Effect.runPromise(sandboxAvailable)

/** Why the sandbox goldens cannot run here, or undefined when they can. */
export const skipReason: string | undefined = !bwrapOk
  ? "bubblewrap cannot run here (install the Debian package bubblewrap)"
  : !sameBusybox
  ? "/usr/bin/busybox (Debian busybox-static) is missing or not the one in golden/sandbox"
  : undefined
