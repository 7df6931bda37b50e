#!/usr/bin/env bash
# Accuracy yardstick (issue #4, not a test): trains the same network on the same shuffle of the
# openfield project with dlcc and with PyTorch (bench/openfield_torch.py, the same recipe), evaluates
# both as `dlcc evaluate` does, and prints one line per engine and the ratio of the test errors:
#   dlcc mobilenet_v2_0.35 3000 iters batch 8: train 3.10 px, test 5.20 px, 30.1 img/s, 800 s
# Details (machine, learning rate, loss lines, command) go to stderr. See docs/accuracy.md.
set -euo pipefail

usage() {
  cat <<EOF
usage: bench/openfield_accuracy.sh [--net NET] [--iters N] [--batch-size B] [--lr LR] [--threads T]
                                   [--seed S] [--precision P] [--dlcc-only|--torch-only] [--project SRC]
                                   [--keep]
  --net NET         mobilenet_v2_0.35 (default) or resnet_50 (any net_type both build works)
  --iters N         train iterations 0..N (default 3000), pose_cfg's multi_step becomes [[LR, N]]
  --batch-size B    pose_cfg's batch_size (default 8)
  --lr LR           the one learning rate of multi_step (default 0.005, DeepLabCut's first step)
  --threads T       compute threads of both engines (default: nproc = $(nproc))
  --seed S          seed of both trainings' initial weights and batches (default 1, the shuffle)
  --precision P     dlcc's train and evaluate --precision: f32 (default), bf16 or auto
  --dlcc-only       train and evaluate dlcc only;  --torch-only: PyTorch only
  --project SRC     the DeepLabCut project to copy (default: ../shared/data/openfield-Pranav-2018-10-30
                    next to the repository, else /work/shared/data/openfield-Pranav-2018-10-30)
  --build-dir DIR   CMake build directory, configured as Release (default: build)
  --python PATH     Python with torch (default: /usr/bin/python3)
  --keep            keep the temporary project (its path goes to stderr)
The project is copied to a temporary folder; 'dlcc create-training-dataset --shuffle 1' writes the
split and training set that both engines then train on, one after the other (never both at once).
EOF
}

command="bench/openfield_accuracy.sh${*:+ $*}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
net=mobilenet_v2_0.35
iters=3000
batch=8
lr=0.005
threads=$(nproc)
seed=1
precision=f32
engines="dlcc pytorch"
project=""
build="$root/build"
python=/usr/bin/python3
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --net) net=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --batch-size) batch=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --dlcc-only) engines=dlcc; shift ;;
    --torch-only) engines=pytorch; shift ;;
    --project) project=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
if [ -z "$project" ]; then
  if [ -d "$root/../shared" ]; then project="$root/../shared/data/openfield-Pranav-2018-10-30"
  else project=/work/shared/data/openfield-Pranav-2018-10-30; fi
fi
[ -f "$project/config.yaml" ] || { echo "openfield_accuracy.sh: $project has no config.yaml" >&2; exit 1; }
export OMP_NUM_THREADS=$threads

# A sanitizer or Debug build would measure the sanitizer: always Release.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DDLCC_SANITIZE=OFF >/dev/null
cmake --build "$build" --target dlcc -j "$threads" >/dev/null
dlcc="$build/dlcc"
tmp=$(mktemp -d)
if [ $keep = 1 ]; then echo "temporary project: $tmp/project" >&2; else trap 'rm -rf "$tmp"' EXIT; fi
cp -r "$project" "$tmp/project"
chmod -R u+w "$tmp/project"  # a read-only source stays read-only in a copy, and dlcc writes into it
config="$tmp/project/config.yaml"

"$dlcc" create-training-dataset "$config" --shuffle 1 --net-type "$net" >"$tmp/create.out" 2>&1 ||
  { cat "$tmp/create.out" >&2; exit 1; }
pose_cfg=$(sed -n 's/^ *pose_cfg: *//p' "$tmp/create.out" | head -n 1)
[ -f "$pose_cfg" ] || { echo "openfield_accuracy.sh: no pose_cfg.yaml in:" >&2; cat "$tmp/create.out" >&2; exit 1; }
# The requested settings; multi_step's list ("- [rate, until]" lines) becomes one step.
awk -v b="$batch" -v n="$iters" -v lr="$lr" '
  skip && /^- / { next }
  { skip = 0 }
  /^batch_size:/ { print "batch_size: " b; next }
  /^multi_step:/ { print "multi_step:"; print "- [" lr ", " n "]"; skip = 1; next }
  { print }' "$pose_cfg" >"$pose_cfg.new"
