/* Tests of `dlcc train` (src/train/trainer.c, snapshots.c, train_log.c, src/cli/cmd_train.c) on
 * generated demo projects with a reduced ResNet-50 (base width 4, one block per stage): the log
 * lines and snapshots on DeepLabCut's schedule, retention, the stop flag, resume equivalence
 * (bitwise, one thread), frames without labels, the loader's size error, the loss falling, the
 * refusals, init_weights, and the command line. */
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/training_set.h"
#include "demo/demo_project.h"
#include "nn/network.h"
#include "nn/safetensors.h"
#include "project/posecfg.h"
#include "testutil.h"
#include "train/snapshots.h"
#include "train/train_log.h"
#include "train/trainer.h"
#include "util/fileio.h"

/* ---- a demo project with shuffles ready to train ---- */

typedef struct project {
  char *dir;
  char *config;
} project;

/* A small single-animal demo project (128x96 frames) with the training set of each shuffle
 * 1..shuffles, all from the same split seed, so every shuffle trains on the same data. */
static project make_project_with(const char *label, int shuffles, const char *net_type) {
  project p = {.dir = test_tempdir(label)};
  dlcc_demo_options demo;
  dlcc_demo_options_default(&demo);
  demo.frames = 24;
  demo.labeled = 8;
  demo.width = 128;
  demo.height = 96;
  dlcc_error err;
  if (dlcc_demo_project_write(p.dir, &demo, &err)) fail_msg("%s", err.message);
  p.config = dlcc_path_join(p.dir, "config.yaml");
  for (int k = 1; k <= shuffles; k++) {
    dlcc_training_set_options opt = {.shuffle = k, .seed_given = true, .seed = 7, .net_type = net_type};
    dlcc_training_set_result result;
    dlcc_notes notes = {0};
    if (dlcc_training_set_create(p.config, &opt, &result, &notes, &err)) fail_msg("%s", err.message);
    dlcc_training_set_result_free(&result);
    dlcc_notes_free(&notes);
  }
  return p;
}

static project make_project(const char *label, int shuffles) { return make_project_with(label, shuffles, NULL); }

static void free_project(project *p) {
  test_rmtree(p->dir);
  free(p->dir);
  free(p->config);
}

static char *train_dir(const project *p, int shuffle) {
  char *dir = dlcc_strdupf("%s/dlc-models/iteration-0/demoJan1-trainset95shuffle%d/train", p->dir, shuffle);
  assert_true(dlcc_path_is_dir(dir));
  return dir;
}

typedef void (*cfg_edit)(dlcc_pose_cfg *cfg);

static void set_multi_step(dlcc_pose_cfg *cfg, const dlcc_lr_step *steps, size_t n) {
  free(cfg->multi_step);
  cfg->multi_step = malloc(n * sizeof *steps);
  memcpy(cfg->multi_step, steps, n * sizeof *steps);
  cfg->n_multi_step = n;
}

/* Loads the shuffle's pose_cfg.yaml, lets the test change it, saves it. Every test lowers
 * min_input_size: 128x96 frames at the smallest jitter (0.8 x 0.5) are below 64^2 pixels. */
static void edit_pose_cfg(const project *p, int shuffle, cfg_edit edit) {
  char *dir = train_dir(p, shuffle), *path = dlcc_path_join(dir, "pose_cfg.yaml");
  dlcc_pose_cfg cfg;
  dlcc_error err;
  if (dlcc_pose_cfg_load(path, &cfg, &err)) fail_msg("%s", err.message);
  cfg.min_input_size = 16;
  if (edit) edit(&cfg);
  if (dlcc_pose_cfg_save(&cfg, path, &err)) fail_msg("%s", err.message);
  dlcc_pose_cfg_free(&cfg);
  free(path);
  free(dir);
}

/* What the progress callback saw. */
enum { MAX_SEEN = 256 };
typedef struct seen {
  int started, iterations, displays, snapshots;
  long iteration[MAX_SEEN];
  dlcc_nn_losses losses[MAX_SEEN];
  long display_iteration[MAX_SEEN];
  dlcc_nn_losses display_losses[MAX_SEEN];
  double display_lr[MAX_SEEN];
  long snapshot_iteration[MAX_SEEN];
  long stop_after;               /* > 0: raise the stop flag when this iteration is reported */
  volatile sig_atomic_t stop;
} seen;

