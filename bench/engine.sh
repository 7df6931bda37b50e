#!/usr/bin/env bash
# Benchmark (not a test) of issue #3: dlcc's network engine (bench/bench_engine.c) and the same
# network in PyTorch (bench/torch_engine.py, Debian's python3-torch) on DeepLabCut's jobs, one after
# the other with the same thread count, one line per job:
#   resnet_50 infer f32 b1 640x480: dlcc 3.10 img/s, pytorch 1.50 img/s, ratio 2.07
# Details (machine, mean rates, how busy the machine was) go to stderr. See docs/performance.md.
set -euo pipefail

usage() {
  cat <<EOF
usage: bench/engine.sh [--threads N] [--build-dir DIR] [--python PATH]
  --threads N      OpenMP threads for both engines (default: nproc = $(nproc))
  --build-dir DIR  CMake build directory, configured as Release (default: build, as 'make' uses)
  --python PATH    Python with torch (default: /usr/bin/python3, Debian's python3-torch)
  --smoke          the same jobs at 64x48, one iteration: checks the script in seconds, measures nothing
Runs each job in dlcc, then in PyTorch, never both at once (two OpenMP programs on the same cores
slow each other down by far more than half). Takes about 10 minutes on 2 cores.
EOF
}

command="bench/engine.sh${*:+ $*}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
threads=$(nproc)
build="$root/build"
python=/usr/bin/python3
smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
export OMP_NUM_THREADS=$threads

# A sanitizer or Debug build would measure the sanitizer: always Release.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDLCC_SANITIZE=OFF >/dev/null
cmake --build "$build" --target bench_engine -j "$threads" >/dev/null
bench="$build/bench/bench_engine"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

have_torch=1
torch_version=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null) || have_torch=0
read -r _ isa _ bf16 _ _ _ onednn _ _ < <("$bench" --cpu-info --threads "$threads")
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GiB"
  echo "dlcc: oneDNN $onednn, ISA $isa, bf16 $([ "$bf16" = 1 ] && echo available || echo unavailable)"
  echo "pytorch: $([ $have_torch = 1 ] && echo "$torch_version ($python)" || echo "not found in $python")"
  echo "threads: $threads (OMP_NUM_THREADS, --threads, torch.set_num_threads)"
  echo "command: $command"
} >&2

# field NAME LINE: the value after NAME in a 'result ...' line.
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

# run_side PROGRAM ARGS...: its result line, or nothing (its last error line in $tmp/err).
run_side() {
  "$@" 2>"$tmp/err" | grep '^result ' || true
}

# job DTYPE NET MODE BATCH SIZE WARMUP ITERS MIN_SECONDS
job() {
  local dtype=$1 net=$2 mode=$3 batch=$4 size=$5
  [ $smoke = 1 ] && set -- "$1" "$2" "$3" "$4" 64x48 0 1 0 && size=64x48
  local label="$net $mode $dtype b$batch $size"
  local args=(--net "$net" --mode "$mode" --dtype "$dtype" --batch "$batch" --size "$size" --threads "$threads"
              --warmup "$6" --iters "$7" --min-seconds "$8")
  local d t
  d=$(run_side "$bench" "${args[@]}")
  if [ -z "$d" ]; then
    if grep -q 'is not a network dlcc builds' "$tmp/err"; then
      echo "$label: not available yet (dlcc does not build $net)"
    else
      echo "$label: dlcc failed: $(tail -n 1 "$tmp/err")"
    fi
    return
  fi
  if [ $have_torch = 0 ]; then
    echo "$label: dlcc $(field img_per_s "$d") img/s, pytorch not installed"
    return
  fi
  t=$(run_side "$python" "$root/bench/torch_engine.py" "${args[@]}")
  if [ -z "$t" ]; then
    echo "$label: dlcc $(field img_per_s "$d") img/s, pytorch failed: $(tail -n 1 "$tmp/err")"
    return
  fi
  awk -v l="$label" -v d="$(field img_per_s "$d")" -v t="$(field img_per_s "$t")" \
    'BEGIN { printf "%s: dlcc %.2f img/s, pytorch %.2f img/s, ratio %.2f\n", l, d, t, d / t }'
  if [ "$mode" = train ]; then
    awk -v l="$label" -v d="$(field maxrss_kib "$d")" -v t="$(field maxrss_kib "$t")" \
      'BEGIN { printf "%s peak resident memory: dlcc %.0f MiB, pytorch %.0f MiB\n", l, d / 1024, t / 1024 }'
  fi
  awk -v di="$(field iters "$d")" -v ti="$(field iters "$t")" -v dm="$(field mean_img_per_s "$d")" \
      -v tm="$(field mean_img_per_s "$t")" -v dc="$(field others_cpu "$d")" -v tc="$(field others_cpu "$t")" \
    'BEGIN { printf "  (fastest of %d / %d timed iterations; mean dlcc %.2f, pytorch %.2f img/s; " \
             "other processes used %.0f%% / %.0f%% of the CPUs meanwhile)\n", di, ti, dm, tm, 100 * dc, 100 * tc }' >&2
}

# The jobs of issue #3. Warm-up iterations (primitive creation, first touch) are not timed; the rate
# is that of the fastest timed iteration. ResNet-50 training at batch 8 takes tens of seconds a step
# on 2 cores, hence 2 timed steps.
jobs_for() {
  local dtype=$1
  job "$dtype" resnet_50 train 8 512x384 1 2 0
  job "$dtype" resnet_50 infer 1 640x480 1 3 10
  job "$dtype" resnet_50 infer 8 640x480 1 2 0
  job "$dtype" mobilenet_v2_0.35 infer 1 640x480 2 5 10
}

jobs_for f32
if [ "$bf16" = 1 ]; then
  jobs_for bf16
else
  echo "bf16: not available on this CPU (oneDNN dispatches to $isa; bf16 needs AVX-512 or newer)"
fi
