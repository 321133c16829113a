/**
 * `tsnix --help`: the CLI reference.
 *
 * @since 0.1.0
 */

/** The help text printed by `tsnix --help`. */
export const helpText = `Usage: tsnix OPERATION [OPTIONS...] [ARGUMENTS...]

tsnix is the Nix store in TypeScript. It accepts nix-store's operations and flags.

Operations:
  --add PATHS                  add paths to the store (recursive, sha256) and print their store paths
  --add-fixed [--recursive] ALGO PATHS
                               add paths as fixed-output (content-addressed) paths
  -q, --query                  query the store (see Query flags)
  -r, --realise PATHS [--add-root PATH [--indirect]] [--no-output]
                               print valid paths, or the outputs of derivations whose outputs are
                               all valid (tsnix cannot build yet); --add-root makes GC roots
  --print-env DRV              print a derivation's environment as shell assignments
  --gc                         collect garbage (--print-roots, --print-live, --print-dead, --max-freed N)
  --delete [--ignore-liveness] PATHS
                               delete store paths
  --dump PATH                  write the NAR serialisation of PATH to standard output
  --restore PATH               unpack a NAR from standard input into PATH (which must not exist)
  --export PATHS               write an export stream of PATHS to standard output
  --import                     import an export stream from standard input
  --verify [--check-contents]  check the consistency of the store database
  --verify-path PATHS          check that the contents of PATHS match their registered hashes
  --check-validity PATHS       fail unless every path is valid (--print-invalid to list instead)
  --dump-db [PATHS]            print the database in nix-store --dump-db format
  --load-db                    load a --dump-db stream from standard input
  --register-validity [--reregister] [--hash-given]
                               register paths given on standard input as valid
  --query-failed-paths         list paths recorded as failed builds
  --clear-failed-paths PATHS   forget failed paths ('*' for all)
  --optimise                   hard-link identical files through STORE/.links (as nix-store does)

Query flags (with -q):
  --outputs, -R/--requisites [--include-outputs], --references, --referrers, --referrers-closure,
  -d/--deriver, --valid-derivers, -b/--binding NAME, --hash, --size, --tree, --graph, --graphml,
  --roots

Subcommands:
  tsnix hash [--type md5|sha1|sha256|sha512] [--base32|--base64|--sri] [--flat] PATHS
                               hash paths (default: sha256, base16, NAR serialisation)
  tsnix hash --to-base16|--to-base32|--to-base64|--to-sri [--type ALGO] HASHES
                               convert hashes between encodings (as nix hash to-*: typed hashes,
                               sha1:… or SRI md5-…, need no --type; bare digests do)
  tsnix show-derivation [-r|--recursive] DRVS|OUTPUTS|FILES
                               print derivations as JSON (also: tsnix derivation show)
  tsnix derivation add         read a derivation as JSON on stdin, add it to the store
  tsnix path-info [--json] [-r|--recursive] [-s|--size] [-S|--closure-size] [-h|--human-readable]
                  [--sigs] [--derivation] PATHS|--all
                               print paths (with NAR size, closure size, signatures), or their
                               info as JSON, as nix path-info does; a .drv stands for its outputs
                               unless --derivation is given (then an output stands for its deriver)
  tsnix gc --why-alive PATH    print the chain of references that keeps PATH alive
  tsnix daemon [--socket PATH | --stdio]
                               serve the store to Nix clients over the worker protocol (socket:
                               --socket, else $NIX_DAEMON_SOCKET_PATH, else STATE/daemon-socket/socket)
  tsnix query WORD PATHS       same as -q --WORD (e.g. tsnix query requisites PATH)
  tsnix demo                   add a directory to the store and query it

Global options:
  --store ROOT                 use the chroot store at ROOT (files in ROOT/nix/store, state in
                               ROOT/nix/var/nix); default $TSNIX_STORE, else
                               $XDG_DATA_HOME/tsnix/root (~/.local/share/tsnix/root).
                               Also Nix's local?root=R&store=/x/store&state=S&real=D&log=L
  --option NAME VALUE          set a setting (also read from NIX_CONFIG, in nix.conf syntax)
  -v, --verbose                more detail (repeat for more)
  --help, --version

Environment: TSNIX_STORE, NIX_STORE_DIR (logical store directory, default /nix/store), NIX_CONFIG,
NIX_STATE_DIR and NIX_LOG_DIR (for a store without a root).
`
