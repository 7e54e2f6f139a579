#!/usr/bin/env bash
# Installs what Usher needs on a fresh Debian 12 machine with Swift 6.3: the C libraries it links (libjwt, OpenSSL),
# pkg-config to find them, and — with --test — Python with the real Pusher SDK and PyJWT for compatibility tests.
# Idempotent and quiet when everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail
want_test=0
[[ ${1:-} == --test ]] && want_test=1
packages=(libjwt-dev libssl-dev pkg-config)
((want_test)) && packages+=(python3 python3-venv python3-pip wrk)
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
  "$venv/bin/python" -c 'import pusher, jwt, pytest, requests' 2>/dev/null \
    || "$venv/bin/pip" install -q --disable-pip-version-check 'pusher==3.3.4' 'PyJWT[crypto]>=2.8' 'pytest>=8' 'requests>=2.31'
fi
