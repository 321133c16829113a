# Strings that need escaping in ATerm and JSON, unicode, control and
# non-UTF-8 bytes (read from latin1.bin, which holds bytes 1..255).
derivation {
  name = "strings";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ "quote\"d" "back\\slash" "new\nline" "cr\rreturn" "tab\tbed" "dollar\${brace}" "" "☃ unicode ✓ 😀" ];
  quotes = "\"\"\"";
  backslashes = "\\\\ \\n \\\"";
  controls = "a\nb\rc\td";
  dollar = "\${x} $y ''\${z}";
  unicode = "héllo wörld ☃ 😀 日本語";
  empty = "";
  bytes = builtins.readFile ./latin1.bin;
  latin1 = builtins.readFile ./latin1-word.bin;
}
