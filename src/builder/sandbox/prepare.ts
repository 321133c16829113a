/**
 * `prepareSandbox`: the bubblewrap command that runs one build as Nix 2.8's Linux sandbox does
 * (`local-derivation-goal.cc`): user, mount, pid, ipc, uts and (unless fixed-output) network
 * namespaces; uid 1000 / gid 100; hostname `localhost`; a root of its own holding `/tmp`, `/etc`
 * (passwd, group, hosts as Nix writes them), the logical store directory with the input closure bound
 * read-only, a minimal `/dev`, `/proc`, the build directory at `/build`, and `sandbox-paths`.
 *
 * Two bwraps, nested: the outer one only makes a user namespace and a fresh devpts instance (bwrap's
 * `--dev`, at a staging directory); the inner one builds the sandbox proper, with Nix's `/dev` made by
 * hand (the device nodes bound from the host, the `/proc/self/fd` symlinks, `/dev/ptmx` ->
 * `/dev/pts/ptmx`, a tmpfs `/dev/shm`) and `/dev/pts` bound from the outer devpts. (A single bwrap's
 * `--dev` adds `/dev/core` and a relative ptmx link, which a build could see.) `prlimit --core=0`
 * (util-linux), when present, sets RLIMIT_CORE as Nix does.
 *
 * The sandbox directory is made next to the real store (so outputs move into the store by rename);
 * the builder writes its outputs into the root's store directory, and `outputHostPath` says where.
 * It and everything in it are removed when the scope closes.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import type { Scope } from "effect"
import { bwrapPackage, findBwrap } from "./bwrap.js"
import { etcGroup, etcHosts, etcNsswitch, etcPasswd, networkHostFiles, sandboxGid, sandboxUid } from "./etcFiles.js"
import { parseSandboxPath, SandboxError } from "./types.js"
import type { SandboxedCommand, SandboxPath, SandboxRequest } from "./types.js"

/** The device nodes of Nix's minimal `/dev`, bound from the host. */
const devNodes: ReadonlyArray<string> = ["full", "null", "random", "tty", "urandom", "zero"]

/** The symlinks of Nix's minimal `/dev`. */
const devLinks: ReadonlyArray<readonly [string, string]> = [
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
  ["ptmx", "/dev/pts/ptmx"]
]

/** What execve(2) takes for argv + environment here (ARG_MAX is a quarter of the 8 MiB stack limit), with a margin. */
const maxArgBytes = 1_900_000

/** Whether the host has a usable /dev/kvm (Nix 2.8 then adds the `kvm` system feature and the device). */
const hostHasKvm = (): boolean => {
  try {
    fs.accessSync("/dev/kvm", fs.constants.R_OK | fs.constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** `prlimit` (util-linux), to set RLIMIT_CORE=0 for the builder, if installed. */
const findPrlimit = (): string | undefined => ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => fs.existsSync(p))

/** Whether `p` is `dir` or inside it. */
const isWithin = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith("/") ? dir : `${dir}/`)

const io = <A>(reason: string, f: () => Promise<A>): Effect.Effect<A, SandboxError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new SandboxError({ reason, cause }) })

/** Removes a tree, making directories writable first when needed (outputs are left read-only). */
const removeTree = async (p: string): Promise<void> => {
  try {
    await fsp.rm(p, { recursive: true, force: true, maxRetries: 2 })
  } catch {
    const fix = async (q: string): Promise<void> => {
      const st = await fsp.lstat(q).catch(() => undefined)
      if (st === undefined || !st.isDirectory()) return
      await fsp.chmod(q, 0o700).catch(() => undefined)
      for (const e of await fsp.readdir(q).catch(() => [])) await fix(path.join(q, e))
    }
    await fix(p)
    await fsp.rm(p, { recursive: true, force: true, maxRetries: 2 })
  }
}

/** Writes a file with an exact mode (whatever the umask). */
const writeExact = async (file: string, text: string, mode: number): Promise<void> => {
  await fsp.writeFile(file, text)
  await fsp.chmod(file, mode)
}

