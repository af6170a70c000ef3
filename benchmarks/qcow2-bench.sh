#!/bin/sh
# Side by side: `jhv-img bench` versus `qemu-img bench` on the same qcow2 images.
# Cases: 4 KiB "random" (a large odd stride, as qemu-img bench has no random mode) and 64 KiB
# sequential, read and write, on a standalone image and on an empty overlay over a backing file.
# Prints both run times and the throughput ratio jhv/qemu (> 1 means jhv is faster).
# Environment: SIZE (default 256M), COUNT4K (default 100000), COUNT64K (default 40000), DEPTH (default 16).
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
jhvimg="$root/jhv-img"
size=${SIZE:-256M}
c4=${COUNT4K:-100000}
c64=${COUNT64K:-40000}
depth=${DEPTH:-16}
dir=$(mktemp -d /tmp/qcow2-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM

[ -f "$root/hv-launcher/target/jhv.jar" ] || "$root/scripts/build-jars"

# Templates: a fully written image, an empty overlay on it, and an empty image.
qemu-img create -q -f qcow2 "$dir/full.qcow2" "$size"
qemu-io -c "write -P 0x5a 0 $size" "$dir/full.qcow2" >/dev/null
qemu-img create -q -f qcow2 "$dir/empty.qcow2" "$size"
qemu-img create -q -f qcow2 -b full.qcow2 -F qcow2 "$dir/overlay.qcow2"

secs() { sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p'; }

run_case() { # name template rw bufsize step count
    name=$1 tmpl=$2 rw=$3 bs=$4 step=$5 count=$6
    w=""; [ "$rw" = write ] && w="-w"
    for tool in qemu jhv; do
        cp "$dir/$tmpl" "$dir/run-$tool.qcow2"
        if [ "$tool" = qemu ]; then
            t=$(qemu-img bench -f qcow2 -t writeback $w -c "$count" -d "$depth" -s "$bs" -S "$step" "$dir/run-$tool.qcow2" | secs)
        else
            t=$("$jhvimg" bench -f qcow2 -t writeback $w -c "$count" -d "$depth" -s "$bs" -S "$step" "$dir/run-$tool.qcow2" 2>"$dir/err" | secs)
            [ -n "$t" ] || { grep -v '^WARNING: Using incubator' "$dir/err" >&2; exit 1; }
        fi
        eval "t_$tool=\$t"
        rm -f "$dir/run-$tool.qcow2"
    done
    ratio=$(awk -v q="$t_qemu" -v j="$t_jhv" 'BEGIN { printf "%.2f", q / j }')
    printf '%-34s %10s %10s %8s\n' "$name" "$t_qemu" "$t_jhv" "$ratio"
}

printf '%-34s %10s %10s %8s\n' "case ($size image, depth $depth)" "qemu s" "jhv s" "jhv/qemu"
stride=1052672 # 1 MiB + 4 KiB: scatters 4 KiB requests over the image
for img in full overlay; do
    label=standalone; src=full.qcow2
    if [ "$img" = overlay ]; then label=backing; src=overlay.qcow2; fi
    run_case "4k random read ($label)" "$src" read 4096 $stride "$c4"
    run_case "64k sequential read ($label)" "$src" read 65536 65536 "$c64"
    wsrc=empty.qcow2; [ "$img" = overlay ] && wsrc=overlay.qcow2
    run_case "4k random write ($label)" "$wsrc" write 4096 $stride "$c4"
    run_case "64k sequential write ($label)" "$wsrc" write 65536 65536 "$c64"
done
