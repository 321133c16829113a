nix build --store unix://WORK/proxy.sock?root=WORK/root --no-link /nix/store/6vg2y6xjnlyjd9c7ca0dn6s23sgbhy48-multi.drv
