/* Tests of src/project/posecfg: DeepLabCut's defaults for single-animal and maDLC projects, loading
 * DeepLabCut-written pose_cfg.yaml files and their loose forms, range errors (file, line, key, value,
 * rule, default), saving that keeps unknown keys, and the multi_step learning-rate schedule. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "project/posecfg.h"
#include "testutil.h"
#include "util/fileio.h"

static char *g_dir;

/* Exact equality: the values come from the same decimal text DeepLabCut writes. */
#define assert_dbl(a, b) assert_same_double((a), (b), #a, __FILE__, __LINE__)
static void assert_same_double(double a, double b, const char *what, const char *file, int line) {
  if (a != b) fail_msg("%s:%d: %s is %.17g, expected %.17g", file, line, what, a, b);
}

static int make_dir(void **state) {
  (void)state;
  g_dir = test_tempdir("posecfg");
  return 0;
}

static int remove_dir(void **state) {
  (void)state;
  test_rmtree(g_dir);
  free(g_dir);
  return 0;
}

/* A train/pose_cfg.yaml as DeepLabCut 2.2 writes it for the openfield example (PyYAML: keys sorted,
 * block lists), with one key DeepLabCut added later (scmap_type) that dlcc does not type. */
static const char *const DLC_OPENFIELD[] = {
    "all_joints:",                           /* 1 */
    "- - 0",
    "- - 1",
    "- - 2",
    "- - 3",                                 /* 5 */
    "all_joints_names:",
    "- snout",
    "- leftear",
    "- rightear",
    "- tailbase",                            /* 10 */
    "alpha_r: 0.02",
    "apply_prob: 0.5",
    "batch_size: 1",
    "contrast:",
    "  clahe: true",                         /* 15 */
    "  claheratio: 0.1",
    "  histeq: true",
    "  histeqratio: 0.1",
    "convolution:",
    "  edge: false",                         /* 20 */
    "  emboss:",
    "    alpha:",
    "    - 0.0",
    "    - 1.0",
    "    strength:",                         /* 25 */
    "    - 0.5",
    "    - 1.5",
    "  embossratio: 0.1",
    "  sharpen: false",
    "  sharpenratio: 0.3",                   /* 30 */
    "cropratio: 0.4",
    "dataset: training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/openfield_Pranav95shuffle1.mat",
    "dataset_type: imgaug",
    "decay_steps: 30000",
    "display_iters: 1000",                   /* 35 */
    "global_scale: 0.8",
    "init_weights: /usr/local/lib/python3.8/dist-packages/deeplabcut/pose_estimation_tensorflow/models/"
    "pretrained/resnet_v1_50.ckpt",
    "intermediate_supervision: false",
    "intermediate_supervision_layer: 12",
    "location_refinement: true",             /* 40 */
    "locref_huber_loss: true",
    "locref_loss_weight: 0.05",
    "locref_stdev: 7.2801",
    "lr_init: 0.0005",
    "max_input_size: 1500",                  /* 45 */
    "metadataset: training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/"
    "Documentation_data-openfield_95shuffle1.pickle",
    "min_input_size: 64",
    "mirror: false",
    "multi_stage: false",
    "multi_step:",                           /* 50 */
    "- - 0.005",
    "  - 10000",
    "- - 0.02",
    "  - 430000",
    "- - 0.002",                             /* 55 */
    "  - 730000",
    "- - 0.001",
    "  - 1030000",
    "net_type: resnet_50",
    "num_joints: 4",                         /* 60 */
    "optimizer: sgd",
    "pairwise_huber_loss: false",
    "pairwise_predict: false",
    "partaffinityfield_predict: false",
    "pos_dist_thresh: 17",                   /* 65 */
    "project_path: /home/mackenzie/DEEPLABCUT/openfield-Pranav-2018-10-30",
    "regularize: false",
    "rotation: 25",
    "rotratio: 0.4",
    "save_iters: 50000",                     /* 70 */
    "scale_jitter_lo: 0.5",
    "scale_jitter_up: 1.25",
    "scmap_type: plateau",
    "weigh_only_present_joints: false",
};

/* A short single-animal file, one key a line, so that a test can swap one line. */
static const char *const SINGLE[] = {
    "dataset: training-datasets/x.mat",                       /* 1 */
    "num_joints: 4",
    "all_joints: [[0], [1], [2], [3]]",
    "all_joints_names: [snout, leftear, rightear, tailbase]",
    "net_type: resnet_50",                                    /* 5 */
    "global_scale: 0.8",
    "pos_dist_thresh: 17",
    "scale_jitter_lo: 0.5",
    "scale_jitter_up: 1.25",
    "batch_size: 1",                                          /* 10 */
    "min_input_size: 64",
    "max_input_size: 1500",
    "stride: 8.0",
    "locref_stdev: 7.2801",
    "multi_step: [[0.005, 10000], [0.02, 430000]]",           /* 15 */
    "rotation: 25",
    "rotratio: 0.4",
    "cropratio: 0.4",
    "fg_fraction: 0.25",
    "optimizer: sgd",                                         /* 20 */
};

