/* Tests of src/project/config: the two real projects' config.yaml, defaults, the project root,
 * saving (unknown keys kept, re-read equal), and one message per kind of bad config. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "project/config.h"
#include "testutil.h"
#include "util/fileio.h"

/* Six lines: appended lines start at line 7. */
#define SINGLE_BASE "Task: t\nscorer: s\ndate: Jan1\nbodyparts:\n- snout\n- tail\n"
/* Thirteen lines: appended lines start at line 14. */
#define MULTI_BASE                                                                     \
  "Task: t\nscorer: s\ndate: Jan1\nmultianimalproject: true\nindividuals:\n- a\n- b\n" \
  "multianimalbodyparts:\n- head\n- tail\nuniquebodyparts:\n- food\nbodyparts: MULTI!\n"

static void load_shared(const char *project, dlcc_project_config *cfg, char **dir) {
  *dir = test_shared_data(project);
  char *path = dlcc_path_join(*dir, "config.yaml");
  dlcc_error err = {0};
  if (dlcc_config_load(path, cfg, &err)) fail_msg("%s", err.message);
  free(path);
}

static void test_openfield_config_reads_single_animal_fields(void **state) {
  (void)state;
  dlcc_project_config cfg;
  char *dir;
  load_shared("openfield-Pranav-2018-10-30", &cfg, &dir);
  char *root = dlcc_path_absolute(dir);
  assert_string_equal(cfg.root, root);
  assert_string_equal(strrchr(cfg.config_path, '/'), "/config.yaml");
  assert_string_equal(cfg.task, "openfield");
  assert_string_equal(cfg.scorer, "Pranav");
  assert_string_equal(cfg.date, "Oct30");
  assert_false(cfg.multianimal);
  assert_false(cfg.identity);
  assert_int_equal(cfg.n_bodyparts, 4);
  const char *parts[] = {"snout", "leftear", "rightear", "tailbase"};
  for (size_t i = 0; i < 4; i++) assert_string_equal(cfg.bodyparts[i], parts[i]);
  assert_int_equal(cfg.n_training_fractions, 1);
  assert_true(cfg.training_fractions[0] == 0.95);
  assert_true(cfg.pcutoff == 0.4);
  assert_int_equal(cfg.iteration, 0);
  assert_int_equal(cfg.n_video_sets, 1);
  assert_string_equal(cfg.video_sets[0].path, "WILL BE AUTOMATICALLY UPDATED BY DEMO CODE");
  assert_true(cfg.video_sets[0].has_crop);
  const int crop[4] = {0, 640, 0, 480};
  assert_memory_equal(cfg.video_sets[0].crop, crop, sizeof crop);
  assert_int_equal(cfg.n_skeleton, 0);
  assert_string_equal(cfg.default_net_type, "resnet_50");
  assert_string_equal(cfg.default_augmenter, "imgaug");
  assert_int_equal(cfg.snapshotindex, -1);
  assert_int_equal(cfg.batch_size, 4);
  assert_false(cfg.cropping);
  assert_int_equal(cfg.x1, 0);
  assert_int_equal(cfg.x2, 640);
  assert_int_equal(cfg.y1, 277);
  assert_int_equal(cfg.y2, 624);
  assert_int_equal(cfg.dotsize, 8);
  assert_true(cfg.alphavalue == 0.7);
  assert_string_equal(cfg.colormap, "jet");
  assert_int_equal(dlcc_config_joint_index(&cfg, "tailbase"), 3);
  assert_int_equal(dlcc_config_joint_index(&cfg, "nose"), -1);
  free(root);
  free(dir);
  dlcc_config_free(&cfg);
  assert_null(cfg.doc);
}

static void test_flies_config_reads_multi_animal_fields_and_joint_order(void **state) {
  (void)state;
  dlcc_project_config cfg;
  char *dir;
  load_shared("flies-clip-madlc", &cfg, &dir);
  assert_true(cfg.multianimal);
  assert_false(cfg.identity);
  assert_int_equal(cfg.n_bodyparts, 0);
  assert_int_equal(cfg.n_individuals, 2);
  assert_string_equal(cfg.individuals[0], "female");
  assert_string_equal(cfg.individuals[1], "male");
  assert_int_equal(cfg.n_multianimalbodyparts, 13);
  assert_int_equal(cfg.n_uniquebodyparts, 0);
  assert_int_equal(cfg.n_skeleton, 12);
  assert_string_equal(cfg.skeleton[0][0], "head");
  assert_string_equal(cfg.skeleton[0][1], "eyeL");
  assert_string_equal(cfg.skeleton[11][1], "hindlegR4");
  assert_string_equal(cfg.default_net_type, "dlcrnet_ms5");
  assert_string_equal(cfg.video_sets[0].path, "videos/clip.mp4");
  assert_int_equal(cfg.video_sets[0].crop[1], 1024);
  assert_true(cfg.pcutoff == 0.6);
  assert_int_equal(cfg.batch_size, 8);
  assert_int_equal(cfg.dotsize, 6);
  /* keys the file leaves out take DeepLabCut's new-project values */
  assert_false(cfg.cropping);
  assert_int_equal(cfg.y2, 624);
  char **names;
  size_t n = dlcc_config_joint_names(&cfg, &names);
  assert_int_equal(n, 13);
  assert_string_equal(names[0], "head");
  assert_string_equal(names[12], "eyeR");
  assert_int_equal(dlcc_config_joint_index(&cfg, "eyeR"), 12);
  free(names);
  free(dir);
  dlcc_config_free(&cfg);
}

static void test_unique_body_parts_follow_multi_animal_parts_in_joint_order(void **state) {
  (void)state;
  char *tmp = test_tempdir("cfg");
  free(test_write_file(tmp, "config.yaml", MULTI_BASE));
  dlcc_project_config cfg;
  dlcc_error err = {0};
  if (dlcc_config_load(tmp, &cfg, &err)) fail_msg("%s", err.message);
  char **names;
  assert_int_equal(dlcc_config_joint_names(&cfg, &names), 3);
  assert_string_equal(names[2], "food");
  assert_int_equal(dlcc_config_joint_index(&cfg, "food"), 2);
  assert_int_equal(dlcc_config_joint_index(&cfg, "tail"), 1);
  free(names);
  dlcc_config_free(&cfg);
  test_rmtree(tmp);
  free(tmp);
}

static void test_absent_keys_take_deeplabcut_defaults(void **state) {
  (void)state;
  char *tmp = test_tempdir("cfg");
  free(test_write_file(tmp, "config.yaml", SINGLE_BASE));
  dlcc_project_config cfg;
  dlcc_error err = {0};
  if (dlcc_config_load(tmp, &cfg, &err)) fail_msg("%s", err.message);
  assert_int_equal(cfg.n_training_fractions, 1);
  assert_true(cfg.training_fractions[0] == 0.95);
  assert_true(cfg.pcutoff == 0.6);
  assert_int_equal(cfg.batch_size, 8);
  assert_int_equal(cfg.snapshotindex, -1);
  assert_int_equal(cfg.dotsize, 12);
  assert_true(cfg.alphavalue == 0.7);
  assert_string_equal(cfg.colormap, "rainbow");
  assert_string_equal(cfg.default_net_type, "resnet_50");
  assert_string_equal(cfg.default_augmenter, "default");
  assert_int_equal(cfg.n_video_sets, 0);
  dlcc_config_free(&cfg);
  test_rmtree(tmp);
  free(tmp);
}

static void test_project_folder_path_loads_its_config_and_root_ignores_project_path(void **state) {
  (void)state;
  char *src = test_shared_data("openfield-Pranav-2018-10-30");
  char *tmp = test_tempdir("cfg");
  char *from = dlcc_path_join(src, "config.yaml");
  char *text = test_read_file(from, NULL);
  free(test_write_file(tmp, "project/config.yaml", text));
  char *project = dlcc_path_join(tmp, "project");
  dlcc_project_config cfg;
  dlcc_error err = {0};
  if (dlcc_config_load(project, &cfg, &err)) fail_msg("%s", err.message);
  char *root = dlcc_path_absolute(project), *file = dlcc_path_join(root, "config.yaml");
  assert_string_equal(cfg.root, root);
  assert_string_equal(cfg.config_path, file);
  assert_string_equal(cfg.task, "openfield");
  free(root);
  free(file);
  free(project);
  free(text);
  free(from);
  free(src);
  dlcc_config_free(&cfg);
  test_rmtree(tmp);
  free(tmp);
}

static void assert_configs_equal(const dlcc_project_config *a, const dlcc_project_config *b) {
  assert_string_equal(a->task, b->task);
  assert_string_equal(a->scorer, b->scorer);
  assert_string_equal(a->date, b->date);
  assert_int_equal(a->multianimal, b->multianimal);
  assert_int_equal(a->n_bodyparts, b->n_bodyparts);
  for (size_t i = 0; i < a->n_bodyparts; i++) assert_string_equal(a->bodyparts[i], b->bodyparts[i]);
  assert_int_equal(a->n_multianimalbodyparts, b->n_multianimalbodyparts);
  assert_int_equal(a->n_individuals, b->n_individuals);
  assert_int_equal(a->n_skeleton, b->n_skeleton);
  for (size_t i = 0; i < a->n_skeleton; i++) assert_string_equal(a->skeleton[i][1], b->skeleton[i][1]);
  assert_int_equal(a->n_training_fractions, b->n_training_fractions);
  for (size_t i = 0; i < a->n_training_fractions; i++)
    assert_true(a->training_fractions[i] == b->training_fractions[i]);
  assert_int_equal(a->n_video_sets, b->n_video_sets);
  for (size_t i = 0; i < a->n_video_sets; i++) {
    assert_string_equal(a->video_sets[i].path, b->video_sets[i].path);
    assert_memory_equal(a->video_sets[i].crop, b->video_sets[i].crop, sizeof a->video_sets[i].crop);
  }
  assert_int_equal(a->iteration, b->iteration);
  assert_int_equal(a->snapshotindex, b->snapshotindex);
  assert_true(a->pcutoff == b->pcutoff);
  assert_int_equal(a->batch_size, b->batch_size);
  assert_int_equal(a->cropping, b->cropping);
  assert_int_equal(a->y1, b->y1);
  assert_string_equal(a->default_augmenter, b->default_augmenter);
  assert_string_equal(a->colormap, b->colormap);
}

/* Saves cfg to <tmp>/config.yaml and loads it back into *reread. */
static char *save_and_reload(const dlcc_project_config *cfg, const char *tmp, dlcc_project_config *reread) {
  char *out = dlcc_path_join(tmp, "config.yaml");
  dlcc_error err = {0};
  if (dlcc_config_save(cfg, out, &err)) fail_msg("%s", err.message);
  if (dlcc_config_load(out, reread, &err)) fail_msg("%s", err.message);
  return out;
}

static void test_save_keeps_unknown_keys_in_place_and_rereads_equal(void **state) {
  (void)state;
  dlcc_project_config cfg, reread;
  char *dir;
  load_shared("openfield-Pranav-2018-10-30", &cfg, &dir);
  cfg.pcutoff = 0.55;
  cfg.iteration = 3;
  cfg.snapshotindex = DLCC_SNAPSHOT_ALL;
  cfg.video_sets[0].crop[1] = 320;
  cfg.training_fractions[0] = 0.8;
  char *tmp = test_tempdir("cfg");
  char *out = save_and_reload(&cfg, tmp, &reread);
  assert_true(reread.pcutoff == 0.55);
  assert_int_equal(reread.iteration, 3);
  assert_int_equal(reread.snapshotindex, DLCC_SNAPSHOT_ALL);
  assert_int_equal(reread.video_sets[0].crop[1], 320);
  assert_configs_equal(&cfg, &reread);
  char *text = test_read_file(out, NULL);
  assert_contains(text, "SuperAnimalConversionTables:\n  superanimal_topviewmouse:\n    snout: nose\n");
  assert_contains(text, "iteration: 3\ndefault_net_type: resnet_50\n");
  assert_contains(text, "snapshotindex: all\ndetector_snapshotindex: -1\n");
  assert_contains(text, "TrainingFraction:\n- 0.8\n");
  assert_contains(text, "crop: 0, 320, 0, 480\n");
  assert_contains(text, "multianimalproject:\nidentity:\n");
  char *path_line = dlcc_strdupf("project_path: %s\nengine: pytorch\n", reread.root);
  assert_contains(text, path_line);
  const dlcc_yaml_node *doc = reread.doc;
  assert_string_equal(doc->keys[doc->count - 1], "SuperAnimalConversionTables");
  assert_int_equal(doc->count, cfg.doc->count);
  free(path_line);
  free(text);
  free(out);
  free(dir);
  dlcc_config_free(&cfg);
  dlcc_config_free(&reread);
  test_rmtree(tmp);
  free(tmp);
}

