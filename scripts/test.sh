#!/usr/bin/env bash
# Runs the test files given as folders or files (default: every part), with Node's test runner.
# The files are found here and handed to the runner by name: a folder or a single file can be given,
# and node_modules is never searched.
set -euo pipefail
cd "$(dirname "$0")/.."
roots=("$@")
[ ${#roots[@]} -gt 0 ] || roots=(core scraper processor lake-query dashboard tests)
mapfile -t files < <(find "${roots[@]}" -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files under: ${roots[*]}" >&2
  exit 1
fi
exec node --import tsx --test --test-timeout=300000 "${files[@]}"
