# A fixed-output derivation and one that uses it (instantiated by generate.sh; never built).
rec {
  fod = derivation {
    name = "fod.txt";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "printf 'it'\\''s fixed\\n' > $out" ];
    outputHashMode = "flat";
    outputHashAlgo = "sha256";
    outputHash = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
  };
  user = derivation {
    name = "user";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "cat ${fod} > $out" ];
    quote = "a 'quoted' value";
  };
}
