nix-store --store unix://WORK/proxy.sock?root=WORK/root --add-fixed sha256 hello.txt