static void record(const dlcc_train_progress *p, void *user) {
  seen *s = user;
  switch (p->event) {
  case DLCC_TRAIN_STARTED: s->started++; break;
  case DLCC_TRAIN_ITERATION:
    assert_true(s->iterations < MAX_SEEN);
    s->iteration[s->iterations] = p->iteration;
    s->losses[s->iterations++] = p->losses;
    if (s->stop_after > 0 && p->iteration == s->stop_after) s->stop = 1;
    break;
  case DLCC_TRAIN_DISPLAY:
    s->display_iteration[s->displays] = p->iteration;
    s->display_lr[s->displays] = p->lr;
    s->display_losses[s->displays++] = p->losses;
    break;
  case DLCC_TRAIN_SNAPSHOT: s->snapshot_iteration[s->snapshots++] = p->iteration; break;
  }
}

/* Options for the reduced ResNet-50 on one compute thread and one data worker. */
static dlcc_train_options small_options(const project *p, int shuffle, long max_iters, seen *s) {
  dlcc_train_options opt;
  dlcc_train_options_default(&opt);
  opt.config_path = p->config;
  opt.shuffle = shuffle;
  opt.max_iters = max_iters;
  opt.seed_given = true; /* the same for every shuffle (the default is the shuffle number) */
  opt.seed = 1;
  opt.threads = 1;
  opt.workers = 1;
  opt.reduced = (dlcc_train_reduced_net){.width = 4, .blocks = {1, 1, 1, 1}};
  opt.progress = record;
  opt.user = s;
  opt.stop = &s->stop;
  return opt;
}

static dlcc_status run(const dlcc_train_options *opt, dlcc_train_result *result, dlcc_notes *notes,
                       dlcc_error *err) {
  dlcc_notes local = {0};
  dlcc_status st = dlcc_train_run(opt, result, notes ? notes : &local, err);
  dlcc_notes_free(&local);
  return st;
}

static void run_ok(const dlcc_train_options *opt, dlcc_notes *notes) {
  dlcc_train_result result;
  dlcc_error err;
  if (run(opt, &result, notes, &err)) fail_msg("%s", err.message);
  dlcc_train_result_free(&result);
}

static bool notes_contain(const dlcc_notes *notes, const char *text) {
  for (size_t i = 0; i < notes->count; i++)
    if (strstr(notes->lines[i], text)) return true;
  return false;
}

static char *snapshot_file(const project *p, int shuffle, long iteration) {
  char *dir = train_dir(p, shuffle), *path = dlcc_strdupf("%s/snapshot-%ld.safetensors", dir, iteration);
  free(dir);
  return path;
}

static char *stats_file(const project *p, int shuffle) {
  char *dir = train_dir(p, shuffle), *path = dlcc_path_join(dir, "learning_stats.csv");
  free(dir);
  return path;
}

static bool snapshot_exists(const project *p, int shuffle, long iteration) {
  char *path = snapshot_file(p, shuffle, iteration);
  bool found = dlcc_path_is_file(path);
  free(path);
  return found;
}

/* ---- log lines and snapshots ---- */

static void two_rates(dlcc_pose_cfg *cfg) {
  const dlcc_lr_step steps[] = {{0.005, 4}, {0.001, 100}};
  set_multi_step(cfg, steps, 2);
  cfg->display_iters = 2;
  cfg->save_iters = 3;
}

/* Iterations 0..6 as DeepLabCut runs them: lines at 2, 4, 6 (means of the iterations since the
 * previous line), the rate of multi_step inclusive of a step's last iteration, snapshots at 3 and at
 * the end. */
