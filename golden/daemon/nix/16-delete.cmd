nix-store --store unix://WORK/proxy.sock?root=WORK/root --delete /nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt
