#!/usr/bin/env bash
# Runs Usher on its embedded default: in-memory store, keys/ created on first run, a dev app with printed
# credentials, anonymous subscribers allowed (--dev). Extra arguments go to `usher serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
swift build -c release --product usher
exec "$(swift build -c release --show-bin-path)/usher" serve --dev "$@"
