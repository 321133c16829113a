#!/bin/sh
echo "hook failing for $DRV_PATH"
exit 3
