nix path-info --store unix://WORK/proxy.sock?root=WORK/root --all
