# Fixed-output derivations: flat and recursive; sha256, sha1, sha512; hashes
# given in nix32, base16 and SRI form (Nix stores base16 in the .drv).
let
  mk = name: attrs: derivation ({
    inherit name;
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "true" ];
  } // attrs);
in {
  flat-sha256 = mk "flat-sha256" {
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s";
  };
  rec-sha256 = mk "rec-sha256" {
    outputHashMode = "recursive"; outputHashAlgo = "sha256";
    outputHash = "0c5b8vw40dy178xlpddw65q9gf1h2186jcc3p4swinwggbllv8mk";
  };
  flat-sha1 = mk "flat-sha1" {
    outputHashMode = "flat"; outputHashAlgo = "sha1";
    outputHash = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";
  };
  rec-sha1 = mk "rec-sha1" {
    outputHashMode = "recursive"; outputHashAlgo = "sha1";
    outputHash = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";
  };
  flat-sha512 = mk "flat-sha512" {
    outputHash = "sha512-7iaw3Ur350mqGo7jwQrpkj9hiYB3Lkc/iBml1JQODbJ6wYX4oOHV+E+IvIh/1nsUNzLDBMxfqa2Ob1f1ACio/w==";
  };
  rec-sha512 = mk "rec-sha512" {
    outputHashMode = "recursive";
    outputHash = "sha512-7iaw3Ur350mqGo7jwQrpkj9hiYB3Lkc/iBml1JQODbJ6wYX4oOHV+E+IvIh/1nsUNzLDBMxfqa2Ob1f1ACio/w==";
  };
}
