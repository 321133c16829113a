nix-store --store unix://WORK/proxy.sock?root=WORK/root -r /nix/store/2jj39jqqqw12g1qnb2wyc2szxl2m6917-simple.drv
