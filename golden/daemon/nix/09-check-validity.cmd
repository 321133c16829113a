nix-store --store unix://WORK/proxy.sock?root=WORK/root --check-validity /nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt /nix/store/00000000000000000000000000000000-x
