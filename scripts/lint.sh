#!/usr/bin/env bash
# `npm run lint`: ESLint with typescript-eslint's type-aware rules and the layer boundaries
# (docs/architecture.md), then knip for exports nothing imports. The linters live in tools/lint
# with their own TypeScript 5 (typescript-eslint needs TypeScript's JavaScript API, which the
# project's TypeScript 7 does not have); they are installed there on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lint=tools/lint
if [ ! -x "$lint/node_modules/.bin/eslint" ] || [ "$lint/package-lock.json" -nt "$lint/node_modules/.package-lock.json" ]; then
  echo "lint: installing the linters in $lint" >&2
  npm ci --prefix "$lint" --no-audit --no-fund --loglevel=error >/dev/null
fi
node_modules/.bin/node "$lint/node_modules/eslint/bin/eslint.js" -c "$lint/eslint.config.js" --max-warnings 0 src ui/src
node_modules/.bin/node "$lint/node_modules/knip/bin/knip.js" --include exports,types --no-progress
echo "lint: no findings"
