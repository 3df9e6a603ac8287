#!/usr/bin/env bash
# Proof that the robot build works, without a robot: cross-builds for aarch64 with every
# feature at a glibc floor of 2.27 (JetPack 4), checks that no symbol needs a newer glibc,
# and runs the aarch64 binary's simulator under qemu, comparing its decisions with this
# machine's build.
#
# Needs, once: rustup target add aarch64-unknown-linux-gnu; pip install cargo-zigbuild;
# apt-get install qemu-user libclang-dev libc6-dev-arm64-cross linux-libc-dev-arm64-cross
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
floor=2.27
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=/usr/aarch64-linux-gnu -I/usr/aarch64-linux-gnu/include"

echo "== cross-build ($target, glibc $floor, all features)"
cargo zigbuild --release --target "$target.$floor" --all-features
bin="target/$target/release/digitbot"
file "$bin" 2>/dev/null || true

echo "== glibc symbol versions"
newest=$(readelf -W --version-info --dyn-syms "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
echo "newest glibc symbol needed: $newest (floor $floor)"
if [ "$(printf '%s\n%s\n' "$newest" "$floor" | sort -V | tail -1)" != "$floor" ]; then
    echo "FAIL: the binary needs glibc $newest, newer than JetPack 4's $floor" >&2
    exit 1
fi

echo "== simulator under qemu-aarch64"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
scenario=tests/fixtures/actions.toml
qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" --version
RUST_LOG=warn qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" --sim --fast --frames 300 \
    --scenario "$scenario" --decisions "$out/arm.jsonl" >/dev/null
cargo build --release --quiet
RUST_LOG=warn target/release/digitbot --sim --fast --frames 300 --scenario "$scenario" \
    --decisions "$out/x86.jsonl" >/dev/null

# Digits and actions must match frame for frame (timings and the last digits of the
# probabilities may differ between the two machines' kernels).
decisions() { grep -o '"frame":[0-9]*,"t_ms":[0-9]*,"digit":[0-9a-z]*' "$1"; grep -o '"action":"[a-z]*","reason":"[^"]*"' "$1"; }
frames=$(wc -l <"$out/arm.jsonl")
if ! diff <(decisions "$out/x86.jsonl") <(decisions "$out/arm.jsonl") >"$out/diff"; then
    echo "FAIL: the aarch64 build decided differently:" >&2
    head -20 "$out/diff" >&2
    exit 1
fi
echo "aarch64 decisions over $((frames - 1)) frames match the x86_64 build:"
grep -o '"action":"[a-z]*","reason":"[^"]*"' "$out/arm.jsonl" | sed 's/^/  /'
echo "OK"
