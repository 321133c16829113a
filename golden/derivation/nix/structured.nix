# Structured attributes: everything goes into env.__json.
derivation {
  name = "structured";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ "-c" "true" ];
  outputs = [ "out" "doc" ];
  __structuredAttrs = true;
  nested = { a = 1; b = [ "x" "y\n\"z\"" ]; c = { d = null; e = true; f = 1.5; }; };
  unicode = "héllo ☃ 😀";
}