static void test_log_lines_and_snapshots_follow_deeplabcuts_schedule(void **state) {
  (void)state;
  project p = make_project("trainlog", 1);
  edit_pose_cfg(&p, 1, two_rates);
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 6, &s);
  dlcc_train_result result;
  dlcc_notes notes = {0};
  dlcc_error err;
  if (run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(result.first_iteration, 0);
  assert_int_equal(result.last_iteration, 6);
  assert_int_equal(result.iterations, 7);
  assert_int_equal(s.started, 1);
  assert_int_equal(s.iterations, 7);
  assert_int_equal(s.displays, 3);
  const long windows[3][2] = {{0, 2}, {3, 4}, {5, 6}};
  const double rates[3] = {0.005, 0.005, 0.001};
  for (int d = 0; d < 3; d++) {
    assert_int_equal(s.display_iteration[d], windows[d][1]);
    assert_true(s.display_lr[d] == rates[d]);
    double part = 0, locref = 0, total = 0;
    for (long it = windows[d][0]; it <= windows[d][1]; it++) {
      part += s.losses[it].part;
      locref += s.losses[it].locref;
      total += s.losses[it].total;
    }
    double n = (double)(windows[d][1] - windows[d][0] + 1);
    assert_float_equal(s.display_losses[d].part, part / n, 1e-12);
    assert_float_equal(s.display_losses[d].locref, locref / n, 1e-12);
    assert_float_equal(s.display_losses[d].total, total / n, 1e-12);
    assert_true(s.display_losses[d].locref > 0);
  }
  assert_int_equal(s.snapshots, 2);
  assert_int_equal(s.snapshot_iteration[0], 3);
  assert_int_equal(s.snapshot_iteration[1], 6);
  assert_true(snapshot_exists(&p, 1, 3) && snapshot_exists(&p, 1, 6));
  char *expect = snapshot_file(&p, 1, 6);
  assert_string_equal(result.snapshot, expect);
  free(expect);

  char *log_path = dlcc_path_join(result.train_dir, "log.txt");
  char *log = test_read_file(log_path, NULL);
  char line[256];
  dlcc_train_log_record r = {.iteration = 4, .losses = s.display_losses[1], .lr = 0.005};
  dlcc_train_log_format(&r, line, sizeof line);
  char *without_speed = strstr(line, " images/s");
  *without_speed = '\0';
  assert_contains(log, line);
  assert_contains(log, " lr: 0.001 images/s: ");
  /* the time stamp DeepLabCut's logging writes: "YYYY-MM-DD HH:MM:SS iteration: 2 loss: " */
  const char *at = strstr(log, "iteration: 2 loss: ");
  assert_non_null(at);
  assert_true(at - log >= 20 && at[-1] == ' ' && at[-4] == ':' && at[-7] == ':' && at[-10] == ' ' && at[-13] == '-');
  /* learning_stats.csv: DeepLabCut's "{it}, {loss:.5f}, {lr}" at each display */
  char *stats_path = dlcc_path_join(result.train_dir, "learning_stats.csv");
  char *stats = test_read_file(stats_path, NULL), want[256];
  snprintf(want, sizeof want, "2, %.5f, 0.005\n4, %.5f, 0.005\n6, %.5f, 0.001\n", s.display_losses[0].total,
           s.display_losses[1].total, s.display_losses[2].total);
  assert_string_equal(stats, want);
  free(stats);
  free(stats_path);
  assert_true(notes_contain(&notes, "starts from random weights (seed 1)"));
  assert_true(notes_contain(&notes, "batch norm layers train with batch statistics"));
  assert_true(notes_contain(&notes, "cropratio 0.4 (CropAndPad"));
  assert_true(notes_contain(&notes, "covering"));
  free(log);
  free(log_path);
  dlcc_notes_free(&notes);
  dlcc_train_result_free(&result);
  free_project(&p);
}

static void keep_two(dlcc_pose_cfg *cfg) {
  cfg->max_snapshots_to_keep = 2;
  cfg->save_iters = 1;
}

static void test_only_the_newest_max_snapshots_to_keep_remain(void **state) {
  (void)state;
  project p = make_project("trainkeep", 1);
  edit_pose_cfg(&p, 1, keep_two);
  char *dir = train_dir(&p, 1);
  char *foreign = test_write_file(dir, "snapshot-1.index", "DeepLabCut's TensorFlow checkpoint");
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 5, &s);
  run_ok(&opt, NULL);
  assert_int_equal(s.snapshots, 5);
  for (long it = 1; it <= 3; it++) assert_false(snapshot_exists(&p, 1, it));
  assert_true(snapshot_exists(&p, 1, 4));
  assert_true(snapshot_exists(&p, 1, 5));
  assert_true(dlcc_path_is_file(foreign));
  free(foreign);
  free(dir);
  free_project(&p);
}

/* ---- stopping and resuming ---- */