static void test_saving_keeps_a_video_without_crop_empty(void **state) {
  (void)state;
  char *tmp = test_tempdir("cfg");
  free(test_write_file(tmp, "config.yaml",
                       SINGLE_BASE "video_sets:\n  videos/a.mp4:\n  videos/b.mp4:\n"
                                   "    crop: 1, 2, 3, 4\n"));
  dlcc_project_config cfg, reread;
  dlcc_error err = {0};
  if (dlcc_config_load(tmp, &cfg, &err)) fail_msg("%s", err.message);
  assert_false(cfg.video_sets[0].has_crop);
  cfg.video_sets[1].has_crop = false;
  char *out = save_and_reload(&cfg, tmp, &reread);
  char *text = test_read_file(out, NULL);
  assert_contains(text, "video_sets:\n  videos/a.mp4:\n  videos/b.mp4:\n");
  assert_int_equal(reread.n_video_sets, 2);
  assert_false(reread.video_sets[1].has_crop);
  free(text);
  free(out);
  dlcc_config_free(&cfg);
  dlcc_config_free(&reread);
  test_rmtree(tmp);
  free(tmp);
}

static void test_saving_unchanged_config_rewrites_only_project_path(void **state) {
  (void)state;
  dlcc_project_config cfg, reread;
  char *dir;
  load_shared("flies-clip-madlc", &cfg, &dir);
  char *tmp = test_tempdir("cfg");
  free(save_and_reload(&cfg, tmp, &reread));
  assert_configs_equal(&cfg, &reread);
  const dlcc_yaml_node *before = cfg.doc, *after = reread.doc;
  assert_int_equal(before->count, after->count);
  for (size_t i = 0; i < before->count; i++) {
    assert_string_equal(before->keys[i], after->keys[i]);
    if (!strcmp(before->keys[i], "project_path")) {
      assert_string_equal(after->items[i]->scalar, reread.root);
      continue;
    }
    char *a = dlcc_yaml_to_string(before->items[i], NULL), *b = dlcc_yaml_to_string(after->items[i], NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  free(dir);
  dlcc_config_free(&cfg);
  dlcc_config_free(&reread);
  test_rmtree(tmp);
  free(tmp);
}

/* Writes text as config.yaml in a fresh folder and expects loading it to fail with a message
 * containing `expected`. */
static void assert_load_fails(const char *text, dlcc_status status, const char *expected) {
  char *tmp = test_tempdir("cfg");
  char *path = test_write_file(tmp, "config.yaml", text);
  dlcc_project_config cfg;
  dlcc_error err = {0};
  assert_int_equal(dlcc_config_load(path, &cfg, &err), status);
  assert_contains(err.message, path);
  assert_contains(err.message, expected);
  assert_null(cfg.doc);
  assert_null(cfg.task);
  free(path);
  test_rmtree(tmp);
  free(tmp);
}

static void test_missing_or_empty_task_scorer_date_are_named(void **state) {
  (void)state;
  assert_load_fails("scorer: s\ndate: d\nbodyparts: [a]\n", DLCC_ERR_INVALID,
                    "config.yaml: Task is missing; add a line 'Task: ...' with the project's name");
  assert_load_fails("Task: t\nscorer:\ndate: d\nbodyparts: [a]\n", DLCC_ERR_INVALID,
                    "config.yaml: line 2: scorer is empty; allowed: the labeller's name");
  assert_load_fails("Task: t\nscorer: s\ndate: ''\nbodyparts: [a]\n", DLCC_ERR_INVALID,
                    "line 3: date is empty");
  assert_load_fails("Task: [a, b]\nscorer: s\ndate: d\nbodyparts: [a]\n", DLCC_ERR_INVALID,
                    "line 1: Task is a list; allowed: the project's name");
}

static void test_single_animal_bodyparts_must_be_a_nonempty_list(void **state) {
  (void)state;
  assert_load_fails("Task: t\nscorer: s\ndate: d\nbodyparts: snout\n", DLCC_ERR_INVALID,
                    "config.yaml: line 4: bodyparts is 'snout'; allowed: a list of body-part names");
  assert_load_fails("Task: t\nscorer: s\ndate: d\nbodyparts: []\n", DLCC_ERR_INVALID,
                    "line 4: bodyparts is a list; allowed: a list of body-part names");
  assert_load_fails("Task: t\nscorer: s\ndate: d\n", DLCC_ERR_INVALID, "bodyparts is missing");
  assert_load_fails("Task: t\nscorer: s\ndate: d\nbodyparts: MULTI!\n", DLCC_ERR_INVALID,
                    "line 4: bodyparts is 'MULTI!' but multianimalproject is not true");
  assert_load_fails(SINGLE_BASE "- [x]\n", DLCC_ERR_INVALID,
                    "line 7: an item of bodyparts is a list; allowed: a name");
}

static void test_body_part_listed_twice_names_both_lines(void **state) {
  (void)state;
  assert_load_fails(SINGLE_BASE "- snout\n", DLCC_ERR_INVALID,
                    "line 7: 'snout' is listed twice in bodyparts (also at line 5); remove one");
  assert_load_fails("Task: t\nscorer: s\ndate: d\nmultianimalproject: true\nindividuals: [m1, m1]\n",
                    DLCC_ERR_INVALID, "line 5: 'm1' is listed twice in individuals (also at line 5)");
}

static void test_multi_animal_project_needs_individuals_and_parts(void **state) {
  (void)state;
  assert_load_fails("Task: t\nscorer: s\ndate: d\nmultianimalproject: true\nmultianimalbodyparts: [a]\n",
                    DLCC_ERR_INVALID,
                    "individuals is missing; add a line 'individuals: ...' with a list of animal names");
  assert_load_fails(
      "Task: t\nscorer: s\ndate: d\nmultianimalproject: true\nindividuals: [m1]\n"
      "multianimalbodyparts: []\n",
      DLCC_ERR_INVALID, "line 6: multianimalbodyparts is empty; allowed: a list of the body parts");
  assert_load_fails(
      "Task: t\nscorer: s\ndate: d\nmultianimalproject: true\nindividuals: [m1]\n"
      "multianimalbodyparts: [a, b]\nuniquebodyparts: [c, b]\n",
      DLCC_ERR_INVALID, "line 7: 'b' is listed in both multianimalbodyparts and uniquebodyparts");
}

static void test_skeleton_naming_unknown_part_lists_the_parts(void **state) {
  (void)state;
  assert_load_fails(SINGLE_BASE "skeleton:\n- - snout\n  - tail\n- - snout\n  - ear\n", DLCC_ERR_INVALID,
                    "line 11: skeleton names 'ear', which is not a body part; allowed: snout, tail");
  assert_load_fails(MULTI_BASE "skeleton:\n- [head, wing]\n", DLCC_ERR_INVALID,
                    "line 15: skeleton names 'wing', which is not a body part; allowed: head, tail, food");
  assert_load_fails(SINGLE_BASE "skeleton:\n- [snout, tail, snout]\n", DLCC_ERR_INVALID,
                    "line 8: a skeleton item is a list; allowed: a pair of two different body parts");
  assert_load_fails(SINGLE_BASE "skeleton:\n- [snout, snout]\n", DLCC_ERR_INVALID,
                    "line 8: a skeleton item is a body part joined to itself");
}

static void test_training_fraction_outside_0_1_is_refused(void **state) {
  (void)state;
  assert_load_fails(
      SINGLE_BASE "TrainingFraction:\n- 0.8\n- 1.5\n", DLCC_ERR_INVALID,
      "line 9: TrainingFraction is '1.5'; allowed: fractions of the labeled frames used for training, "
      "above 0 and at most 1");
  assert_load_fails(SINGLE_BASE "TrainingFraction: [0]\n", DLCC_ERR_INVALID,
                    "line 7: TrainingFraction is '0'");
  assert_load_fails(SINGLE_BASE "TrainingFraction: []\n", DLCC_ERR_INVALID,
                    "line 7: TrainingFraction is a list");
  assert_load_fails(SINGLE_BASE "TrainingFraction: '0.9'\n", DLCC_ERR_INVALID,
                    "line 7: TrainingFraction is \"0.9\" (quoted, so text)");
}

static void test_single_training_fraction_and_snapshot_all_are_read(void **state) {
  (void)state;
  char *tmp = test_tempdir("cfg");
  free(test_write_file(tmp, "config.yaml",
                       SINGLE_BASE "TrainingFraction: 0.8\nsnapshotindex: all\n"
                                   "pcutoff: 1\nidentity: yes\n"));
  dlcc_project_config cfg;
  dlcc_error err = {0};
  if (dlcc_config_load(tmp, &cfg, &err)) fail_msg("%s", err.message);
  assert_int_equal(cfg.n_training_fractions, 1);
  assert_true(cfg.training_fractions[0] == 0.8);
  assert_int_equal(cfg.snapshotindex, DLCC_SNAPSHOT_ALL);
  assert_true(cfg.pcutoff == 1.0);
  assert_true(cfg.identity);
  dlcc_config_free(&cfg);
  test_rmtree(tmp);
  free(tmp);
}

static void test_wrong_types_name_key_value_and_what_is_allowed(void **state) {
  (void)state;
  assert_load_fails(SINGLE_BASE "iteration: abc\n", DLCC_ERR_INVALID,
                    "config.yaml: line 7: iteration is 'abc'; allowed: a whole number >= 0");
  assert_load_fails(SINGLE_BASE "iteration: -1\n", DLCC_ERR_INVALID, "line 7: iteration is '-1'");
  assert_load_fails(SINGLE_BASE "pcutoff: 1.5\n", DLCC_ERR_INVALID,
                    "line 7: pcutoff is '1.5'; allowed: a number from 0 to 1");
  assert_load_fails(SINGLE_BASE "batch_size: 0\n", DLCC_ERR_INVALID,
                    "line 7: batch_size is '0'; allowed: a whole number >= 1");
  assert_load_fails(SINGLE_BASE "cropping: maybe\n", DLCC_ERR_INVALID,
                    "line 7: cropping is 'maybe'; allowed: true or false");
  assert_load_fails(SINGLE_BASE "multianimalproject: 2\n", DLCC_ERR_INVALID,
                    "line 7: multianimalproject is '2'; allowed: true or false");
  assert_load_fails(
      SINGLE_BASE "snapshotindex: -3\n", DLCC_ERR_INVALID,
      "line 7: snapshotindex is '-3'; allowed: -1 (the last snapshot), a snapshot number 0, 1, ... or all");
  assert_load_fails(SINGLE_BASE "colormap:\n  a: 1\n", DLCC_ERR_INVALID, "line 7: colormap is a map");
  assert_load_fails(SINGLE_BASE "x1: 99999999999\n", DLCC_ERR_INVALID, "line 7: x1 is '99999999999'");
}

static void test_bad_crop_names_the_video_and_line(void **state) {
  (void)state;
  assert_load_fails(SINGLE_BASE
                    "video_sets:\n  videos/a.mp4:\n    crop: 0, 640, 0, 480\n  videos/b.mp4:\n"
                    "    crop: 0, 640, 0\n",
                    DLCC_ERR_INVALID,
                    "line 11: crop of video 'videos/b.mp4' is '0, 640, 0'; allowed: four whole numbers "
                    "'x1, x2, y1, y2' with x1 < x2 and y1 < y2, e.g. '0, 640, 0, 480'");
  assert_load_fails(SINGLE_BASE "video_sets:\n  v.mp4:\n    crop: 0, 640, 480, 0\n", DLCC_ERR_INVALID,
                    "line 9: crop of video 'v.mp4' is '0, 640, 480, 0'");
  assert_load_fails(SINGLE_BASE "video_sets:\n  v.mp4:\n    crop: 0, 64O, 0, 480\n", DLCC_ERR_INVALID,
                    "line 9: crop of video 'v.mp4' is '0, 64O, 0, 480'");
  assert_load_fails(SINGLE_BASE "video_sets:\n  v.mp4: 5\n", DLCC_ERR_INVALID,
                    "line 8: video_sets entry 'v.mp4' is '5'; allowed: a map holding 'crop: x1, x2, y1, y2'");
  assert_load_fails(SINGLE_BASE "video_sets: [a.mp4]\n", DLCC_ERR_INVALID, "line 7: video_sets is a list");
}

static void test_cropping_needs_ordered_bounds(void **state) {
  (void)state;
  assert_load_fails(
      SINGLE_BASE "cropping: true\nx1: 100\nx2: 50\n", DLCC_ERR_INVALID,
      "line 9: x2 is 50, not above x1 = 100; allowed when cropping is true: x1 < x2 and y1 < y2");
}

static void test_unreadable_or_empty_files_are_reported(void **state) {
  (void)state;
  assert_load_fails("", DLCC_ERR_INVALID, "holds no keys (it is empty or not a map)");
  assert_load_fails("Task: t\nscorer: s\n  date: d\n", DLCC_ERR_PARSE, "line 3, column 7: invalid YAML");
  dlcc_project_config cfg;
  dlcc_error err = {0};
  char *tmp = test_tempdir("cfg");
  assert_int_equal(dlcc_config_load(tmp, &cfg, &err), DLCC_ERR_IO);
  assert_contains(err.message, "cannot find ");
  assert_contains(err.message,
                  "/config.yaml; give the path of a project's config.yaml or of the folder holding it");
  test_rmtree(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_openfield_config_reads_single_animal_fields),
      cmocka_unit_test(test_flies_config_reads_multi_animal_fields_and_joint_order),
      cmocka_unit_test(test_unique_body_parts_follow_multi_animal_parts_in_joint_order),
      cmocka_unit_test(test_absent_keys_take_deeplabcut_defaults),
      cmocka_unit_test(test_project_folder_path_loads_its_config_and_root_ignores_project_path),
      cmocka_unit_test(test_save_keeps_unknown_keys_in_place_and_rereads_equal),
      cmocka_unit_test(test_saving_unchanged_config_rewrites_only_project_path),
      cmocka_unit_test(test_saving_keeps_a_video_without_crop_empty),
      cmocka_unit_test(test_missing_or_empty_task_scorer_date_are_named),
      cmocka_unit_test(test_single_animal_bodyparts_must_be_a_nonempty_list),
      cmocka_unit_test(test_body_part_listed_twice_names_both_lines),
      cmocka_unit_test(test_multi_animal_project_needs_individuals_and_parts),
      cmocka_unit_test(test_skeleton_naming_unknown_part_lists_the_parts),
      cmocka_unit_test(test_training_fraction_outside_0_1_is_refused),
      cmocka_unit_test(test_single_training_fraction_and_snapshot_all_are_read),
      cmocka_unit_test(test_wrong_types_name_key_value_and_what_is_allowed),
      cmocka_unit_test(test_bad_crop_names_the_video_and_line),
      cmocka_unit_test(test_cropping_needs_ordered_bounds),
      cmocka_unit_test(test_unreadable_or_empty_files_are_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
