nix-instantiate --store unix://WORK/proxy.sock?root=WORK/root dep.nix
