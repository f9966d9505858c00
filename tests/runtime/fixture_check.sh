#!/usr/bin/env bash
# The hello world fixture is still the seed's text (seeds/001, flattened onto one line there):
# with every run of whitespace collapsed to one space (and none at either end), its SHA-256 is
# the one given. Usage: fixture_check.sh FILE SHA256
set -euo pipefail
got=$(tr -s ' \t\r\n' ' ' <"$1" | sed 's/^ //; s/ $//' | tr -d '\n' | sha256sum | cut -d' ' -f1)
if [ "$got" != "$2" ]; then
  echo "FAIL: $1 differs from the seed's hello world (collapsed SHA-256 $got, expected $2)"
  exit 1
fi
echo "PASS: $1 is the seed's text (collapsed SHA-256 $got)"
