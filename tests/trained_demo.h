/* Shared by tests/test_evaluate_cli.c, test_evaluate_ma_cli.c and test_analyze.c: a small generated
 * demo project with shuffle 1 created for mobilenet_v2_0.35 (a full-size network that is cheap at the demo's 160x128)
 * and snapshots written by dlcc_nn_snapshot_save from the network built from the shuffle's
 * pose_cfg, randomly initialised: what `dlcc train` leaves, without training. Header-only. */
#ifndef DLCC_TESTS_TRAINED_DEMO_H
#define DLCC_TESTS_TRAINED_DEMO_H

#include <stdio.h>
#include <stdlib.h>

#include "dataset/training_set.h"
#include "demo/demo_project.h"
#include "image/image.h"
#include "nn/engine.h"
#include "nn/network.h"
#include "nn/snapshot.h"
#include "project/config.h"
#include "project/layout.h"
#include "project/posecfg.h"
#include "testutil.h"
#include "util/fileio.h"
#include "util/rng.h"

enum { TD_FRAMES = 20, TD_LABELED = 10, TD_WIDTH = 160, TD_HEIGHT = 128 };

#define TD_NET "mobilenet_v2_0.35"
#define TD_MODEL_DIR "dlc-models/iteration-0/demoJan1-trainset95shuffle1"
#define TD_EVAL_DIR "evaluation-results/iteration-0/demoJan1-trainset95shuffle1"

/* A demo project in a fresh temp folder with shuffle 1 created (no snapshot yet); caller frees. */
static inline char *td_make_project(const char *label, int animals) {
  char *dir = test_tempdir(label);
  dlcc_demo_options opt;
  dlcc_demo_options_default(&opt);
  opt.animals = animals;
  opt.frames = TD_FRAMES;
  opt.labeled = TD_LABELED;
  opt.width = TD_WIDTH;
  opt.height = TD_HEIGHT;
  dlcc_error err;
  if (dlcc_demo_project_write(dir, &opt, &err)) fail_msg("%s", err.message);
  if (animals > 1) return dir;
  char *config = dlcc_path_join(dir, "config.yaml");
  dlcc_training_set_options ts = {.shuffle = 1, .net_type = TD_NET};
  dlcc_training_set_result result;
  dlcc_notes notes = {0};
  if (dlcc_training_set_create(config, &ts, &result, &notes, &err)) fail_msg("%s", err.message);
  dlcc_training_set_result_free(&result);
  dlcc_notes_free(&notes);
  free(config);
  return dir;
}

/* A multi-animal demo project of `animals` animals (TD_FRAMES frames of TD_WIDTH x TD_HEIGHT) with
 * shuffle 1 created for TD_NET: its pose_cfg has the part-affinity-field head over every pair of body
 * parts and test/inference_cfg.yaml is written. No snapshot yet; caller frees. */
static inline char *td_make_ma_project(const char *label, int animals) {
  char *dir = td_make_project(label, animals);
  char *config = dlcc_path_join(dir, "config.yaml");
  dlcc_training_set_options ts = {.shuffle = 1, .net_type = TD_NET};
  dlcc_training_set_result result;
  dlcc_notes notes = {0};
  dlcc_error err;
  if (dlcc_training_set_create(config, &ts, &result, &notes, &err)) fail_msg("%s", err.message);
  dlcc_training_set_result_free(&result);
  dlcc_notes_free(&notes);
  free(config);
  return dir;
}

/* Runs one training forward on the project's first labeled image with momentum 1, so that every batch
 * norm's running statistics become that image's: a randomly initialised MobileNetV2 otherwise shrinks
 * its activations block after block (identity statistics) until all score-map logits are ~1e-6 and
 * the arg-max is decided by rounding. Calibrated, the logits are of order 1 and distinct. */
static inline void td_calibrate_batch_norm(dlcc_nn_network *net, const char *project) {
  char *path = dlcc_path_join(project, "labeled-data/demo/img0000.png");
  dlcc_image img = {0};
  dlcc_nn_engine *e = NULL;
  dlcc_error err;
  if (dlcc_image_load(path, &img, &err) || dlcc_nn_engine_create(&e, 1, &err)) fail_msg("%s", err.message);
  size_t plane = (size_t)img.width * (size_t)img.height;
  float *x = malloc(3 * plane * sizeof *x);
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++) x[(size_t)c * plane + i] = img.rgb[3 * i + (size_t)c];
  const int64_t dims[4] = {1, 3, img.height, img.width};
  if (dlcc_nn_network_forward(net, e, x, dims, DLCC_NN_TRAINING, &err)) fail_msg("%s", err.message);
  free(x);
  dlcc_nn_engine_free(e);
  dlcc_image_free(&img);
  free(path);
}

/* Writes <model dir>/train/snapshot-<iteration>.safetensors from the network of test/pose_cfg.yaml,
 * initialised from seed (batch norm calibrated on one image). */
static inline void td_write_snapshot(const char *project, long iteration, uint64_t seed) {
  char *cfg_path = dlcc_strdupf("%s/" TD_MODEL_DIR "/test/pose_cfg.yaml", project);
  char *snap = dlcc_strdupf("%s/" TD_MODEL_DIR "/train/snapshot-%ld.safetensors", project, iteration);
  dlcc_pose_cfg pc;
  dlcc_nn_net_desc desc;
  dlcc_nn_network *net = NULL;
  dlcc_error err;
  if (dlcc_pose_cfg_load(cfg_path, &pc, &err) || dlcc_nn_net_desc_from_cfg(&pc, &desc, &err) ||
      (desc.bn_momentum = 1.0, dlcc_nn_network_create(&net, &desc, &err)))
    fail_msg("%s", err.message);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  dlcc_nn_network_init_random(net, &rng);
  td_calibrate_batch_norm(net, project);
  if (dlcc_nn_snapshot_save(snap, pc.net_type, &net->params, NULL, iteration, NULL, &err)) fail_msg("%s", err.message);
  dlcc_nn_network_free(net);
  dlcc_pose_cfg_free(&pc);
  free(cfg_path);
  free(snap);
}

/* "<project>/<rel>"; caller frees. */
static inline char *td_path(const char *project, const char *rel) { return dlcc_path_join(project, rel); }

#endif
