#!/usr/bin/env node
// Synthetic store for the store-database benchmark: N paths (default 100000), ~4 references
// each to earlier paths (a random DAG, deterministic seed), written in --load-db format.
// The last path, "<hash>-root", refers to the 64 newest paths so its closure is most of the store.
// Usage: node bench/gen-store.mjs OUT.txt [N] [SEED]
// Prints JSON {file, paths, root, leaf} on stdout.
import { writeFileSync } from "node:fs"

const [out, nText = "100000", seedText = "42"] = process.argv.slice(2)
if (!out) {
  console.error("usage: node bench/gen-store.mjs OUT.txt [N] [SEED]")
  process.exit(1)
}
const n = Number(nText)
let state = Number(seedText) >>> 0 || 1
// xorshift32: small, deterministic.
const rand = () => {
  state ^= state << 13
  state >>>= 0
  state ^= state >>> 17
  state ^= state << 5
  state >>>= 0
  return state / 4294967296
}
const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
const seen = new Set()
const paths = []
for (let i = 0; i < n; i++) {
  let h
  do {
    h = ""
    for (let k = 0; k < 32; k++) h += alphabet[Math.floor(rand() * 32)]
  } while (seen.has(h))
  seen.add(h)
  paths.push(`/nix/store/${h}-${i === n - 1 ? "root" : `pkg-${i}`}`)
}
const lines = []
for (let i = 0; i < n; i++) {
  const refs = new Set()
  if (i === n - 1) {
    for (let k = Math.max(0, i - 64); k < i; k++) refs.add(paths[k])
  } else if (i > 0) {
    const count = Math.floor(rand() * 9) // 0..8, mean 4
    // Mostly recent dependencies, some old ones: a closure that reaches most of the store.
    for (let k = 0; k < count; k++) {
      const j = rand() < 0.7 ? i - 1 - Math.floor(rand() * Math.min(i, 200)) : Math.floor(rand() * i)
      refs.add(paths[j])
    }
  }
  let hash = ""
  for (let k = 0; k < 8; k++) hash += Math.floor(rand() * 4294967296).toString(16).padStart(8, "0")
  lines.push(paths[i], hash, String(512 + Math.floor(rand() * 100000)), "", String(refs.size), ...[...refs].sort())
}
writeFileSync(out, lines.join("\n") + "\n")
console.log(JSON.stringify({ file: out, paths: n, root: paths[n - 1], leaf: paths[0] }))
