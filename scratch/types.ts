import { addTextToStore, addToStore } from "../src/stores/local/ops/addToStore.js"
import { exportPaths, importPaths } from "../src/stores/local/ops/exportImport.js"
import { verifyPath, verifyStore } from "../src/stores/local/ops/verify.js"
import { deletePaths } from "../src/stores/local/ops/deletePaths.js"
import { optimiseStore } from "../src/stores/local/ops/optimise.js"
import { dumpPath } from "../src/io/dump.js"
import { derivationOutputsFromBytes } from "../src/stores/local/ops/drvOutputs.js"
export const a = addToStore
export const b = addTextToStore
export const c = exportPaths
export const d = importPaths
export const e = verifyPath
export const f = verifyStore
export const g = deletePaths
export const h = optimiseStore
export const i = dumpPath
export const j = derivationOutputsFromBytes
