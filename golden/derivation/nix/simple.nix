# The smallest derivation: one output, empty args list, no inputs.
derivation {
  name = "simple";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ ];
}
