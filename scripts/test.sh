#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds, runs the Swift tests (unit + HTTP over loopback) and the
# Python compatibility tests that drive a real `usher serve` with the real Pusher SDK and PyJWT.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
swift build --build-tests
swift test --skip-build --parallel --num-workers 2
USHER_BIN="$(swift build --show-bin-path)/usher" .build/venv/bin/python -m pytest -q Tests/compat