static void assert_same_file(const char *a, const char *b) {
  size_t len_a, len_b;
  char *x = test_read_file(a, &len_a), *y = test_read_file(b, &len_b);
  assert_int_equal(len_a, len_b);
  if (memcmp(x, y, len_a) != 0) fail_msg("%s and %s differ", a, b);
  free(x);
  free(y);
}

/* Iterations 0..8 straight (shuffle 1); stopped by the flag after 3 and resumed (shuffle 2); 0..4
 * then resumed to 8 (shuffle 3): the last snapshots (weights, optimizer state, iteration, random
 * state) are the same bytes. */
static void test_stop_and_resume_give_the_weights_of_a_straight_run(void **state) {
  (void)state;
  project p = make_project("trainresume", 3);
  for (int k = 1; k <= 3; k++) edit_pose_cfg(&p, k, NULL);
  seen straight = {0};
  dlcc_train_options opt = small_options(&p, 1, 8, &straight);
  opt.display_iters = 1;
  run_ok(&opt, NULL);

  seen stopped = {.stop_after = 3};
  opt = small_options(&p, 2, 8, &stopped);
  opt.display_iters = 1;
  dlcc_train_result result;
  dlcc_error err;
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_INTERRUPTED);
  char *snap3 = snapshot_file(&p, 2, 3);
  assert_contains(err.message, "after iteration 3");
  assert_contains(err.message, snap3);
  assert_contains(err.message, "--shuffle 2 --resume");
  assert_string_equal(result.snapshot, snap3);
  assert_int_equal(result.last_iteration, 3);
  dlcc_train_result_free(&result);
  seen resumed = {0};
  opt = small_options(&p, 2, 8, &resumed);
  opt.display_iters = 1;
  opt.resume = true;
  dlcc_notes notes = {0};
  run_ok(&opt, &notes);
  assert_int_equal(resumed.iteration[0], 4);
  assert_true(notes_contain(&notes, "iteration 4 comes next"));
  dlcc_notes_free(&notes);
  for (int i = 0; i < resumed.iterations; i++)
    assert_true(resumed.losses[i].total == straight.losses[resumed.iteration[i]].total);

  seen half = {0};
  opt = small_options(&p, 3, 4, &half);
  opt.display_iters = 1;
  run_ok(&opt, NULL);
  opt = small_options(&p, 3, 8, &half);
  opt.display_iters = 1;
  opt.resume = true;
  run_ok(&opt, NULL);

  char *a = snapshot_file(&p, 1, 8), *b = snapshot_file(&p, 2, 8), *c = snapshot_file(&p, 3, 8);
  assert_same_file(a, b);
  assert_same_file(a, c);
  free(a);
  /* learning_stats.csv goes on after a resume: the same rows (iterations 1 to 8) as the straight run's */
  char *straight_path = stats_file(&p, 1), *rows = test_read_file(straight_path, NULL);
  int lines = 0;
  for (const char *c = rows; *c; c++) lines += *c == '\n';
  assert_int_equal(lines, 8);
  assert_true(strncmp(rows, "1, ", 3) == 0);
  free(rows);
  free(straight_path);
  for (int k = 2; k <= 3; k++) {
    char *straight_stats = stats_file(&p, 1), *resumed_stats = stats_file(&p, k);
    assert_same_file(straight_stats, resumed_stats);
    free(straight_stats);
    free(resumed_stats);
  }
  free(b);
  free(c);
  free(snap3);
  free_project(&p);
}

static void test_resume_needs_a_snapshot_and_a_new_run_never_mixes_with_one(void **state) {
  (void)state;
  project p = make_project("trainrefuse", 1);
  edit_pose_cfg(&p, 1, NULL);
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 1, &s);
  opt.resume = true;
  dlcc_train_result result;
  dlcc_error err;
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "holds no snapshot");
  assert_contains(err.message, "without --resume");
  dlcc_train_result_free(&result);
  opt.resume = false;
  run_ok(&opt, NULL);
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "already holds snapshots");
  assert_contains(err.message, "snapshot-1.safetensors");
  assert_contains(err.message, "add --resume");
  dlcc_train_result_free(&result);
  /* resumed at the end: nothing left, said in a note */
  opt.resume = true;
  dlcc_notes notes = {0};
  if (run(&opt, &result, &notes, &err)) fail_msg("%s", err.message);
  assert_int_equal(result.iterations, 0);
  assert_true(notes_contain(&notes, "nothing left to train"));
  dlcc_notes_free(&notes);
  dlcc_train_result_free(&result);
  free_project(&p);
}

