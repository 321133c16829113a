#!/usr/bin/env node
// `npm run bench -- NAME [ARGS...]`: runs bench/NAME.mjs against the compiled code in dist/.
import { existsSync, readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const [name, ...rest] = process.argv.slice(2)
const available = readdirSync(here).filter((f) =>
  f.endsWith(".mjs") && f !== "run.mjs" && !f.startsWith("gen-") && !f.startsWith("_")
)
  .map((f) => f.slice(0, -4))
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [ARGS...]\navailable: ${available.join(", ")}`)
  process.exit(name ? 1 : 0)
}
if (!existsSync(join(here, "../dist/index.js"))) {
  console.error("error: dist/ is missing; run 'npm run build' first")
  process.exit(1)
}
process.argv = [process.argv[0], join(here, `${name}.mjs`), ...rest]
await import(pathToFileURL(join(here, `${name}.mjs`)).href)