/* The same for a maDLC project (3 body parts of a fly). */
static const char *const MADLC[] = {
    "dataset: training-datasets/x.pickle",                    /* 1 */
    "dataset_type: multi-animal-imgaug",
    "num_joints: 3",
    "all_joints: [[0], [1], [2]]",
    "all_joints_names: [head, thorax, abdomen]",              /* 5 */
    "partaffinityfield_graph: [[0, 1], [1, 2], [0, 2]]",
    "num_limbs: 3",
    "partaffinityfield_predict: true",
    "pafwidth: 20",
    "crop_size: [400, 400]",                                  /* 10 */
    "crop_sampling: hybrid",
    "batch_size: 8",
};

#define LINES(a) (a), sizeof(a) / sizeof *(a)

/* The lines joined, with the line of `key` (or the line that is `key`) replaced by `line`; `line` is
 * appended when no line matches. */
static char *text_with(const char *const *lines, size_t n, const char *key, const char *line) {
  dlcc_strbuf sb = {0};
  bool replaced = false;
  size_t key_len = key ? strlen(key) : 0;
  for (size_t i = 0; i < n; i++) {
    bool match = key && !strncmp(lines[i], key, key_len) && (lines[i][key_len] == ':' || !lines[i][key_len]);
    dlcc_strbuf_printf(&sb, "%s\n", match ? line : lines[i]);
    replaced = replaced || match;
  }
  if (key && !replaced) dlcc_strbuf_printf(&sb, "%s\n", line);
  assert_false(sb.failed);
  return sb.data;
}

static char *write_text(const char *name, const char *text) { return test_write_file(g_dir, name, text); }

static void load_ok(const char *text, dlcc_pose_cfg *cfg) {
  char *path = write_text("pose_cfg.yaml", text);
  dlcc_error err = {0};
  if (dlcc_pose_cfg_load(path, cfg, &err) != DLCC_OK) fail_msg("%s", err.message);
  free(path);
}

static void load_with_ok(const char *const *lines, size_t n, const char *key, const char *line, dlcc_pose_cfg *cfg) {
  char *text = text_with(lines, n, key, line);
  load_ok(text, cfg);
  free(text);
}

/* Loads the lines with one line swapped; the load must fail with a message containing `expected`
 * (after "<dir>/pose_cfg.yaml"). */
static void assert_load_fails(const char *const *lines, size_t n, const char *key, const char *line,
                              const char *expected) {
  char *text = text_with(lines, n, key, line);
  char *path = write_text("pose_cfg.yaml", text);
  dlcc_pose_cfg cfg;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_load(path, &cfg, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, path);
  assert_contains(err.message, expected);
  assert_null(cfg.doc); /* nothing left to free */
  free(path);
  free(text);
}

static void test_single_animal_defaults_are_deeplabcuts_template(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  assert_false(cfg.multianimal);
  assert_int_equal(cfg.max_input_size, 1500);
  assert_int_equal(cfg.min_input_size, 64);
  assert_dbl(cfg.global_scale, 0.8);
  assert_int_equal(cfg.batch_size, 1);
  assert_dbl(cfg.pos_dist_thresh, 17);
  assert_dbl(cfg.scale_jitter_lo, 0.5);
  assert_dbl(cfg.scale_jitter_up, 1.25);
  assert_dbl(cfg.stride, 8);
  assert_true(cfg.location_refinement);
  assert_dbl(cfg.locref_stdev, 7.2801);
  assert_dbl(cfg.locref_loss_weight, 0.05);
  assert_true(cfg.locref_huber_loss);
  assert_false(cfg.intermediate_supervision);
  assert_int_equal(cfg.intermediate_supervision_layer, 12);
  assert_false(cfg.weigh_only_present_joints);
  assert_dbl(cfg.mean_pixel[0], 123.68);
  assert_dbl(cfg.mean_pixel[1], 116.779);
  assert_dbl(cfg.mean_pixel[2], 103.939);
  assert_string_equal(cfg.optimizer, "sgd");
  assert_string_equal(cfg.dataset_type, "imgaug");
  assert_string_equal(cfg.net_type, "resnet_50");
  assert_int_equal(cfg.n_multi_step, 4);
  const dlcc_lr_step expected[] = {{0.005, 10000}, {0.02, 430000}, {0.002, 730000}, {0.001, 1030000}};
  for (size_t i = 0; i < 4; i++) {
    assert_dbl(cfg.multi_step[i].lr, expected[i].lr);
    assert_int_equal(cfg.multi_step[i].until_iteration, expected[i].until_iteration);
  }
  assert_dbl(cfg.rotation, 25);
  assert_dbl(cfg.rotratio, 0.4);
  assert_false(cfg.mirror);
  assert_dbl(cfg.cropratio, 0.4);
  assert_true(cfg.contrast.clahe);
  assert_dbl(cfg.contrast.claheratio, 0.1);
  assert_true(cfg.convolution.emboss);
  assert_dbl(cfg.convolution.emboss_strength[1], 1.5);
  assert_dbl(cfg.convolution.sharpenratio, 0.3);
  assert_true(cfg.covering); /* pose_imgaug.py turns these on when the file does not say */
  assert_true(cfg.motion_blur);
  assert_int_equal(cfg.display_iters, 1000);
  assert_int_equal(cfg.save_iters, 50000);
  assert_dbl(cfg.lr_init, 0.0005);
  assert_int_equal(cfg.decay_steps, 30000);
  assert_dbl(cfg.alpha_r, 0.02);
  assert_int_equal(cfg.num_joints, 0);
  assert_null(cfg.dataset);
  assert_null(cfg.doc);
  dlcc_pose_cfg_free(&cfg);
}