/* ---- data ---- */

/* Every image of the shuffle's training set without any label. */
static void remove_all_labels(const project *p) {
  char *path = dlcc_strdupf("%s/training-datasets/iteration-0/UnaugmentedDataSet_demoJan1/demo_dlcc95shuffle1.json",
                            p->dir);
  char *text = test_read_file(path, NULL);
  cJSON *root = cJSON_Parse(text);
  assert_non_null(root);
  cJSON *image;
  cJSON_ArrayForEach(image, cJSON_GetObjectItem(root, "images")) {
    cJSON *none = cJSON_CreateArray();
    cJSON_AddItemToArray(none, cJSON_CreateArray());
    cJSON_ReplaceItemInObject(image, "joints", none);
  }
  char *out = cJSON_Print(root);
  dlcc_error err;
  if (dlcc_file_write_atomic(path, out, strlen(out), &err)) fail_msg("%s", err.message);
  free(out);
  cJSON_Delete(root);
  free(text);
  free(path);
}

/* All-background samples: a positive, finite score-map loss (every cell's target is 0), no locref
 * loss (its mask is empty). */
static void test_frames_without_labels_train_with_a_finite_loss(void **state) {
  (void)state;
  project p = make_project("trainempty", 1);
  edit_pose_cfg(&p, 1, NULL);
  remove_all_labels(&p);
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 2, &s);
  run_ok(&opt, NULL);
  assert_int_equal(s.iterations, 3);
  for (int i = 0; i < s.iterations; i++) {
    assert_true(isfinite(s.losses[i].part) && s.losses[i].part > 0);
    assert_true(s.losses[i].locref == 0);
    assert_true(s.losses[i].total == s.losses[i].part);
  }
  free_project(&p);
}

static void too_small(dlcc_pose_cfg *cfg) { cfg->min_input_size = 1000; }

static void test_a_batch_out_of_the_size_bounds_stops_with_the_loaders_message(void **state) {
  (void)state;
  project p = make_project("trainbounds", 1);
  edit_pose_cfg(&p, 1, too_small);
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 3, &s);
  dlcc_train_result result;
  dlcc_error err;
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "batch 0: ");
  assert_contains(err.message, "min_input_size");
  assert_int_equal(s.iterations, 0);
  assert_null(result.snapshot);
  dlcc_train_result_free(&result);
  free_project(&p);
}

/* A fixed scale, no rotation or mirror, two labeled frames: the network can learn them. */
static void easy(dlcc_pose_cfg *cfg) {
  cfg->scale_jitter_lo = cfg->scale_jitter_up = 1;
  cfg->rotation = 0;
  cfg->mirror = false;
  const dlcc_lr_step steps[] = {{0.02, 1000}};
  set_multi_step(cfg, steps, 1);
}

static double mean_total(const seen *s, int from, int to) {
  double sum = 0;
  for (int i = from; i < to; i++) sum += s->losses[i].total;
  return sum / (to - from);
}

static void test_the_loss_falls_on_a_tiny_problem(void **state) {
  (void)state;
  project p = make_project("trainfalls", 1);
  edit_pose_cfg(&p, 1, easy);
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 79, &s);
  run_ok(&opt, NULL);
  assert_int_equal(s.iterations, 80);
  double first = mean_total(&s, 0, 10), last = mean_total(&s, 70, 80);
  print_message("mean loss of iterations 0-9: %.4f, of 70-79: %.4f\n", first, last);
  if (!(last < 0.25 * first)) fail_msg("mean loss of iterations 0-9: %.4f, of 70-79: %.4f", first, last);
  free_project(&p);
}

/* bf16 activations, f32 master weights: the same tiny problem is learnt, the snapshot holds f32
 * tensors; without bf16 kernels the run is refused saying what to use. */