/** Makes `dir` (and its parents, mode 0755) with an exact final mode. */
const mkdirExact = async (dir: string, mode: number): Promise<void> => {
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 })
  await fsp.chmod(dir, mode)
}

/** The sandbox's directory (holding `root/` and the devpts staging `dev/`), removed when the scope closes. */
const makeSandboxDir = (parent: string): Effect.Effect<string, SandboxError, Scope.Scope> =>
  Effect.acquireRelease(
    io(`cannot create the sandbox directory in '${parent}'`, () => fsp.mkdtemp(path.join(parent, ".tsnix-chroot-"))),
    (dir) => Effect.promise(() => removeTree(dir).catch(() => undefined))
  )

/** Validates a logical store path of the request. */
const checkStorePath = (storeDir: string, p: string, what: string): Effect.Effect<void, SandboxError> =>
  isWithin(p, storeDir) && p !== storeDir && !p.slice(storeDir.length + 1).includes("/")
    && p.slice(storeDir.length + 1) !== ".." && p.slice(storeDir.length + 1) !== "."
    ? Effect.void
    : Effect.fail(new SandboxError({ reason: `${what} '${p}' is not a path in the store directory '${storeDir}'` }))

/** Prepares the sandbox of one build: its root on disk, and the bwrap command that enters it. */
export const prepareSandbox = (request: SandboxRequest): Effect.Effect<SandboxedCommand, SandboxError, Scope.Scope> =>
  Effect.gen(function*() {
    const bwrap = yield* findBwrap
    if (bwrap === undefined) {
      return yield* new SandboxError({
        reason: `sandboxed builds need bubblewrap ('bwrap', Debian package '${bwrapPackage}'), which is not installed`
      })
    }
    const storeDir = path.posix.normalize(request.logicalStoreDir).replace(/\/$/, "")
    const realStoreDir = path.resolve(request.realStoreDir)
    const buildDir = request.sandboxBuildDir ?? "/build"
    if (!path.posix.isAbsolute(storeDir) || storeDir === "/") {
      return yield* new SandboxError({ reason: `the store directory '${request.logicalStoreDir}' is not absolute` })
    }
    for (const p of request.inputPaths) yield* checkStorePath(storeDir, p, "input")
    for (const p of request.outputPaths) yield* checkStorePath(storeDir, p, "output")
    const outputs = new Set(request.outputPaths)
    const sandboxPaths: Array<SandboxPath> = request.sandboxPaths
      .map((e) => (typeof e === "string" ? parseSandboxPath(e) : e))
      .filter((e): e is SandboxPath => e !== undefined)

    const ownDev = !sandboxPaths.some((s) => s.target === "/dev")
    const kvm = request.kvm ?? hostHasKvm()
    const dir = yield* makeSandboxDir(request.chrootParent ?? path.dirname(realStoreDir))
    const root = path.join(dir, "root")
    const stage = path.join(dir, "dev")
    const at = (p: string) => path.join(root, p)
    yield* io("cannot set up the sandbox directory", async () => {
      await fsp.mkdir(root, { mode: 0o750 })
      await fsp.mkdir(stage, { mode: 0o700 })
      await fsp.chmod(root, 0o750)
      await mkdirExact(at("/tmp"), 0o1777)
      await mkdirExact(at("/etc"), 0o755)
      await writeExact(at("/etc/group"), etcGroup, 0o644)
      await writeExact(at("/etc/passwd"), etcPasswd(buildDir), 0o644)
      if (request.network) await writeExact(at("/etc/nsswitch.conf"), etcNsswitch, 0o644)
      else await writeExact(at("/etc/hosts"), etcHosts, 0o644)
      await mkdirExact(at(storeDir), 0o1775)
      if (ownDev) {
        await mkdirExact(at("/dev/shm"), 0o755)
        await mkdirExact(at("/dev/pts"), 0o755)
        for (const [name, target] of devLinks) await fsp.symlink(target, at(`/dev/${name}`))
      }
    })

    // The outer bwrap: a user namespace (uid 0 unmapped, as in Nix's sandbox) and a fresh devpts.
    const outer: Array<string> = [
      "--unshare-user",
      "--uid",
      String(sandboxUid),
      "--gid",
      String(sandboxGid),
      "--die-with-parent",
      "--dev-bind",
      "/",
      "/",
      "--dev",
      stage,
      "--",
      bwrap
    ]
    const args: Array<string> = [
      "--unshare-user",
      "--uid",
      String(sandboxUid),
      "--gid",
      String(sandboxGid),
      "--unshare-pid",
      "--unshare-ipc",
      "--unshare-uts",
      ...(request.network ? [] : ["--unshare-net"]),
      "--hostname",
      "localhost",
      "--die-with-parent",
      "--as-pid-1",
      "--bind",
      root,
      "/"
    ]

    // Nix's minimal /dev, unless sandbox-paths bind the host's.
    if (ownDev) {
      for (const n of [...devNodes, ...(kvm ? ["kvm"] : [])].sort()) args.push("--dev-bind", `/dev/${n}`, `/dev/${n}`)
      args.push("--dev-bind", path.join(stage, "pts"), "/dev/pts", "--perms", "1777", "--tmpfs", "/dev/shm")
    }
    args.push("--proc", "/proc")

    // The input closure: directories and files bound read-only, symlinks made as symlinks.
    const inputs = [...new Set(request.inputPaths)].filter((p) => !outputs.has(p)).sort()
    for (const p of inputs) {
      const real = path.join(realStoreDir, p.slice(storeDir.length + 1))
      const st = yield* io(`input path '${p}' is missing from the store ('${real}')`, () => fsp.lstat(real))
      if (st.isSymbolicLink()) {
        yield* io(
          `cannot copy the symlink '${real}' into the sandbox`,
          async () => fsp.symlink(await fsp.readlink(real), at(p))
        )
      } else args.push("--ro-bind", real, p)
    }

    const hostBuildDir = path.resolve(request.hostBuildDir)
    const buildSt = yield* io(`the build directory '${hostBuildDir}' is missing`, () => fsp.stat(hostBuildDir))
    if (!buildSt.isDirectory()) {
      return yield* new SandboxError({ reason: `the build directory '${hostBuildDir}' is not a directory` })
    }
    args.push("--bind", hostBuildDir, buildDir)

    if (request.network) {
      for (const f of networkHostFiles) args.push("--ro-bind-try", f, f)
    }

    // sandbox-paths, parents before children; store sources map to the real store.
    for (const s of [...sandboxPaths].sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))) {
      if (s.source === "/proc") continue // as Nix: /proc is always mounted afresh
      const source = isWithin(s.source, storeDir) ? path.join(realStoreDir, s.source.slice(storeDir.length)) : s.source
      if (!s.optional) {
        yield* io(`sandbox path '${s.source}' does not exist`, () => fsp.stat(source))
      }
      const kind = isWithin(source, "/dev") ? "--dev-bind" : "--ro-bind"
      args.push(s.optional ? `${kind}-try` : kind, source, s.target)
    }

    args.push("--chdir", buildDir, "--", request.builder, ...request.args)

    const argBytes = [...outer, ...args].reduce((n, a) => n + Buffer.byteLength(a) + 1, 0)
      + Object.entries(request.env).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 2, 0)
    if (argBytes > maxArgBytes) {
      return yield* new SandboxError({
        reason:
          `the sandbox's command line would be ${argBytes} bytes (${inputs.length} inputs), over the ${maxArgBytes}`
          + " bytes the kernel accepts"
      })
    }
    const prlimit = findPrlimit()
    return {
      command: prlimit ?? bwrap,
      args: [...(prlimit !== undefined ? ["--core=0", "--", bwrap] : []), ...outer, ...args],
      env: { ...request.env },
      outputHostPath: (logicalOutputPath: string) => at(logicalOutputPath)
    }
  })
