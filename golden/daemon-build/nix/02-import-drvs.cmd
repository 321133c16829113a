sh -c nix-store --store 'unix://WORK/proxy.sock?root=WORK/root' --import < '/work/wt/i13-build/golden/daemon-build/../build/chroot/drvs.export'