static void test_bf16_training_learns_and_keeps_f32_snapshots(void **state) {
  (void)state;
  project p = make_project("trainbf16", 1);
  edit_pose_cfg(&p, 1, easy);
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 79, &s);
  opt.precision = DLCC_NN_PRECISION_BF16;
  if (!dlcc_nn_cpu_info_get(NULL).bf16_available) {
    dlcc_train_result result;
    dlcc_error err;
    assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_UNSUPPORTED);
    assert_contains(err.message, "use --precision f32");
    dlcc_train_result_free(&result);
    free_project(&p);
    return;
  }
  run_ok(&opt, NULL);
  assert_int_equal(s.iterations, 80);
  double first = mean_total(&s, 0, 10), last = mean_total(&s, 70, 80);
  print_message("bf16: mean loss of iterations 0-9: %.4f, of 70-79: %.4f\n", first, last);
  if (!(last < 0.25 * first)) fail_msg("bf16: mean loss of iterations 0-9: %.4f, of 70-79: %.4f", first, last);
  char *path = snapshot_file(&p, 1, 79);
  dlcc_safetensors *st;
  dlcc_error err;
  if (dlcc_safetensors_open(path, &st, &err)) fail_msg("%s", err.message);
  assert_true(st->count > 10);
  for (size_t i = 0; i < st->count; i++)
    if (strcmp(st->tensors[i].dtype, "F32") && strcmp(st->tensors[i].dtype, "I64") && strcmp(st->tensors[i].dtype, "U64"))
      fail_msg("%s is %s", st->tensors[i].name, st->tensors[i].dtype);
  dlcc_safetensors_close(st);
  free(path);
  free_project(&p);
}

/* ---- set-up refusals and init_weights ---- */

static void stride_four(dlcc_pose_cfg *cfg) { cfg->stride = 4; }

static void test_what_cannot_be_trained_is_refused_by_name(void **state) {
  (void)state;
  project p = make_project("trainno", 1);
  seen s = {0};
  dlcc_train_options opt = small_options(&p, 7, 1, &s);
  dlcc_train_result result;
  dlcc_error err;
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "shuffle 7 has no training set");
  assert_contains(err.message, "create-training-dataset");
  dlcc_train_result_free(&result);
  opt = small_options(&p, 1, 1, &s);
  opt.trainingsetindex = 1;
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "trainingsetindex 1 is out of range");
  dlcc_train_result_free(&result);
  edit_pose_cfg(&p, 1, stride_four);
  opt = small_options(&p, 1, 1, &s);
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_UNSUPPORTED);
  assert_contains(err.message, "stride is 4");
  assert_contains(err.message, "stride: 8");
  dlcc_train_result_free(&result);
  free_project(&p);
}

static char *init_weights_value;

static void use_init_weights(dlcc_pose_cfg *cfg) {
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg->init_weights, init_weights_value, &err), DLCC_OK);
}

/* Writes the weights of the reduced network under seed 99 to path. */
static void write_weights(const char *path) {
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default("resnet_50", 4);
  desc.width = 4;
  for (int i = 0; i < 4; i++) desc.blocks[i] = 1;
  dlcc_nn_network *net;
  dlcc_error err;
  if (dlcc_nn_network_create(&net, &desc, &err)) fail_msg("%s", err.message);
  dlcc_rng rng;
  dlcc_rng_seed(&rng, 99);
  dlcc_nn_network_init_random(net, &rng);
  if (dlcc_nn_params_save(&net->params, path, NULL, 0, &err)) fail_msg("%s", err.message);
  dlcc_nn_network_free(net);
}

/* Shuffle 1: a safetensors file, loaded; 2: DeepLabCut's TensorFlow checkpoint, random weights and
 * a note saying why; 3: a missing .safetensors file, refused. */
static void test_init_weights_are_loaded_or_their_absence_is_explained(void **state) {
  (void)state;
  project p = make_project("traininit", 3);
  char *weights = dlcc_path_join(p.dir, "backbone.safetensors");
  write_weights(weights);
  init_weights_value = weights;
  edit_pose_cfg(&p, 1, use_init_weights);
  init_weights_value = "/nowhere/resnet_v1_50.ckpt";
  edit_pose_cfg(&p, 2, use_init_weights);
  init_weights_value = "missing.safetensors";
  edit_pose_cfg(&p, 3, use_init_weights);

  seen s = {0};
  dlcc_train_options opt = small_options(&p, 1, 1, &s);
  dlcc_notes notes = {0};
  run_ok(&opt, &notes);
  char *loaded = dlcc_strdupf("starts from %s", weights);
  assert_true(notes_contain(&notes, loaded));
  assert_false(notes_contain(&notes, "random weights"));
  assert_false(notes_contain(&notes, "batch statistics"));
  dlcc_notes_free(&notes);
  free(loaded);

  opt = small_options(&p, 2, 1, &s);
  run_ok(&opt, &notes);
  assert_true(notes_contain(&notes, "/nowhere/resnet_v1_50.ckpt, which is not a safetensors file"));
  assert_true(notes_contain(&notes, "starts from random weights"));
  assert_true(notes_contain(&notes, "batch norm layers train with batch statistics"));
  dlcc_notes_free(&notes);

  opt = small_options(&p, 3, 1, &s);
  dlcc_train_result result;
  dlcc_error err;
  assert_int_equal(run(&opt, &result, NULL, &err), DLCC_ERR_IO);
  assert_contains(err.message, "train/missing.safetensors, which does not exist");
  dlcc_train_result_free(&result);
  free(weights);
  free_project(&p);
}

/* ---- the pieces: log format, snapshot files ---- */

/* The rate as Python prints the float DeepLabCut's LearningRate returns. */
static void test_rates_print_as_python_prints_them(void **state) {
  (void)state;
  const struct {
    double v;
    const char *text;
  } cases[] = {{0.005, " lr: 0.005 "}, {0.02, " lr: 0.02 "}, {1e-05, " lr: 1e-05 "}, {0.0001, " lr: 0.0001 "},
               {1.0, " lr: 1.0 "}, {2.5e-7, " lr: 2.5e-07 "}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dlcc_train_log_record r = {.iteration = 1, .lr = cases[i].v};
    char line[256];
    dlcc_train_log_format(&r, line, sizeof line);
    assert_contains(line, cases[i].text);
  }
}

static void test_log_lines_read_as_deeplabcuts(void **state) {
  (void)state;
  dlcc_train_log_record r = {.iteration = 1000, .losses = {.part = 0.01, .locref = 0.00234, .total = 0.01234},
                             .lr = 0.005, .images_per_s = 3.214};
  char line[256];
  dlcc_train_log_format(&r, line, sizeof line);
  assert_string_equal(line,
                      "iteration: 1000 loss: 0.0123 scmap loss: 0.0100 locref loss: 0.0023 lr: 0.005 images/s: 3.21");
  r.intermediate = true;
  r.losses.part_interm = 0.5;
  dlcc_train_log_format(&r, line, sizeof line);
  assert_contains(line, "scmap loss: 0.0100 interm scmap loss: 0.5000 locref loss:");
  char *dir = test_tempdir("trainlogfile");
  char *path = dlcc_path_join(dir, "log.txt");
  FILE *f = fopen(path, "a");
  assert_true(dlcc_train_log_append(f, 0, "iteration: 1 loss: 0.5000"));
  fclose(f);
  char *text = test_read_file(path, NULL);
  assert_int_equal(strlen(text), 20 + strlen("iteration: 1 loss: 0.5000") + 1);
  assert_string_equal(text + 19, " iteration: 1 loss: 0.5000\n");
  free(text);
  free(path);
  test_rmtree(dir);
  free(dir);
}

static void test_snapshot_files_are_listed_by_iteration_and_pruned_oldest_first(void **state) {
  (void)state;
  char *dir = test_tempdir("trainsnaps");
  const char *names[] = {"snapshot-10.safetensors", "snapshot-2.safetensors", "snapshot-100.safetensors",
                         "snapshot-007.safetensors", "snapshot-5.index", "snapshot-5.safetensors.tmp-1",
                         "snapshotx-3.safetensors", "snapshot-.safetensors"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) free(test_write_file(dir, names[i], "x"));
  char *prefix = dlcc_path_join(dir, "snapshot");
  long *its;
  size_t n;
  dlcc_error err;
  assert_int_equal(dlcc_snapshots_list(prefix, &its, &n, &err), DLCC_OK);
  assert_int_equal(n, 3);
  assert_int_equal(its[0], 2);
  assert_int_equal(its[1], 10);
  assert_int_equal(its[2], 100);
  free(its);
  size_t removed;
  assert_int_equal(dlcc_snapshots_prune(prefix, 1, &removed, &err), DLCC_OK);
  assert_int_equal(removed, 2);
  assert_int_equal(dlcc_snapshots_list(prefix, &its, &n, &err), DLCC_OK);
  assert_int_equal(n, 1);
  assert_int_equal(its[0], 100);
  free(its);
  char *kept = dlcc_path_join(dir, "snapshot-007.safetensors");
  assert_true(dlcc_path_is_file(kept));
  free(kept);
  char *missing = dlcc_path_join(dir, "none/snapshot");
  assert_int_equal(dlcc_snapshots_list(missing, &its, &n, &err), DLCC_OK);
  assert_int_equal(n, 0);
  assert_null(its);
  free(missing);
  free(prefix);
  test_rmtree(dir);
  free(dir);
}

/* ---- the command line ---- */

static void test_train_explains_itself_and_refuses_bad_options(void **state) {
  (void)state;
  char *out;
  assert_int_equal(test_run_dlcc("train --help", &out), 0);
  assert_contains(out, "usage: dlcc train CONFIG");
  assert_contains(out, "--resume");
  assert_contains(out, "log.txt");
  free(out);
  assert_int_equal(test_run_dlcc("train x/config.yaml --frobnicate", &out), 2);
  assert_contains(out, "unknown option --frobnicate");
  assert_contains(out, "Try 'dlcc train --help'");
  free(out);
  assert_int_equal(test_run_dlcc("train x/config.yaml --max-iters 0", &out), 2);
  assert_contains(out, "--max-iters");
  free(out);
  assert_int_equal(test_run_dlcc("train", &out), 2);
  assert_contains(out, "give exactly one CONFIG");
  free(out);
  assert_int_equal(test_run_dlcc("train /nonexistent/config.yaml", &out), 1);
  assert_contains(out, "dlcc train: error: ");
  free(out);
}

/* The whole verb on the real-size mobilenet_v2_0.35: plain lines when stderr is not a terminal,
 * then the summary. */
static void test_train_runs_with_plain_progress_lines_and_a_summary(void **state) {
  (void)state;
  project p = make_project_with("traincli", 1, "mobilenet_v2_0.35");
  edit_pose_cfg(&p, 1, NULL);
  char *args = dlcc_strdupf("train '%s' --max-iters 1 --display-iters 1 --threads 1", p.config), *out;
  assert_int_equal(test_run_dlcc(args, &out), 0);
  char *snapshot = snapshot_file(&p, 1, 1);
  assert_true(dlcc_path_is_file(snapshot));
  assert_contains(out, "Training mobilenet_v2_0.35 (f32) in ");
  assert_contains(out, "\niteration: 1 loss: ");
  assert_contains(out, "\nsaved ");
  assert_contains(out, "Trained iterations 0 to 1 (2 iterations) in ");
  char *line = dlcc_strdupf("Snapshot: %s\n", snapshot);
  assert_contains(out, line);
  assert_true(strchr(out, '\r') == NULL);
  free(line);
  free(out);
  free(args);
  args = dlcc_strdupf("train '%s'", p.config);
  assert_int_equal(test_run_dlcc(args, &out), 1);
  assert_contains(out, "already holds snapshots");
  free(out);
  free(args);
  free(snapshot);
  free_project(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rates_print_as_python_prints_them),
      cmocka_unit_test(test_log_lines_read_as_deeplabcuts),
      cmocka_unit_test(test_snapshot_files_are_listed_by_iteration_and_pruned_oldest_first),
      cmocka_unit_test(test_log_lines_and_snapshots_follow_deeplabcuts_schedule),
      cmocka_unit_test(test_only_the_newest_max_snapshots_to_keep_remain),
      cmocka_unit_test(test_stop_and_resume_give_the_weights_of_a_straight_run),
      cmocka_unit_test(test_resume_needs_a_snapshot_and_a_new_run_never_mixes_with_one),
      cmocka_unit_test(test_frames_without_labels_train_with_a_finite_loss),
      cmocka_unit_test(test_a_batch_out_of_the_size_bounds_stops_with_the_loaders_message),
      cmocka_unit_test(test_the_loss_falls_on_a_tiny_problem),
    cmocka_unit_test(test_bf16_training_learns_and_keeps_f32_snapshots),
      cmocka_unit_test(test_what_cannot_be_trained_is_refused_by_name),
      cmocka_unit_test(test_init_weights_are_loaded_or_their_absence_is_explained),
      cmocka_unit_test(test_train_explains_itself_and_refuses_bad_options),
      cmocka_unit_test(test_train_runs_with_plain_progress_lines_and_a_summary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
