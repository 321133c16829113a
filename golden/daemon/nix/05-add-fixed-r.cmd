nix-store --store unix://WORK/proxy.sock?root=WORK/root --add-fixed --recursive sha1 tree
