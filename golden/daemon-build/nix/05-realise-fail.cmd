nix-store --store unix://WORK/proxy.sock?root=WORK/root -r /nix/store/5aiqarhrqr68cv0n8syv15sawc1yflb4-fail.drv
