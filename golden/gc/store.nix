# Derivations for the garbage-collector golden store (instantiated only: the
# outputs are created and registered by generate.sh, as a chroot store cannot
# run builders here).
let
  sys = builtins.currentSystem;
  mk = name: extra: derivation ({ inherit name; system = sys; builder = "/bin/sh"; args = [ "-c" "exit 1" ]; } // extra);
  src = builtins.toFile "src.txt" "source text\n";
  dep = mk "dep" { };
  multi = mk "multi" { outputs = [ "out" "dev" "lib" ]; inherit src; };
  top = mk "top" { inherit dep; dev = multi.dev; };
  rooted-drv = mk "rooted-drv" { inherit dep; outputs = [ "out" "doc" ]; };
  unbuilt = mk "unbuilt" { inherit dep; };
  other = mk "other" { inherit src; };
  indirect = mk "indirect" { };
  prof = mk "prof" { };
in { inherit dep multi top rooted-drv unbuilt other indirect prof; }
