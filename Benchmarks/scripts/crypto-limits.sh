#!/usr/bin/env bash
# Usher's crypto hot paths against OpenSSL's own limits on this machine, in one run, so the ratios are fair on a
# shared machine whose absolute speed drifts.
#
#   Benchmarks/scripts/crypto-limits.sh [SECONDS]      # SECONDS per openssl measurement, default 3
#
# Order: build → `openssl speed ecdsap256` and `openssl speed -hmac sha256` on 40-byte blocks → the AuthBenchmarks
# for ES256 issue/verify and HMAC → `openssl speed ecdsap256` again. The OpenSSL figure used for a ratio is the mean
# of the run before and the run after. Both sides are per wall-clock second of one thread (`openssl speed -elapsed`;
# the benchmark's median sample), so other work on a shared machine slows both alike instead of only ours (OpenSSL's
# default divides by its own CPU time, which contention does not inflate).
#
# OpenSSL's ecdsap256 signs a bare 20-byte digest; our "JWT issue ES256" also builds the header and payload JSON,
# base64url-encodes, hashes the signing input and converts the DER signature to JOSE form. Target (issue 3/6):
# ES256 issue >= 70% of the openssl sign rate.
set -euo pipefail

seconds="${1:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== $(openssl version); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo "== building the benchmarks (release)"
swift package --scratch-path .build benchmark list --target AuthBenchmarks >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }

ecdsa() { # prints "sign/s verify/s"
    openssl speed -elapsed -mr -seconds "$seconds" ecdsap256 2>/dev/null | awk -F: '/^\+F4:/ { print $4, $5 }'
}

echo "== openssl speed -seconds $seconds ecdsap256 (before)"
read -r sign1 verify1 < <(ecdsa)
echo "sign/s $sign1  verify/s $verify1"

echo "== openssl speed -seconds $seconds -bytes 40 -hmac sha256"
hmac_bytes=$(openssl speed -elapsed -mr -seconds "$seconds" -bytes 40 -hmac sha256 2>/dev/null | awk -F: '/^\+F:/ { print $4 }')
echo "HMAC-SHA256(40 bytes)/s $(python3 -c "print(round($hmac_bytes / 40))")"

echo "== swift package benchmark (AuthBenchmarks: ES256 issue/verify, HMAC)"
swift package --scratch-path .build benchmark --target AuthBenchmarks \
    --filter 'JWT issue ES256' --filter 'JWT verify ES256' --filter 'HMAC raw.*' --filter 'HMAC auth string.*' \
    --format jmh --path stdout --no-progress >"$work/jmh.json" 2>"$work/bench.log" \
    || { cat "$work/bench.log"; exit 1; }

echo "== openssl speed -seconds $seconds ecdsap256 (after)"
read -r sign2 verify2 < <(ecdsa)
echo "sign/s $sign2  verify/s $verify2"

python3 - "$work/jmh.json" "$sign1" "$sign2" "$verify1" "$verify2" "$hmac_bytes" <<'EOF'
import json, sys

path, sign1, sign2, verify1, verify2, hmac_bytes = sys.argv[1], *map(float, sys.argv[2:])
# Every AuthBenchmarks benchmark runs 1,000 operations per measured iteration (scalingFactor .kilo); the jmh export
# is per iteration, so the median wall-clock time per iteration gives the per-operation rate.
SCALE = 1000
UNITS = {"ns": 1e-9, "μs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ours = {}
# The plugin may print build lines on stdout before the JSON array.
text = open(path).read()
start = text.find("[{")
if start < 0:
    sys.exit("no benchmark results in the output:\n" + text)
for entry in json.JSONDecoder().raw_decode(text[start:])[0]:
    name = entry["benchmark"].rsplit(".", 1)[-1]
    wall = entry["secondaryMetrics"]["Time (wall clock)"]
    per_iteration = wall["scorePercentiles"]["50.0"] * UNITS[wall["scoreUnit"]]
    mallocs = entry["secondaryMetrics"].get("Malloc (total)", {}).get("scorePercentiles", {}).get("50.0")
    ours[name] = (SCALE / per_iteration, None if mallocs is None else mallocs / SCALE)

def find(prefix):
    for name, value in ours.items():
        if name.startswith(prefix):
            return value
    sys.exit(f"benchmark {prefix} missing from the run")

sign = (sign1 + sign2) / 2
verify = (verify1 + verify2) / 2
hmac = hmac_bytes / 40
rows = [
    ("JWT issue ES256", find("JWT_issue_ES256"), "openssl ecdsap256 sign", sign),
    ("JWT verify ES256", find("JWT_verify_ES256"), "openssl ecdsap256 verify", verify),
    ("HMAC raw hexMAC (40 B)", find("HMAC_raw"), "openssl -hmac sha256, 40 B", hmac),
    ("HMAC auth string (private)", find("HMAC_auth_string"), "openssl -hmac sha256, 40 B", hmac),
]
print()
print(f"{'Usher (in-process, 1 thread)':30} {'ops/s':>10} {'mallocs/op':>11}   {'OpenSSL limit':28} {'ops/s':>10} {'ratio':>7}")
for label, (rate, mallocs), limit_label, limit in rows:
    m = "-" if mallocs is None else f"{mallocs:.1f}"
    print(f"{label:30} {rate:10.0f} {m:>11}   {limit_label:28} {limit:10.0f} {rate / limit:7.1%}")
print(f"\nES256 sign rate before/after: {sign1:.0f} / {sign2:.0f}; target: JWT issue ES256 >= 70% of it "
      f"({'met' if find('JWT_issue_ES256')[0] >= 0.7 * sign else 'NOT met'}).")
EOF
