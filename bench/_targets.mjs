// The performance targets that were met once, checked on every run of the benches that measure them
// (store, gc): a figure over its target is printed as a REGRESSION and fails the bench (exit status 1).
// Ratios are tsnix / nix-store on the same data in the same run. The CPU ratio decides: on this shared
// machine wall times swing with the load (see docs/BENCHMARKS.md), CPU times much less; the wall ratio is
// printed beside it. Without Nix there is no ratio to check: the rows say "no nix".

/** Each target: the row of the bench's table it applies to (a prefix), and its maximum ratio to Nix. */
export const targets = [
  { bench: "store", row: "tsnix CLI --load-db", maxRatio: 0.3, what: "--load-db of 100k paths ≤ 0.3× Nix" },
  { bench: "store", row: "tsnix CLI -qR", maxRatio: 0.2, what: "-qR of a ~97k-path closure ≤ 0.2× Nix" },
  {
    bench: "store",
    row: "tsnix CLI --referrers-closure",
    maxRatio: 0.2,
    what: "--referrers-closure of ~87k paths ≤ 0.2× Nix"
  },
  { bench: "store", row: "tsnix CLI --verify", maxRatio: 0.8, what: "--verify of 100k paths ≤ 0.8× Nix (issue 16)" },
  { bench: "gc", row: "--gc --print-dead", maxRatio: 0.2, what: "--gc --print-dead of ~50k dead paths ≤ 0.2× Nix" },
  { bench: "gc", row: "--gc (deletes", maxRatio: 0.5, what: "--gc deleting ~50k paths ≤ 0.5× Nix" },
  { bench: "gc", row: "--gc (deletes", maxRssMB: 300, what: "--gc peak RSS < 300 MB" }
]

/**
 * Checks the rows `[name, ours, nix]` (ours/nix: { secs, cpuSecs, rssMB }) of bench `bench` against the
 * targets, prints one line per target and row, and sets a failing exit status on a regression.
 * Returns true when every target is met.
 */
export const checkTargets = (bench, rows) => {
  let ok = true
  console.log(`\ntargets (${bench}):`)
  for (const t of targets.filter((t) => t.bench === bench)) {
    const matching = rows.filter(([name]) => name.startsWith(t.row))
    if (matching.length === 0) {
      console.log(`  MISSING     ${t.what}: no row '${t.row}'`)
      ok = false
      continue
    }
    for (const [name, o, x] of matching) {
      if (t.maxRssMB !== undefined) {
        const rss = o.json?.maxRssMB ?? o.rssMB ?? Number.NaN
        const met = rss < t.maxRssMB
        ok &&= met
        console.log(`  ${met ? "met       " : "REGRESSION"}  ${t.what}: ${rss.toFixed(0)} MB (${name})`)
        continue
      }
      if (x === undefined) {
        console.log(`  no nix      ${t.what}: tsnix ${(o.cpuSecs ?? Number.NaN).toFixed(2)} s CPU (${name})`)
        continue
      }
      const cpu = (o.cpuSecs ?? Number.NaN) / (x.cpuSecs ?? Number.NaN)
      const wall = o.secs / x.secs
      const met = cpu <= t.maxRatio
      ok &&= met
      console.log(
        `  ${met ? "met       " : "REGRESSION"}  ${t.what}: CPU ${cpu.toFixed(3)}×, wall ${wall.toFixed(3)}× (${name})`
      )
    }
  }
  if (!ok) {
    console.log("REGRESSION: a target that was met is not met any more (see above)")
    process.exitCode = 1
  }
  return ok
}