static void test_madlc_defaults_follow_create_multianimaltraining_dataset(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, true, &err), DLCC_OK);
  assert_true(cfg.multianimal);
  assert_int_equal(cfg.batch_size, 8);
  assert_string_equal(cfg.optimizer, "adam");
  assert_string_equal(cfg.dataset_type, "multi-animal-imgaug");
  assert_int_equal(cfg.n_multi_step, 3);
  assert_dbl(cfg.multi_step[0].lr, 1e-4);
  assert_int_equal(cfg.multi_step[0].until_iteration, 7500);
  assert_dbl(cfg.multi_step[1].lr, 5e-5);
  assert_int_equal(cfg.multi_step[1].until_iteration, 12000);
  assert_dbl(cfg.multi_step[2].lr, 1e-5);
  assert_int_equal(cfg.multi_step[2].until_iteration, 200000);
  assert_dbl(cfg.pairwise_loss_weight, 0.1);
  assert_dbl(cfg.pafwidth, 20);
  assert_int_equal(cfg.crop_size[0], 400);
  assert_int_equal(cfg.crop_size[1], 400);
  assert_string_equal(cfg.crop_sampling, "hybrid");
  assert_dbl(cfg.max_shift, 0.4);
  assert_int_equal(cfg.save_iters, 10000);
  assert_int_equal(cfg.display_iters, 500);
  assert_true(cfg.multi_stage); /* dlcrnet_ms5 */
  assert_int_equal(cfg.num_idchannel, 0);
  assert_int_equal(cfg.nmsradius, 5);
  assert_dbl(cfg.minconfidence, 0.01);
  assert_false(cfg.covering); /* pose_multianimal_imgaug.py leaves these off */
  assert_false(cfg.motion_blur);
  /* shared with single animal */
  assert_dbl(cfg.global_scale, 0.8);
  assert_dbl(cfg.pos_dist_thresh, 17);
  assert_dbl(cfg.locref_stdev, 7.2801);
  dlcc_pose_cfg_free(&cfg);
}

static void test_deeplabcut_written_pose_cfg_loads_every_value(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  char *text = text_with(LINES(DLC_OPENFIELD), NULL, NULL);
  load_ok(text, &cfg);
  assert_false(cfg.multianimal);
  assert_string_equal(cfg.dataset,
                      "training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/openfield_Pranav95shuffle1.mat");
  assert_string_equal(cfg.metadataset, "training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/"
                                       "Documentation_data-openfield_95shuffle1.pickle");
  assert_string_equal(cfg.project_path, "/home/mackenzie/DEEPLABCUT/openfield-Pranav-2018-10-30");
  assert_contains(cfg.init_weights, "pretrained/resnet_v1_50.ckpt");
  assert_int_equal(cfg.num_joints, 4);
  assert_int_equal(cfg.n_joints, 4);
  assert_int_equal(cfg.n_all_joints, 4);
  const char *names[] = {"snout", "leftear", "rightear", "tailbase"};
  for (int i = 0; i < 4; i++) {
    assert_string_equal(cfg.all_joints_names[i], names[i]);
    assert_int_equal(cfg.all_joints[i][0], i);
  }
  assert_string_equal(cfg.net_type, "resnet_50");
  assert_int_equal(cfg.n_multi_step, 4);
  assert_dbl(cfg.multi_step[2].lr, 0.002);
  assert_int_equal(cfg.multi_step[2].until_iteration, 730000);
  assert_dbl(cfg.global_scale, 0.8);
  assert_dbl(cfg.pos_dist_thresh, 17);
  assert_dbl(cfg.locref_stdev, 7.2801);
  assert_dbl(cfg.rotation, 25);
  assert_dbl(cfg.convolution.emboss_alpha[1], 1.0);
  assert_dbl(cfg.convolution.emboss_strength[0], 0.5);
  assert_false(cfg.convolution.sharpen);
  assert_string_equal(cfg.optimizer, "sgd");
  assert_int_equal(cfg.n_limbs, 0);
  /* DeepLabCut puts snapshots next to the file, whatever the file says. */
  char *expected_prefix = dlcc_path_join(g_dir, "snapshot");
  assert_string_equal(cfg.snapshot_prefix, expected_prefix);
  assert_contains(cfg.source_path, "pose_cfg.yaml");
  const dlcc_yaml_node *unknown = dlcc_yaml_map_get(cfg.doc, "scmap_type");
  assert_non_null(unknown);
  assert_string_equal(unknown->scalar, "plateau");
  free(expected_prefix);
  free(text);
  dlcc_pose_cfg_free(&cfg);
}

