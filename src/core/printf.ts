/**
 * C's `printf("%.2f", x)` as glibc prints it: the exact binary value of the
 * double rounded to two decimals, ties to even, with a `-` sign for negative
 * values even when they round to zero. (`Number.prototype.toFixed` rounds
 * ties away from zero: 0.125 gives "0.13" where Nix prints "0.12".)
 *
 * @since 0.1.0
 */

/** `x` as `printf("%.2f", x)` prints it (finite `x`; others as `String(x)`). */
export const printfFixed2 = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  const negative = x < 0 || Object.is(x, -0)
  // The exact value of |x| as num / den, den a power of two (doubling a double is exact).
  let v = Math.abs(x)
  let den = 1n
  while (!Number.isInteger(v)) {
    v *= 2
    den *= 2n
  }
  const scaled = BigInt(v) * 100n
  let q = scaled / den
  const twice = (scaled % den) * 2n
  if (twice > den || (twice === den && q % 2n === 1n)) q++
  const digits = q.toString().padStart(3, "0")
  return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`
}

/** A byte count as Nix prints freed space: `%.2f MiB` (`showBytes`). */
export const showBytes = (bytes: number): string => `${printfFixed2(bytes / (1024 * 1024))} MiB`
