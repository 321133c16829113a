nix path-info --store unix://WORK/proxy.sock?root=WORK/root --json -r /nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt
