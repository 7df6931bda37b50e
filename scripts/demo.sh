#!/usr/bin/env bash
# `make demo`: generate a project with dlcc itself, then run the whole job on it (create the training
# dataset, train, evaluate, analyse the video, compare the analysis with the ground truth), saying what
# each step did. The project goes to build/demo-project (recreated each run; nothing outside build/ is
# touched). DLCC_DEMO_NET and DLCC_DEMO_ITERS choose the network and the training length.
set -euo pipefail
cd "$(dirname "$0")/.."
dlcc=./build/dlcc
project=build/demo-project
config="$project/config.yaml"
net="${DLCC_DEMO_NET:-mobilenet_v2_0.35}"   # small enough to train from scratch in minutes on 2 cores
iters="${DLCC_DEMO_ITERS:-3000}"

rm -rf "$project"
echo "== 1. dlcc make-demo-project $project"
"$dlcc" make-demo-project "$project"
echo
echo "== 2. dlcc check-project $config"
"$dlcc" check-project "$config"
echo
echo "== 3. dlcc create-training-dataset $config --shuffle 1 --net-type $net"
"$dlcc" create-training-dataset "$config" --shuffle 1 --net-type "$net"
echo
if ! "$dlcc" --help | grep -q '^  train '; then
  echo "This build of dlcc has no 'train' verb yet; the demo stops here." >&2
  exit 1
fi
echo "== 4. dlcc train $config --shuffle 1 --max-iters $iters"
"$dlcc" train "$config" --shuffle 1 --max-iters "$iters"
echo
echo "== 5. dlcc evaluate $config --shuffle 1"
"$dlcc" evaluate "$config" --shuffle 1
echo
echo "== 6. dlcc analyze-videos $config $project/videos/demo.mp4 --shuffle 1"
"$dlcc" analyze-videos "$config" "$project/videos/demo.mp4" --shuffle 1
echo
analysis=$(ls "$project"/videos/demoDLC_*.csv | grep -v '\.partial\.csv$' | head -n 1)
truth="$project/ground-truth/demo_all_frames.csv"
echo "== 7. dlcc evaluate-tracks $analysis $truth"
tracks=$("$dlcc" evaluate-tracks "$analysis" "$truth")
echo "$tracks"
echo
# CombinedEvaluation-results.csv: index, iterations, %train, shuffle, train error, test error, ...
test_error=$(tail -n 1 "$project/evaluation-results/iteration-0/CombinedEvaluation-results.csv" | cut -d, -f6)
read -r video_error video_within < <(echo "$tracks" | awk '$1 == "all" {print $2, $3}')
echo "Done ($net, $iters iterations). Test error on the held-out labeled frames: ${test_error:-?} px."
echo "Analysed video against the ground truth of every frame: mean error $video_error px, $video_within of"
echo "the keypoints within 5 px. The project, its model and outputs are in $project."