static void test_madlc_pose_cfg_is_recognised_and_reads_its_graph(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  load_with_ok(LINES(MADLC), NULL, NULL, &cfg);
  assert_true(cfg.multianimal);
  assert_int_equal(cfg.n_limbs, 3);
  assert_int_equal(cfg.num_limbs, 3);
  assert_int_equal(cfg.partaffinityfield_graph[2][0], 0);
  assert_int_equal(cfg.partaffinityfield_graph[2][1], 2);
  assert_true(cfg.partaffinityfield_predict);
  assert_string_equal(cfg.optimizer, "adam"); /* not in the file: maDLC's default */
  assert_int_equal(cfg.n_multi_step, 3);
  dlcc_pose_cfg_free(&cfg);

  /* A graph alone marks a maDLC file; num_limbs and all_joints follow when absent. */
  load_ok("dataset: x.pickle\nnum_joints: 2\nall_joints_names: [a, b]\npartaffinityfield_graph: [[0, 1]]\n", &cfg);
  assert_true(cfg.multianimal);
  assert_int_equal(cfg.num_limbs, 1);
  assert_int_equal(cfg.n_all_joints, 2);
  assert_int_equal(cfg.all_joints[1][0], 1);
  assert_int_equal(cfg.batch_size, 8);
  dlcc_pose_cfg_free(&cfg);
}

static void test_rotation_reads_false_number_and_true(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  load_with_ok(LINES(SINGLE), "rotation", "rotation: False", &cfg);
  assert_dbl(cfg.rotation, 0);
  dlcc_pose_cfg_free(&cfg);
  load_with_ok(LINES(SINGLE), "rotation", "rotation: 12", &cfg);
  assert_dbl(cfg.rotation, 12);
  dlcc_pose_cfg_free(&cfg);
  load_with_ok(LINES(SINGLE), "rotation", "rotation: True", &cfg);
  assert_dbl(cfg.rotation, 25); /* pose_imgaug.py's angle for a non-integer value */
  dlcc_pose_cfg_free(&cfg);
  load_with_ok(LINES(MADLC), "rotation", "rotation: yes", &cfg);
  assert_dbl(cfg.rotation, 10); /* pose_multianimal_imgaug.py's */
  dlcc_pose_cfg_free(&cfg);
}

static void test_loose_forms_read_as_deeplabcut_reads_them(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  load_with_ok(LINES(SINGLE), "mirror", "mirror: True", &cfg);
  assert_true(cfg.mirror);
  dlcc_pose_cfg_free(&cfg);
  load_with_ok(LINES(SINGLE), "mirror", "mirror: 0", &cfg);
  assert_false(cfg.mirror);
  dlcc_pose_cfg_free(&cfg);
  /* Iterations written as Python floats; a block list of flow pairs. */
  load_with_ok(LINES(SINGLE), "multi_step", "multi_step:\n- [0.005, 1.0e+4]\n- [0.02, 430000.0]", &cfg);
  assert_int_equal(cfg.n_multi_step, 2);
  assert_int_equal(cfg.multi_step[0].until_iteration, 10000);
  assert_int_equal(cfg.multi_step[1].until_iteration, 430000);
  dlcc_pose_cfg_free(&cfg);
  /* all_joints as a flat list of indices (as superanimal configs write it). */
  load_with_ok(LINES(SINGLE), "all_joints", "all_joints: [0, 1, 2, 3]", &cfg);
  assert_int_equal(cfg.n_all_joints, 4);
  assert_int_equal(cfg.all_joints[3][0], 3);
  dlcc_pose_cfg_free(&cfg);
  /* test/pose_cfg.yaml writes nmsradius: 5.0; a contrast augmenter may be a map of parameters. */
  load_with_ok(LINES(SINGLE), "nmsradius", "nmsradius: 5.0\ncontrast:\n  gamma: {gamma: [0.5, 2.0]}\n  clahe: off",
               &cfg);
  assert_int_equal(cfg.nmsradius, 5);
  assert_true(cfg.contrast.gamma);
  assert_false(cfg.contrast.clahe);
  assert_true(cfg.contrast.histeq); /* the template's, as the file does not say */
  dlcc_pose_cfg_free(&cfg);
  load_with_ok(LINES(SINGLE), "gaussian_noise", "gaussian_noise: True\npre_resize: []\nconvolution:\n  emboss: false",
               &cfg);
  assert_dbl(cfg.gaussian_noise, 12.75);
  assert_int_equal(cfg.pre_resize[0], 0);
  assert_false(cfg.convolution.emboss);
  dlcc_pose_cfg_free(&cfg);
}

static void test_global_scale_error_names_file_line_value_and_default(void **state) {
  (void)state;
  assert_load_fails(LINES(DLC_OPENFIELD), "global_scale", "global_scale: -0.5",
                    "pose_cfg.yaml line 36: global_scale is -0.5; it must be greater than 0 "
                    "(DeepLabCut's default is 0.8)");
}

