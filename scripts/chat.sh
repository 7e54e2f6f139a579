#!/usr/bin/env bash
# The chat from the Pusher blog post, end to end on loopback: starts Usher, the reference relay (`usher relay`) and
# the chat's app server (Examples/chat), prints the URL to open, and stops everything on Ctrl-C.
# Installs what is missing first (scripts/bootstrap.sh --test: Python venv with the `pusher` SDK and PyJWT).
# Arguments go to Examples/chat/stack.py: --port 8000 --usher-port 8080 --relay-port 6001 --grace-ms 3000 --state-dir DIR
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
swift build --product usher
exec .build/venv/bin/python Examples/chat/stack.py --usher-bin "$(swift build --show-bin-path)/usher" "$@"
