#!/usr/bin/env bash
# Benchmark (not a test) of issue #5's end-to-end job: `dlcc analyze-videos` on the openfield video
# (m3v1mp4.mp4, 2330 frames of 640x480), decoding, network, peaks and CSV included, with a snapshot of
# the given network (weights after one training iteration: speed does not depend on them). One line
# per precision:
#   resnet_50 analyze-videos f32 m3v1mp4 2330 frames: 123.4 s, 18.9 frames/s, batch 8
# Details go to stderr. See docs/performance.md.
set -euo pipefail

usage() {
  cat <<EOF
usage: bench/analyze_video.sh [--net NET] [--precision LIST] [--batch-size B] [--threads N] [--build-dir DIR]
  --net NET          mobilenet_v2_0.35 (default), resnet_50, ... (any net_type dlcc trains)
  --precision LIST   comma-separated precisions to time (default f32,bf16; bf16 only where the CPU has it)
  --batch-size B     analyze-videos --batch-size (default 8)
  --threads N        OpenMP threads (default: all cores)
  --build-dir DIR    CMake build directory, configured as Release (default: build)
The openfield project is copied to a temporary folder, which is removed at the end.
EOF
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
net=mobilenet_v2_0.35
precisions=f32,bf16
batch=8
threads=$(nproc --all)
build="$root/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --net) net=$2; shift 2 ;;
    --precision) precisions=$2; shift 2 ;;
    --batch-size) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
export OMP_NUM_THREADS=$threads

project=""
for candidate in "$root/../shared/data/openfield-Pranav-2018-10-30" /work/shared/data/openfield-Pranav-2018-10-30; do
  [ -f "$candidate/config.yaml" ] && { project=$candidate; break; }
done
[ -n "$project" ] || { echo "analyze_video.sh: the openfield project is not in ../shared/data" >&2; exit 1; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDLCC_SANITIZE=OFF >/dev/null
cmake --build "$build" -j "$(nproc --all)" --target dlcc >/dev/null
dlcc="$build/dlcc"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$project" "$tmp/project"
config="$tmp/project/config.yaml"
video="$tmp/project/videos/m3v1mp4.mp4"
"$dlcc" create-training-dataset "$config" --shuffle 1 --net-type "$net" >"$tmp/create.out" 2>&1
"$dlcc" train "$config" --shuffle 1 --max-iters 1 --threads "$threads" >"$tmp/train.out" 2>&1

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) CPUs; $("$dlcc" --version | head -n 1)"
  echo "threads: $threads, batch size $batch"
} >&2

IFS=, read -r -a list <<<"$precisions"
for precision in "${list[@]}"; do
  dest="$tmp/out-$precision"
  start=$(date +%s.%N)
  if ! "$dlcc" analyze-videos "$config" "$video" --batch-size "$batch" --precision "$precision" \
       --destfolder "$dest" >"$tmp/analyze.out" 2>"$tmp/analyze.err"; then
    echo "$net analyze-videos $precision m3v1mp4: failed: $(tail -n 1 "$tmp/analyze.err")"
    continue
  fi
  end=$(date +%s.%N)
  frames=$(sed -n 's/.*: \([0-9]*\) frames (.*/\1/p' "$tmp/analyze.out" | head -n 1)
  awk -v n="$net" -v p="$precision" -v f="$frames" -v s="$start" -v e="$end" -v b="$batch" \
    'BEGIN { t = e - s; printf "%s analyze-videos %s m3v1mp4 %d frames: %.1f s, %.1f frames/s, batch %d\n", n, p, f, t, f / t, b }'
done
