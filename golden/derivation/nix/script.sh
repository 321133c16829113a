#!/bin/sh
echo building > $out
