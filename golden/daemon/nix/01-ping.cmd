nix store ping --store unix://WORK/proxy.sock?root=WORK/root
