# Sandbox-introspecting derivations (see generate.sh): `bb` is the store path of a directory holding
# the static busybox.
{ bb, fodHash ? "0000000000000000000000000000000000000000000000000000" }:
let
  busybox = "${builtins.storePath bb}/busybox";
  script = builtins.toFile "introspect.sh" (builtins.readFile ./introspect.sh);
in {
  introspect = derivation {
    name = "introspect";
    system = "x86_64-linux";
    builder = busybox;
    args = [ "sh" script ];
    extra = "a value with spaces and \"quotes\"";
  };
  record = derivation {
    name = "record";
    system = "x86_64-linux";
    builder = busybox;
    args = [ "sh" script ];
    mode = "record";
  };
  fod = derivation {
    name = "fod";
    system = "x86_64-linux";
    builder = busybox;
    args = [ "sh" script ];
    mode = "fod";
    outputHashMode = "flat";
    outputHashAlgo = "sha256";
    outputHash = fodHash;
  };
  paths = derivation {
    name = "paths";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ script ];
    mode = "paths";
  };
}
