# Shared set-up for the HTTP benchmark scripts (source it from the repository root).
# bench_prepare: packages, wrk, a release `usher` in $usher, a work dir $work, and $pids killed on exit.
# bench_hs256_app ID: app ID in $work/keys with an HS256 identity secret ($secret, $work/identity.secret) and
#   $work/usher.yaml allowing private-* and presence-* channels.

bench_prepare() {
  scripts/bootstrap.sh
  command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
  swift build -c release --product usher >/dev/null
  usher="$(swift build -c release --show-bin-path)/usher"
  work=$(mktemp -d); pids=()
  trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
}

bench_hs256_app() {
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s' "$secret" > "$work/identity.secret"; chmod 600 "$work/identity.secret"
  "$usher" apps create --id "$1" --name "$1" --keys "$work/keys" >/dev/null
  cat > "$work/usher.yaml" <<YAML
apps:
  - id: $1
    identity: { hs256_secret_file: identity.secret }
    channels:
      - match: "private-*"
      - match: "presence-*"
YAML
}
