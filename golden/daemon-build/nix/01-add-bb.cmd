nix-store --store unix://WORK/proxy.sock?root=WORK/root --add bb
