sh -c nix-store --store 'unix://WORK/proxy.sock?root=WORK/root' --import < hello.export
