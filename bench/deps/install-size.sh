#!/usr/bin/env bash
# Install size of each candidate package on its own: bytes of node_modules (du -sb), number of
# packages in its tree (package-lock entries) and native parts (.node files, binding.gyp).
#
#   bash bench/deps/install-size.sh [scratch folder, default /tmp/deps-eval/size]
#
# Installs each package alone into <scratch>/<name> (network needed; never touches the repo's
# node_modules). Also prints the size of the project's own production tree for scale, from its
# package-lock.json.
set -euo pipefail
SCRATCH=${1:-/tmp/deps-eval/size}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PACKAGES=(vega-lite vega tar cli-progress write-file-atomic commander yargs)
mkdir -p "$SCRATCH"
printf '%-18s %-9s %12s %9s %7s\n' package version bytes packages native
for p in "${PACKAGES[@]}"; do
  d="$SCRATCH/$p"
  if [ ! -d "$d/node_modules/$p" ]; then
    mkdir -p "$d"
    (cd "$d" && npm init -y >/dev/null && npm install --no-audit --no-fund "$p" >install.log 2>&1)
  fi
  version=$(node -p "require('$d/node_modules/$p/package.json').version")
  bytes=$(du -sb "$d/node_modules" | cut -f1)
  count=$(node -p "Object.keys(require('$d/package-lock.json').packages).filter(Boolean).length")
  native=$(find "$d/node_modules" \( -name '*.node' -o -name binding.gyp \) | wc -l)
  printf '%-18s %-9s %12s %9s %7s\n' "$p" "$version" "$bytes" "$count" "$native"
done
echo
# The project's runtime tree as a user on this platform installs it: package-lock entries not
# marked dev that are present on disk (so sharp's prebuilt libvips for this platform counts, the
# other platforms' do not). npm ls would also count packages that a newer checkout sharing this
# node_modules added.
mapfile -t prod < <(cd "$REPO" && node -e "
const { existsSync } = require('node:fs');
const lock = require('./package-lock.json');
for (const [k, v] of Object.entries(lock.packages)) if (k && !v.dev && !v.devOptional && existsSync(k)) console.log(k);")
echo "project production dependencies: ${#prod[@]} packages, $(cd "$REPO" && du -sbc "${prod[@]}" | tail -1 | cut -f1) bytes"
