nix-store --store unix://WORK/proxy.sock?root=WORK/root -r /nix/store/67bpmwvcj3s0pizw5xsifaykcz0l6dhx-fod-bad.drv
