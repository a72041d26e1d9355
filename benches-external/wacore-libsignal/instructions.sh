#!/bin/sh
# Instructions per operation (callgrind) for wa-signal and wacore-libsignal 0.7, from the
# twin drivers crates/wa-signal/examples/opcount.rs and examples/opcount.rs here.
# Usage (from the repository root): sh benches-external/wacore-libsignal/instructions.sh
# Each figure is (total(N2) - total(N1)) / (N2 - N1): setup cancels out. Note: valgrind does
# not emulate SHA-NI, so SHA-256 runs in software under it on both sides.
set -eu
ours_dir=${CARGO_TARGET_DIR:-target}
ext_dir=${EXT_TARGET_DIR:-benches-external/wacore-libsignal/target}
cargo build --release -q -p wa-signal --example opcount
(cd benches-external/wacore-libsignal && CARGO_TARGET_DIR="$ext_dir" cargo build --release -q --example opcount)
total() {
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>"$out" >/dev/null
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out"
    rm -f "$out"
}
per_op() { # binary op n1 n2 [subtract-op]
    a=$(total "$1" "$2" "$3"); b=$(total "$1" "$2" "$4")
    if [ -n "${5:-}" ]; then
        a=$((a - $(total "$1" "$5" "$3"))); b=$((b - $(total "$1" "$5" "$4")))
    fi
    echo $(((b - a) / ($4 - $3)))
}
case $ext_dir in /*) ext=$ext_dir ;; *) ext=benches-external/wacore-libsignal/$ext_dir ;; esac
ours=$ours_dir/release/examples/opcount
theirs=$ext/release/examples/opcount
printf '%-24s %12s %12s %8s\n' operation wa-signal wacore ratio
for spec in "session 50 150" "x3dh 10 30" "group-encrypt 100 300" "group-decrypt 100 300 group-prepare"; do
    set -- $spec
    o=$(per_op "$ours" "$@"); t=$(per_op "$theirs" "$@")
    printf '%-24s %12d %12d %8s\n' "$1" "$o" "$t" "$(awk "BEGIN{printf \"%.2fx\", $t/$o}")"
done