static void test_each_number_out_of_range_is_named_with_its_rule(void **state) {
  (void)state;
  static const struct {
    const char *key, *line, *expected;
  } cases[] = {
      {"pos_dist_thresh", "pos_dist_thresh: 0",
       "line 7: pos_dist_thresh is 0; it must be greater than 0 (DeepLabCut's default is 17)"},
      {"scale_jitter_lo", "scale_jitter_lo: 0",
       "line 8: scale_jitter_lo is 0; it must be greater than 0 (DeepLabCut's default is 0.5)"},
      {"batch_size", "batch_size: 0", "line 10: batch_size is 0; it must be at least 1 (DeepLabCut's default is 1)"},
      {"min_input_size", "min_input_size: 0",
       "line 11: min_input_size is 0; it must be at least 1 (DeepLabCut's default is 64)"},
      {"stride", "stride: 0", "line 13: stride is 0; it must be greater than 0 (DeepLabCut's default is 8)"},
      {"locref_stdev", "locref_stdev: -7.2801",
       "line 14: locref_stdev is -7.2801; it must be greater than 0 (DeepLabCut's default is 7.2801)"},
      {"rotation", "rotation: 200", "line 16: rotation is 200; it must be between -180 and 180 "
                                    "(DeepLabCut's default is 25)"},
      {"rotratio", "rotratio: 1.5", "line 17: rotratio is 1.5; it must be between 0 and 1 "
                                    "(DeepLabCut's default is 0.4)"},
      {"cropratio", "cropratio: -0.1", "line 18: cropratio is -0.1; it must be between 0 and 1"},
      {"fg_fraction", "fg_fraction: 2", "line 19: fg_fraction is 2; it must be between 0 and 1 "
                                        "(DeepLabCut's default is 0.25)"},
      {"global_scale", "global_scale: .nan", "line 6: global_scale is nan; it must be a finite number"},
      {"pafwidth", "pafwidth: 0", "line 21: pafwidth is 0; it must be greater than 0 (DeepLabCut's default is 20)"},
      {"crop_size", "crop_size: [400, 0]",
       "line 21: crop_size is [400, 0]; each value must be greater than 0 (DeepLabCut's default is [400, 400])"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    assert_load_fails(LINES(SINGLE), cases[i].key, cases[i].line, cases[i].expected);
}

static void test_choices_are_listed_when_a_value_is_not_one_of_them(void **state) {
  (void)state;
  assert_load_fails(LINES(SINGLE), "optimizer", "optimizer: rmsprop",
                    "line 20: optimizer is rmsprop; it must be one of sgd, adam (DeepLabCut's default is sgd)");
  assert_load_fails(LINES(MADLC), "crop_sampling", "crop_sampling: grid",
                    "line 11: crop_sampling is grid; it must be one of uniform, keypoints, density, hybrid "
                    "(DeepLabCut's default is hybrid)");
  assert_load_fails(LINES(SINGLE), "net_type", "net_type:",
                    "line 5: net_type is empty; give a value or remove the line to use the default "
                    "(DeepLabCut's default is resnet_50)");
  assert_load_fails(LINES(SINGLE), "dataset_type", "dataset_type: imgaug2",
                    "line 21: dataset_type is imgaug2; it must be one of imgaug, default, deterministic, "
                    "scalecrop, tensorpack, multi-animal-imgaug");
}

static void test_wrong_types_say_what_was_found_and_what_is_expected(void **state) {
  (void)state;
  assert_load_fails(LINES(SINGLE), "global_scale", "global_scale: abc",
                    "line 6: global_scale is abc; it must be a number (DeepLabCut's default is 0.8)");
  assert_load_fails(LINES(SINGLE), "global_scale", "global_scale: \"0.8\"",
                    "line 6: global_scale is \"0.8\" (in quotes, so text); it must be a number");
  assert_load_fails(LINES(SINGLE), "batch_size", "batch_size: 1.5",
                    "line 10: batch_size is 1.5; it must be a whole number (DeepLabCut's default is 1)");
  assert_load_fails(LINES(SINGLE), "mirror", "mirror: maybe",
                    "line 21: mirror is maybe; it must be true or false (DeepLabCut's default is false)");
  assert_load_fails(LINES(SINGLE), "crop_size", "crop_size: [400]",
                    "line 21: crop_size is [400]; it must be a list of 2 whole numbers");
  assert_load_fails(LINES(SINGLE), "all_joints", "all_joints: [[0, 5], [1], [2], [3]]",
                    "line 3: the 1st item of all_joints is [0, 5]; each item must be a list of one body part index");
  assert_load_fails(LINES(SINGLE), "multi_step", "multi_step: [0.005, 10000]",
                    "line 15: the 1st item of multi_step is 0.005; each item must be a pair [learning rate, last "
                    "iteration], such as [0.005, 10000]");
}

static void test_multi_step_must_have_positive_rates_and_increasing_iterations(void **state) {
  (void)state;
  assert_load_fails(LINES(SINGLE), "multi_step", "multi_step: []",
                    "line 15: multi_step is empty; it must list [learning rate, last iteration] pairs "
                    "(DeepLabCut's default is [[0.005, 10000], [0.02, 430000], [0.002, 730000], [0.001, 1030000]])");
  assert_load_fails(LINES(SINGLE), "multi_step", "multi_step: [[0.005, 10000], [-0.02, 430000]]",
                    "line 15: the 2nd item of multi_step is [-0.02, 430000]; its learning rate must be greater than 0");
  assert_load_fails(LINES(SINGLE), "multi_step", "multi_step: [[0.005, 10000], [0.02, 10000]]",
                    "line 15: the 2nd item of multi_step is [0.02, 10000]; iterations must increase from one pair "
                    "to the next");
  /* In DeepLabCut's block layout the message points at the pair's own line. */
  assert_load_fails(LINES(DLC_OPENFIELD), "- - 0.002", "- - 0",
                    "line 55: the 3rd item of multi_step is [0, 730000]; its learning rate must be greater than 0");
}

static void test_related_keys_must_agree(void **state) {
  (void)state;
  assert_load_fails(LINES(SINGLE), "scale_jitter_lo", "scale_jitter_lo: 2",
                    "line 8: scale_jitter_lo is 2 but scale_jitter_up is 1.25; scale_jitter_lo must be at most "
                    "scale_jitter_up");
  assert_load_fails(LINES(SINGLE), "min_input_size", "min_input_size: 2000",
                    "line 11: min_input_size is 2000 but max_input_size is 1500; min_input_size must be at most "
                    "max_input_size");
  assert_load_fails(LINES(SINGLE), "num_joints", "num_joints: 5",
                    "line 4: all_joints_names lists 4 body parts but num_joints is 5; they must agree");
  /* A wild num_joints without all_joints is reported, not allocated for. */
  static const char *const wild[] = {"num_joints: 2000000000", "all_joints_names: [a]"};
  assert_load_fails(LINES(wild), NULL, NULL,
                    "line 2: all_joints_names lists 1 body part but num_joints is 2000000000; they must agree");
  assert_load_fails(LINES(SINGLE), "all_joints", "all_joints: [[0], [1], [2]]",
                    "line 3: all_joints has 3 items but num_joints is 4");
  assert_load_fails(LINES(SINGLE), "all_joints", "all_joints: [[0], [1], [2], [7]]",
                    "line 3: the 4th item of all_joints is [7]; indices must be 0 to num_joints - 1 = 3");
  assert_load_fails(LINES(SINGLE), "all_joints_names", "all_joints_names: [snout, snout, rightear, tailbase]",
                    "line 4: all_joints_names lists snout twice (items 1 and 2); body part names must be unique");
  assert_load_fails(LINES(SINGLE), "num_joints", "# num_joints left out",
                    "pose_cfg.yaml: num_joints is missing; it must be at least 1");
  assert_load_fails(LINES(SINGLE), "all_joints_names", "# no names",
                    "line 2: all_joints_names is missing; it must list the 4 body part names");
}

static void test_madlc_graph_must_fit_the_body_parts(void **state) {
  (void)state;
  assert_load_fails(LINES(MADLC), "partaffinityfield_graph", "partaffinityfield_graph: [[0, 1], [1, 3], [0, 2]]",
                    "line 6: the 2nd item of partaffinityfield_graph is [1, 3]; indices must be 0 to "
                    "num_joints - 1 = 2");
  assert_load_fails(LINES(MADLC), "partaffinityfield_graph", "partaffinityfield_graph: [[0, 1], [1, 1], [0, 2]]",
                    "the 2nd item of partaffinityfield_graph is [1, 1]; a limb must join two different body parts");
  assert_load_fails(LINES(MADLC), "num_limbs", "num_limbs: 2",
                    "line 7: num_limbs is 2 but partaffinityfield_graph has 3 pairs; set num_limbs to 3");

  dlcc_pose_cfg cfg;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, true, &err), DLCC_OK);
  char *names[] = {"head", "thorax", "abdomen"};
  assert_int_equal(dlcc_pose_cfg_set_joints(&cfg, names, 3, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_validate(&cfg, &err), DLCC_OK);
  cfg.partaffinityfield_predict = true;
  assert_int_equal(dlcc_pose_cfg_validate(&cfg, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message, "partaffinityfield_predict is true but partaffinityfield_graph is empty; give "
                                   "the graph's body part pairs or set partaffinityfield_predict to false");
  const int graph[][2] = {{0, 1}, {1, 3}};
  assert_int_equal(dlcc_pose_cfg_set_graph(&cfg, graph, 2, &err), DLCC_OK);
  assert_int_equal(cfg.num_limbs, 2);
  assert_int_equal(dlcc_pose_cfg_validate(&cfg, &err), DLCC_ERR_INVALID);
  assert_string_equal(err.message,
                      "the 2nd item of partaffinityfield_graph is [1, 3]; indices must be 0 to num_joints - 1 = 2");
  dlcc_pose_cfg_free(&cfg);
}

static void test_unreadable_or_shapeless_file_is_reported(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err = {0};
  char *missing = dlcc_path_join(g_dir, "nowhere/pose_cfg.yaml");
  assert_int_not_equal(dlcc_pose_cfg_load(missing, &cfg, &err), DLCC_OK);
  assert_contains(err.message, missing);
  char *path = write_text("list.yaml", "- a\n- b\n");
  assert_int_equal(dlcc_pose_cfg_load(path, &cfg, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "list.yaml: expected `key: value` lines as DeepLabCut writes pose_cfg.yaml, but it "
                               "holds a single value or a list");
  free(path);
  path = write_text("empty.yaml", "# nothing yet\n");
  assert_int_equal(dlcc_pose_cfg_load(path, &cfg, &err), DLCC_ERR_PARSE);
  assert_contains(err.message, "empty.yaml: expected `key: value` lines as DeepLabCut writes pose_cfg.yaml, but it "
                               "is empty");
  free(path);
  free(missing);
}

/* Position of `needle` at the start of a line of text (or -1). */
static long line_pos(const char *text, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = text; p; p = strchr(p, '\n')) {
    if (*p == '\n') p++;
    if (!strncmp(p, needle, n)) return p - text;
  }
  return -1;
}

static void test_save_then_load_keeps_changes_unknown_keys_and_the_files_spelling(void **state) {
  (void)state;
  dlcc_pose_cfg cfg, again;
  dlcc_error err = {0};
  char *text = text_with(LINES(DLC_OPENFIELD), "contrast", "contrast:\n  my_contrast_option: 3");
  load_ok(text, &cfg);
  cfg.global_scale = 0.5;
  cfg.batch_size = 4;
  cfg.max_snapshots_to_keep = 10;
  char *out = dlcc_path_join(g_dir, "saved/pose_cfg.yaml");
  assert_int_equal(dlcc_mkdirs(g_dir, &err), DLCC_OK);
  char *saved_dir = dlcc_path_dirname(out);
  assert_int_equal(dlcc_mkdirs(saved_dir, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_save(&cfg, out, &err), DLCC_OK);
  char *written = test_read_file(out, NULL);
  /* Template order first, then keys only DeepLabCut's code adds, then the unknown one. */
  const char *order[] = {"dataset:", "metadataset:", "num_joints:", "all_joints:", "all_joints_names:",
                         "init_weights:", "project_path:", "pos_dist_thresh:", "global_scale:", "dataset_type:",
                         "batch_size:", "cropratio:", "rotation:", "contrast:", "convolution:", "net_type:",
                         "multi_step:", "save_iters:", "optimizer:", "weigh_only_present_joints:", "regularize:",
                         "max_snapshots_to_keep:", "scmap_type:"};
  for (size_t i = 0; i + 1 < sizeof order / sizeof *order; i++) {
    assert_true(line_pos(written, order[i]) >= 0);
    assert_true(line_pos(written, order[i]) < line_pos(written, order[i + 1]));
  }
  assert_contains(written, "\npos_dist_thresh: 17\n"); /* as the file wrote it */
  assert_contains(written, "\nglobal_scale: 0.5\n");
  assert_contains(written, "\n  my_contrast_option: 3\n");
  assert_int_equal(line_pos(written, "crop_size:"), -1); /* single animal: DeepLabCut drops it */
  assert_int_equal(line_pos(written, "snapshot_prefix:"), -1);

  assert_int_equal(dlcc_pose_cfg_load(out, &again, &err), DLCC_OK);
  assert_dbl(again.global_scale, 0.5);
  assert_int_equal(again.batch_size, 4);
  assert_int_equal(again.max_snapshots_to_keep, 10);
  assert_int_equal(again.n_multi_step, 4);
  assert_int_equal(again.multi_step[3].until_iteration, 1030000);
  assert_string_equal(again.all_joints_names[3], "tailbase");
  assert_string_equal(dlcc_yaml_map_get(again.doc, "scmap_type")->scalar, "plateau");
  assert_true(again.contrast.clahe); /* the template's, since this file's contrast: did not say */
  dlcc_pose_cfg_free(&again);
  dlcc_pose_cfg_free(&cfg);
  free(written);
  free(saved_dir);
  free(out);
  free(text);
}

static void test_saved_defaults_write_lists_as_deeplabcut_does(void **state) {
  (void)state;
  dlcc_pose_cfg cfg, again;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  char *names[] = {"snout", "yes", "1"}; /* names YAML would otherwise read as a boolean and a number */
  assert_int_equal(dlcc_pose_cfg_set_joints(&cfg, names, 3, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_string(&cfg.dataset, "training-datasets/x.mat", &err), DLCC_OK);
  cfg.rotation = 0;
  char *out = dlcc_path_join(g_dir, "defaults.yaml");
  assert_int_equal(dlcc_pose_cfg_save(&cfg, out, &err), DLCC_OK);
  char *written = test_read_file(out, NULL);
  assert_contains(written, "all_joints:\n- [0]\n- [1]\n- [2]\n");
  assert_contains(written, "all_joints_names:\n- snout\n- 'yes'\n- '1'\n");
  assert_contains(written, "multi_step:\n- [0.005, 10000]\n- [0.02, 430000]\n");
  assert_contains(written, "\nrotation: 0\n");
  assert_contains(written, "\nlocref_stdev: 7.2801\n");
  assert_int_equal(line_pos(written, "optimizer:"), -1); /* not in DeepLabCut's single-animal files */
  assert_int_equal(line_pos(written, "partaffinityfield_graph:"), -1);
  assert_int_equal(dlcc_pose_cfg_load(out, &again, &err), DLCC_OK);
  assert_string_equal(again.all_joints_names[1], "yes");
  assert_string_equal(again.all_joints_names[2], "1");
  assert_dbl(again.rotation, 0);
  assert_string_equal(again.optimizer, "sgd");
  assert_false(again.multianimal);
  dlcc_pose_cfg_free(&again);
  dlcc_pose_cfg_free(&cfg);
  free(written);
  free(out);
}

static void test_saved_madlc_cfg_keeps_graph_and_madlc_keys(void **state) {
  (void)state;
  dlcc_pose_cfg cfg, again;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, true, &err), DLCC_OK);
  char *names[] = {"head", "thorax", "abdomen"};
  const int graph[][2] = {{0, 1}, {1, 2}};
  assert_int_equal(dlcc_pose_cfg_set_joints(&cfg, names, 3, &err), DLCC_OK);
  assert_int_equal(dlcc_pose_cfg_set_graph(&cfg, graph, 2, &err), DLCC_OK);
  char *out = dlcc_path_join(g_dir, "madlc.yaml");
  assert_int_equal(dlcc_pose_cfg_save(&cfg, out, &err), DLCC_OK);
  char *written = test_read_file(out, NULL);
  assert_contains(written, "partaffinityfield_graph:\n- [0, 1]\n- [1, 2]\n");
  assert_contains(written, "\nnum_limbs: 2\n");
  assert_contains(written, "\ncrop_size: [400, 400]\n");
  assert_contains(written, "\noptimizer: adam\n");
  assert_contains(written, "multi_step:\n- [0.0001, 7500]\n- [5.0e-05, 12000]\n- [1.0e-05, 200000]\n");
  assert_int_equal(dlcc_pose_cfg_load(out, &again, &err), DLCC_OK);
  assert_true(again.multianimal);
  assert_true(again.partaffinityfield_predict);
  assert_int_equal(again.partaffinityfield_graph[1][1], 2);
  assert_dbl(again.multi_step[1].lr, 5e-5);
  dlcc_pose_cfg_free(&again);
  dlcc_pose_cfg_free(&cfg);
  free(written);
  free(out);
}

static void test_save_into_a_missing_folder_fails_naming_it(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  char *out = dlcc_path_join(g_dir, "no/such/folder/pose_cfg.yaml");
  assert_int_equal(dlcc_pose_cfg_save(&cfg, out, &err), DLCC_ERR_IO);
  assert_contains(err.message, "no/such/folder");
  assert_false(dlcc_path_is_file(out));
  dlcc_pose_cfg_free(&cfg);
  free(out);
}

static void test_learning_rate_changes_after_each_steps_last_iteration(void **state) {
  (void)state;
  dlcc_pose_cfg cfg;
  dlcc_error err = {0};
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, false, &err), DLCC_OK);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 0), 0.005);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 10000), 0.005); /* DeepLabCut's LearningRate */
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 10001), 0.02);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 430000), 0.02);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 430001), 0.002);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 1030000), 0.001);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 5000000), 0.001);
  dlcc_pose_cfg_free(&cfg);
  assert_int_equal(dlcc_pose_cfg_defaults(&cfg, true, &err), DLCC_OK);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 7500), 1e-4);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 7501), 5e-5);
  assert_dbl(dlcc_pose_cfg_learning_rate(&cfg, 12001), 1e-5);
  dlcc_pose_cfg_free(&cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_animal_defaults_are_deeplabcuts_template),
      cmocka_unit_test(test_madlc_defaults_follow_create_multianimaltraining_dataset),
      cmocka_unit_test(test_deeplabcut_written_pose_cfg_loads_every_value),
      cmocka_unit_test(test_madlc_pose_cfg_is_recognised_and_reads_its_graph),
      cmocka_unit_test(test_rotation_reads_false_number_and_true),
      cmocka_unit_test(test_loose_forms_read_as_deeplabcut_reads_them),
      cmocka_unit_test(test_global_scale_error_names_file_line_value_and_default),
      cmocka_unit_test(test_each_number_out_of_range_is_named_with_its_rule),
      cmocka_unit_test(test_choices_are_listed_when_a_value_is_not_one_of_them),
      cmocka_unit_test(test_wrong_types_say_what_was_found_and_what_is_expected),
      cmocka_unit_test(test_multi_step_must_have_positive_rates_and_increasing_iterations),
      cmocka_unit_test(test_related_keys_must_agree),
      cmocka_unit_test(test_madlc_graph_must_fit_the_body_parts),
      cmocka_unit_test(test_unreadable_or_shapeless_file_is_reported),
      cmocka_unit_test(test_save_then_load_keeps_changes_unknown_keys_and_the_files_spelling),
      cmocka_unit_test(test_saved_defaults_write_lists_as_deeplabcut_does),
      cmocka_unit_test(test_saved_madlc_cfg_keeps_graph_and_madlc_keys),
      cmocka_unit_test(test_save_into_a_missing_folder_fails_naming_it),
      cmocka_unit_test(test_learning_rate_changes_after_each_steps_last_iteration),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
