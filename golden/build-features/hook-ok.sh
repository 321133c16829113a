#!/bin/sh
echo "DRV_PATH=$DRV_PATH"
echo "OUT_PATHS=$OUT_PATHS"
echo to-stderr >&2
printf 'no newline'
