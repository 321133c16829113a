// Prints the native addons (process.dlopen calls) that importing the module named by argv[2] loads.
const loaded = []
const dlopen = process.dlopen
process.dlopen = function(module, filename, ...rest) {
  loaded.push(filename)
  return dlopen.call(this, module, filename, ...rest)
}
await import(process.argv[2])
console.log(JSON.stringify(loaded))
