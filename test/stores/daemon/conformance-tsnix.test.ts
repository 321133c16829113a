/**
 * The Store conformance suite against tsnix's daemon client talking to
 * `tsnix daemon` (a real process per test; runs without Nix): over its Unix
 * socket, and over `ssh-ng://localhost?remote-program=…` (the remote program
 * run locally with `--stdio`, as Nix does for localhost).
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as StoreFromUri from "../../../src/stores/fromUri.js"
import { storeConformance } from "../../../src/testing/conformance.js"
import { tsnixBin, withTsnixDaemon } from "./nixDaemon.js"
import { localLayoutHooks } from "../localLayoutHooks.js"

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../golden")

const hooks = {
  golden,
  ...localLayoutHooks
}

storeConformance(
  "daemon client against tsnix daemon (unix://)",
  withTsnixDaemon((d) => StoreFromUri.storeLayer(`unix://${d.socket}?root=${d.root}`)),
  hooks
)

const remoteProgram = (root: string) => encodeURIComponent(`${process.execPath} ${tsnixBin} --store ${root} daemon`)

storeConformance(
  "daemon client against tsnix daemon --stdio (ssh-ng://localhost)",
  withTsnixDaemon((d) =>
    StoreFromUri.storeLayer(`ssh-ng://localhost?remote-program=${remoteProgram(d.root)}&root=${d.root}`)
  ),
  hooks
)