mv "$pose_cfg.new" "$pose_cfg"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GiB"
  echo "project: $project ($(grep -m1 'TrainingFraction' -A1 "$config" | tail -n 1 | tr -d ' -') train fraction, shuffle 1)"
  echo "recipe: $net from random weights, batch_size $batch, multi_step [[$lr, $iters]] (iterations 0..$iters)," \
       "$(sed -n 's/^optimizer: *//p' "$pose_cfg" | head -n 1 | grep . || echo sgd), seed $seed; augmentation:" \
       "$(grep -E '^(global_scale|scale_jitter_lo|scale_jitter_up|rotation|rotratio|mirror):' "$pose_cfg" | tr '\n' ' ')"
  echo "threads: $threads (OMP_NUM_THREADS, --threads, torch.set_num_threads)"
  echo "command: $command"
} >&2

# seconds DURATION: dlcc's "1h02m03s" / "2m03s" / "3s" in seconds.
seconds() { awk '{ s = 0; n = split($0, p, /[hms]/); if (n == 4) s = 3600 * p[1] + 60 * p[2] + p[3];
                   else if (n == 3) s = 60 * p[1] + p[2]; else s = p[1]; print s }' <<<"$1"; }

dlcc_line="" torch_line=""
display=$((iters >= 10 ? iters / 10 : 1))  # ten loss lines per training
if [[ $engines == *dlcc* ]]; then
  if ! "$dlcc" train "$config" --shuffle 1 --max-iters "$iters" --threads "$threads" --seed "$seed" \
       --precision "$precision" --display-iters "$display" >"$tmp/train.out" 2>"$tmp/train.err"; then
    echo "dlcc $net: train failed: $(tail -n 1 "$tmp/train.err")"
  else
    grep -h '^iteration:' "$tmp/train.out" "$tmp/train.err" | sed 's/^/dlcc /' >&2 || true
    read -r rate wall < <(sed -n 's/^Trained iterations .* in \([0-9hms]*\): \([0-9.]*\) images\/s$/\2 \1/p' "$tmp/train.out")
    if ! "$dlcc" evaluate "$config" --shuffle 1 --precision "$precision" >"$tmp/eval.out" 2>"$tmp/eval.err"; then
      echo "dlcc $net: evaluate failed: $(tail -n 1 "$tmp/eval.err")"
    else
      read -r _ train_px test_px _ < <(awk '$1 == "all"' "$tmp/eval.out")
      dlcc_line=$(printf 'dlcc %s %s %s iters batch %s: train %.2f px, test %.2f px, %.2f img/s, %.0f s' \
                  "$net" "$precision" "$iters" "$batch" "$train_px" "$test_px" "$rate" "$(seconds "$wall")")
      echo "$dlcc_line"
    fi
  fi
fi
if [[ $engines == *pytorch* ]]; then
  if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "pytorch $net: not installed in $python"
  else
    rc=0
    "$python" "$root/bench/openfield_torch.py" "$tmp/project" --shuffle 1 --iters "$iters" --threads "$threads" \
      --seed "$seed" --display-iters "$display" >"$tmp/torch.out" 2>"$tmp/torch.err" || rc=$?
  fi
  if [ -f "$tmp/torch.err" ] && [ "$rc" != 0 ]; then
    echo "pytorch $net: failed (exit status $rc$([ "$rc" -gt 128 ] && echo ", signal $((rc - 128))")): $(tail -n 1 "$tmp/torch.err")"
  elif [ -f "$tmp/torch.err" ]; then
    grep '^iteration:' "$tmp/torch.err" | sed 's/^/pytorch /' >&2 || true
    torch_line=$(grep '^pytorch ' "$tmp/torch.out")
    echo "$torch_line"
  fi
fi
if [ -n "$dlcc_line" ] && [ -n "$torch_line" ]; then
  test_of() { sed -n 's/.* test \([0-9.]*\) px.*/\1/p' <<<"$1"; }
  awk -v n="$net" -v i="$iters" -v b="$batch" -v d="$(test_of "$dlcc_line")" -v t="$(test_of "$torch_line")" \
    'BEGIN { printf "%s %s iters batch %s: test error dlcc %.2f px, pytorch %.2f px, ratio %.2f\n", n, i, b, d, t,
             (t > 0 ? d / t : 0) }'
fi
