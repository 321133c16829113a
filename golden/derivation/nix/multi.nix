# Several outputs; an empty string attribute; a list of strings.
derivation {
  name = "multi";
  system = "aarch64-darwin";
  builder = "/bin/sh";
  args = [ "-c" "" "echo hi > $out" ];
  outputs = [ "out" "dev" "lib" "man" ];
  empty = "";
  list = [ "a" "b" "" "c" ];
  flag = true;
  off = false;
  num = 42;
}
