# Derivations depending on other derivations (regular, multi-output, fixed
# output, two fixed outputs with the same output path) and on sources.
let
  simple = import ./simple.nix;
  multi = import ./multi.nix;
  fixed = import ./fixed.nix;
  sameA = derivation {
    name = "same"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "a" ];
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
  };
  sameB = derivation {
    name = "same"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "b" ];
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
  };
  level1 = derivation {
    name = "level1";
    system = "x86_64-linux";
    builder = ./script.sh;
    args = [ ./file.txt "${simple}" ];
    dev = multi.dev;
    lib = multi.lib;
    fixedA = fixed.flat-sha256;
    fixedB = fixed.rec-sha1;
    inherit sameA sameB;
    text = builtins.toFile "note.txt" "a text file";
  };
in derivation {
  name = "level2";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ "-c" "cat ${level1}/x ${multi.out}" ];
  outputs = [ "bin" "out" ];
  inherit level1;
  src = ./file.txt;
}
