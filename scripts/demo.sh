#!/usr/bin/env bash
# `make demo`: generate a project with dlcc itself, then run the job on it, saying what each step did.
# The project goes to build/demo-project (recreated each run; nothing outside build/ is touched).
set -euo pipefail
cd "$(dirname "$0")/.."
dlcc=./build/dlcc
project=build/demo-project

rm -rf "$project"
echo "== 1. dlcc make-demo-project $project"
"$dlcc" make-demo-project "$project"
echo
echo "== 2. dlcc check-project $project/config.yaml"
"$dlcc" check-project "$project/config.yaml"
echo
echo "== 3. dlcc create-training-dataset $project/config.yaml --shuffle 1"
"$dlcc" create-training-dataset "$project/config.yaml" --shuffle 1
echo
echo "Done. The project is in $project: open $project/config.yaml, the video in $project/videos/,"
echo "the labels in $project/labeled-data/. Training, evaluation and video analysis come next (issue #4)."
