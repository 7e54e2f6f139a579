#!/usr/bin/env bash
# Installs what Usher needs on a fresh Debian 12 machine with Swift 6.3: the C libraries it links (libjwt, OpenSSL),
# pkg-config to find them, and — with --test — PostgreSQL (multi-instance store tests), Chromium and its driver (the chat's
# browser test), and Python with the real Pusher SDKs (pusher, pysher), PyJWT and selenium for compatibility tests
# (every Python package pinned in Tests/compat/requirements.txt).
# Idempotent and quiet when everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail
want_test=0
[[ ${1:-} == --test ]] && want_test=1
packages=(libjwt-dev libssl-dev pkg-config)
((want_test)) && packages+=(python3 python3-venv python3-pip wrk postgresql chromium chromium-driver openssl systemd procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3 from another source (pyenv, /usr/local) is fine as long as it can make a venv.
if ((want_test)) && command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=($(printf '%s\n' "${missing[@]}" | grep -vE '^python3(-venv|-pip)?$' || true))
fi
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ((want_test)); then
  venv=${USHER_VENV:-.build/venv}
  if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
  fi
  # Installed again whenever the pinned list changes (its hash is kept in the venv).
  requirements="$(dirname "$0")/../Tests/compat/requirements.txt"
  wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ $(cat "$venv/.requirements.sha256" 2>/dev/null) != "$wanted" ]]; then
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    echo "$wanted" >"$venv/.requirements.sha256"
  fi
fi
