/* Tests of create-training-dataset (src/dataset): the input-size rule, the split sizes and files on
 * the two real projects, missing and unusable images, and the refusal to overwrite a trained shuffle. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/input_size.h"
#include "dataset/training_set.h"
#include "image/image.h"
#include "project/inference_cfg.h"
#include "project/posecfg.h"
#include "testutil.h"
#include "util/fileio.h"

static void test_input_size_area_rule_with_jitter(void **state) {
  (void)state;
  dlcc_pose_cfg pc = {0};
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(&pc, false, &err), DLCC_OK);
  /* 640x480 at 0.8: area 196608 fits in [64^2, 1500^2]. */
  assert_true(dlcc_input_size_ok(&pc, 640, 480, 0.8));
  assert_true(dlcc_input_size_ever_ok(&pc, 640, 480, NULL));
  /* 4000x3000 at 0.8 x 0.5 = 0.4: 1600x1200, area 1.92e6 <= 2.25e6 fits at the low end only. */
  assert_true(dlcc_input_size_ok(&pc, 4000, 3000, 0.4));
  assert_false(dlcc_input_size_ok(&pc, 4000, 3000, 0.8));
  assert_true(dlcc_input_size_ever_ok(&pc, 4000, 3000, NULL));
  /* 8000x6000: largest scale 1500/sqrt(4.8e7) = 0.21651; at 0.4 too big. global_scale <=
   * 0.21651/0.5 = 0.433 -> 0.43. */
  double suggestion = 0;
  assert_false(dlcc_input_size_ever_ok(&pc, 8000, 6000, &suggestion));
  assert_true(fabs(suggestion - 0.43) < 1e-9);
  /* 60x40 at most 0.8 x 1.25 = 1.0: area 2400 < 4096. global_scale >= 64/sqrt(2400)/1.25 = 1.0451 -> 1.05. */
  assert_false(dlcc_input_size_ever_ok(&pc, 60, 40, &suggestion));
  assert_true(fabs(suggestion - 1.05) < 1e-9);
  dlcc_pose_cfg_free(&pc);
}

static void test_input_size_multianimal_uses_each_side(void **state) {
  (void)state;
  dlcc_pose_cfg pc = {0};
  dlcc_error err;
  assert_int_equal(dlcc_pose_cfg_defaults(&pc, true, &err), DLCC_OK);
  /* 400x60 at scale 1.0: area 24000 >= 64^2, but the height 60 < 64 rules it out for maDLC. */
  assert_false(dlcc_input_size_ok(&pc, 400, 60, 1.0));
  assert_true(dlcc_input_size_ok(&pc, 400, 80, 1.0));
  dlcc_pose_cfg_free(&pc);
}

static char *copy_project(const char *name) {
  char *src = test_shared_data(name);
  char *dir = test_tempdir("ds");
  char *dst = dlcc_path_join(dir, name);
  test_copytree(src, dst);
  free(src);
  free(dir);
  return dst;
}

static void remove_project(char *project) {
  char *parent = dlcc_path_dirname(project);
  test_rmtree(parent);
  free(parent);
  free(project);
}

static cJSON *read_json(const char *path) {
  char *text = test_read_file(path, NULL);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  assert_non_null(doc);
  return doc;
}

static void test_openfield_split_is_110_train_6_test(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  char *config = dlcc_path_join(project, "config.yaml");
  dlcc_training_set_options opt = {.shuffle = 1};
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_equal(dlcc_training_set_create(config, &opt, &res, &notes, &err), DLCC_OK);
  assert_int_equal(res.n_images, 116);
  assert_int_equal(res.n_splits, 1);
  assert_int_equal(res.splits[0].n_train, 110);
  assert_int_equal(res.splits[0].n_test, 6);
  /* The example's video_sets holds a placeholder: the fallback to labeled-data/m4s1 is said. */
  int said = 0;
  for (size_t i = 0; i < notes.count; i++) said |= strstr(notes.lines[i], "labeled-data/m4s1") != NULL;
  assert_true(said);

  char *expect = dlcc_strdupf(
      "%s/training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/openfield_Pranav95shuffle1.json", project);
  assert_string_equal(res.splits[0].dataset_file, expect);
  free(expect);
  char *split = dlcc_strdupf(
      "%s/training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/Documentation_data-openfield_95shuffle1.json",
      project);
  char *merged =
      dlcc_strdupf("%s/training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/CollectedData_Pranav.csv", project);
  char *train_cfg =
      dlcc_strdupf("%s/dlc-models/iteration-0/openfieldOct30-trainset95shuffle1/train/pose_cfg.yaml", project);
  char *test_cfg =
      dlcc_strdupf("%s/dlc-models/iteration-0/openfieldOct30-trainset95shuffle1/test/pose_cfg.yaml", project);
  assert_true(dlcc_path_is_file(split));
  assert_true(dlcc_path_is_file(merged));
  assert_true(dlcc_path_is_file(test_cfg));

  /* The merged labels are the original table (same rows, same bytes). */
  char *orig_path = dlcc_path_join(project, "labeled-data/m4s1/CollectedData_Pranav.csv");
  size_t n1, n2;
  char *a = test_read_file(orig_path, &n1), *b = test_read_file(merged, &n2);
  assert_int_equal(n1, n2);
  assert_memory_equal(a, b, n1);
  free(a);
  free(b);
  free(orig_path);

  /* The training set: 110 images with their size and visible joints. */
  cJSON *ds = read_json(res.splits[0].dataset_file);
  cJSON *images = cJSON_GetObjectItem(ds, "images");
  assert_int_equal(cJSON_GetArraySize(images), 110);
  cJSON *first = cJSON_GetArrayItem(images, 0);
  cJSON *size = cJSON_GetObjectItem(first, "size");
  assert_int_equal(cJSON_GetArrayItem(size, 0)->valueint, 3);
  assert_int_equal(cJSON_GetArrayItem(size, 1)->valueint, 480);
  assert_int_equal(cJSON_GetArrayItem(size, 2)->valueint, 640);
  cJSON_Delete(ds);

  /* The split: disjoint train and test covering all 116 rows. */
  cJSON *doc = read_json(split);
  cJSON *tr = cJSON_GetObjectItem(doc, "train_indices"), *te = cJSON_GetObjectItem(doc, "test_indices");
  assert_int_equal(cJSON_GetArraySize(tr), 110);
  assert_int_equal(cJSON_GetArraySize(te), 6);
  int seen[116] = {0};
  cJSON *it;
  cJSON_ArrayForEach(it, tr) seen[it->valueint]++;
  cJSON_ArrayForEach(it, te) seen[it->valueint]++;
  for (int i = 0; i < 116; i++) assert_int_equal(seen[i], 1);
  cJSON_Delete(doc);

  /* pose_cfg: the keys DeepLabCut fills. */
  dlcc_pose_cfg pc;
  assert_int_equal(dlcc_pose_cfg_load(train_cfg, &pc, &err), DLCC_OK);
  assert_int_equal(pc.num_joints, 4);
  assert_int_equal(pc.n_joints, 4);
  assert_string_equal(pc.all_joints_names[0], "snout");
  assert_string_equal(pc.all_joints_names[3], "tailbase");
  assert_int_equal(pc.all_joints[2][0], 2);
  assert_string_equal(pc.net_type, "resnet_50");
  assert_string_equal(pc.dataset,
                      "training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/openfield_Pranav95shuffle1.json");
  assert_string_equal(pc.project_path, project);
  assert_int_equal(pc.batch_size, 1);
  assert_true(fabs(pc.global_scale - 0.8) < 1e-12);
  assert_true(fabs(pc.pos_dist_thresh - 17) < 1e-12);
  assert_false(pc.multianimal);
  dlcc_pose_cfg_free(&pc);

  dlcc_notes_free(&notes);
  dlcc_training_set_result_free(&res);
  free(split);
  free(merged);
  free(train_cfg);
  free(test_cfg);
  free(config);
  remove_project(project);
}

static char *split_text(const char *project, int shuffle) {
  char *path = dlcc_strdupf(
      "%s/training-datasets/iteration-0/UnaugmentedDataSet_openfieldOct30/Documentation_data-openfield_95shuffle%d.json",
      project, shuffle);
  char *text = test_read_file(path, NULL);
  free(path);
  return text;
}

static void test_same_seed_same_split_other_shuffle_differs(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_training_set_options opt = {.shuffle = 1};
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  dlcc_training_set_result_free(&res);
  char *first = split_text(project, 1);
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  dlcc_training_set_result_free(&res);
  char *again = split_text(project, 1);
  assert_string_equal(first, again);
  opt.shuffle = 2;
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  dlcc_training_set_result_free(&res);
  char *other = split_text(project, 2);
  const char *a = strstr(first, "train_indices"), *b = strstr(other, "train_indices");
  assert_non_null(a);
  assert_non_null(b);
  assert_string_not_equal(a, b);
  free(first);
  free(again);
  free(other);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_missing_image_is_named_and_left_out(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  char *img = dlcc_path_join(project, "labeled-data/m4s1/img0005.png");
  assert_int_equal(remove(img), 0);
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_training_set_options opt = {.shuffle = 1};
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  assert_int_equal(res.n_images, 115);
  assert_int_equal(res.splits[0].n_train, 109); /* int(115 * 0.95) = int(109.25) */
  int named = 0;
  for (size_t i = 0; i < notes.count; i++)
    named |= strstr(notes.lines[i], "labeled-data/m4s1/img0005.png") && strstr(notes.lines[i], "not on disk");
  assert_true(named);
  dlcc_training_set_result_free(&res);
  dlcc_notes_free(&notes);
  free(img);
  remove_project(project);
}

static void test_trained_shuffle_is_not_overwritten(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  char *snap = test_write_file(project, "dlc-models/iteration-0/openfieldOct30-trainset95shuffle1/train/snapshot-1000.safetensors", "x");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_training_set_options opt = {.shuffle = 1};
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "already holds a trained network");
  assert_contains(err.message, "--shuffle");
  char *text = test_read_file(snap, NULL);
  assert_string_equal(text, "x");
  free(text);
  free(snap);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_unknown_net_type_lists_the_known_ones(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_training_set_options opt = {.shuffle = 1, .net_type = "resnet_51"};
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "unknown network \"resnet_51\"");
  assert_contains(err.message, "mobilenet_v2_0.35");
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_flies_multianimal_all_pairs_graph(void **state) {
  (void)state;
  char *project = copy_project("flies-clip-madlc");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_training_set_options opt = {.shuffle = 1};
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  assert_int_equal(res.n_images, 100);
  assert_int_equal(res.splits[0].n_train, 95);
  assert_int_equal(res.splits[0].n_test, 5);
  char *train_cfg = dlcc_strdupf("%s/train/pose_cfg.yaml", res.splits[0].model_dir);
  assert_non_null(strstr(train_cfg, "dlc-models/iteration-0/courtshipDec3-trainset95shuffle1"));
  dlcc_pose_cfg pc;
  assert_int_equal(dlcc_pose_cfg_load(train_cfg, &pc, &err), DLCC_OK);
  assert_true(pc.multianimal);
  assert_int_equal(pc.num_joints, 13);
  assert_int_equal(pc.num_limbs, 78);
  assert_int_equal(pc.n_limbs, 78);
  assert_int_equal(pc.partaffinityfield_graph[0][0], 0);
  assert_int_equal(pc.partaffinityfield_graph[0][1], 1);
  assert_int_equal(pc.partaffinityfield_graph[77][0], 11);
  assert_int_equal(pc.partaffinityfield_graph[77][1], 12);
  assert_int_equal(pc.batch_size, 8);
  assert_string_equal(pc.optimizer, "adam");
  assert_true(fabs(pc.pafwidth - 20) < 1e-12);
  assert_true(fabs(pc.pairwise_loss_weight - 0.1) < 1e-12);
  assert_int_equal(pc.num_idchannel, 0);
  /* DeepLabCut writes dlcrnet_ms5 as a multi-stage resnet_50. */
  assert_string_equal(pc.net_type, "resnet_50");
  assert_true(pc.multi_stage);
  assert_string_equal(pc.metadataset,
                      "training-datasets/iteration-0/UnaugmentedDataSet_courtshipDec3/Documentation_data-courtship_95shuffle1.json");
  dlcc_pose_cfg_free(&pc);

  /* test/inference_cfg.yaml: DeepLabCut's template, topktoretain = 2 individuals,
   * minimalnumberofconnections = int(13 parts / 2) = 6. */
  char *test_dir = dlcc_strdupf("%s/test", res.splits[0].model_dir);
  char *inference_path = dlcc_strdupf("%s/inference_cfg.yaml", test_dir);
  dlcc_project_config cfg;
  assert_int_equal(dlcc_config_load(project, &cfg, &err), DLCC_OK);
  dlcc_inference_cfg ic;
  assert_int_equal(dlcc_inference_cfg_load(inference_path, &cfg, &ic, &err), DLCC_OK);
  assert_int_equal(ic.topktoretain, 2);
  assert_int_equal(ic.minimalnumberofconnections, 6);
  assert_true(ic.pafthreshold == 0.1 && ic.pcutoff == 0.1 && ic.iou_threshold == 0.6);
  assert_int_equal(ic.max_age, 1);
  assert_int_equal(ic.min_hits, 1);
  assert_false(ic.withid);
  /* A user's edit is read, DeepLabCut's own 6.5 (len / 2) rounds down, a bad value names its line. */
  free(test_write_file(test_dir, "inference_cfg.yaml", "max_age: 100\nminimalnumberofconnections: 6.5\ntopktoretain: 3\n"));
  assert_int_equal(dlcc_inference_cfg_load(inference_path, &cfg, &ic, &err), DLCC_OK);
  assert_int_equal(ic.max_age, 100);
  assert_int_equal(ic.minimalnumberofconnections, 6);
  assert_int_equal(ic.topktoretain, 3);
  assert_true(ic.pcutoff == 0.1);
  free(test_write_file(test_dir, "inference_cfg.yaml", "pcutoff: 0.2\niou_threshold: 1.5\n"));
  assert_int_equal(dlcc_inference_cfg_load(inference_path, &cfg, &ic, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "inference_cfg.yaml line 2: iou_threshold is 1.5; it must be a number from 0 to 1");
  free(test_write_file(test_dir, "inference_cfg.yaml", "withid: maybe\n"));
  assert_int_equal(dlcc_inference_cfg_load(inference_path, &cfg, &ic, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "line 1: withid is maybe; it must be true or false");
  dlcc_config_free(&cfg);
  free(inference_path);
  free(test_dir);

  /* Joints per individual: the first image has both flies; female's midlegL4 is unlabeled. */
  cJSON *ds = read_json(res.splits[0].dataset_file);
  cJSON *individuals = cJSON_GetObjectItem(ds, "individuals");
  assert_int_equal(cJSON_GetArraySize(individuals), 2);
  cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(ds, "images"), 0);
  cJSON *joints = cJSON_GetObjectItem(first, "joints");
  assert_int_equal(cJSON_GetArraySize(joints), 2);
  cJSON_Delete(ds);

  /* With the skeleton: 12 limbs. */
  opt.shuffle = 2;
  opt.paf_graph_skeleton = true;
  dlcc_training_set_result_free(&res);
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  free(train_cfg);
  train_cfg = dlcc_strdupf("%s/train/pose_cfg.yaml", res.splits[0].model_dir);
  assert_int_equal(dlcc_pose_cfg_load(train_cfg, &pc, &err), DLCC_OK);
  assert_int_equal(pc.num_limbs, 12);
  dlcc_pose_cfg_free(&pc);
  free(train_cfg);
  dlcc_training_set_result_free(&res);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_unusable_image_named_with_a_global_scale(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  /* min_input_size is a pose_cfg key; an image smaller than 64x64 after scaling never fits: make one
   * image 40x30 by replacing it with a small PNG (the labels stay). */
  char *img = dlcc_path_join(project, "labeled-data/m4s1/img0003.png");
  char *small_src = dlcc_path_join(project, "labeled-data/m4s1/img0000.png");
  dlcc_image big, small;
  dlcc_error err;
  assert_int_equal(dlcc_image_load(small_src, &big, &err), DLCC_OK);
  assert_int_equal(dlcc_image_alloc(&small, 40, 30, &err), DLCC_OK);
  assert_int_equal(dlcc_image_save_png(img, &small, &err), DLCC_OK);
  dlcc_image_free(&big);
  dlcc_image_free(&small);
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_training_set_options opt = {.shuffle = 1};
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  assert_int_equal(res.n_unusable, 1);
  int named = 0;
  /* 64 / sqrt(1200) / 1.25 = 1.478 -> 1.48 */
  for (size_t i = 0; i < notes.count; i++)
    named |= strstr(notes.lines[i], "img0003.png (40x30) can never be used") &&
             strstr(notes.lines[i], "global_scale 1.48 would make it usable");
  assert_true(named);
  dlcc_training_set_result_free(&res);
  dlcc_notes_free(&notes);
  free(img);
  free(small_src);
  remove_project(project);
}


/* Replaces the first `old` in the file at dir/name with `new_text` (the test fails when absent). */
static void replace_in_file(const char *dir, const char *name, const char *old, const char *new_text) {
  char *path = dlcc_path_join(dir, name);
  char *text = test_read_file(path, NULL);
  char *at = strstr(text, old);
  if (!at) fail_msg("%s does not contain \"%s\"", path, old);
  char *changed = dlcc_strdupf("%.*s%s%s", (int)(at - text), text, new_text, at + strlen(old));
  free(test_write_file(dir, name, changed));
  free(changed);
  free(text);
  free(path);
}

static dlcc_status create(const char *project, dlcc_training_set_options opt, dlcc_training_set_result *res,
                          dlcc_notes *notes, dlcc_error *err) {
  dlcc_status st = dlcc_training_set_create(project, &opt, res, notes, err);
  if (!st) dlcc_training_set_result_free(res);
  return st;
}

static bool notes_contain(const dlcc_notes *notes, const char *a, const char *b) {
  for (size_t i = 0; i < notes->count; i++)
    if (strstr(notes->lines[i], a) && (!b || strstr(notes->lines[i], b))) return true;
  return false;
}

static void test_task_with_a_separator_is_refused_before_writing(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  replace_in_file(project, "config.yaml", "Task: openfield", "Task: a/../../escape");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 1}, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "line 2: Task is 'a/../../escape'");
  assert_contains(err.message, "without '/'");
  char *outside = dlcc_path_join(project, "../escapeOct30");
  assert_false(dlcc_path_is_dir(outside));
  free(outside);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_fractions_sharing_a_folder_are_refused(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  replace_in_file(project, "config.yaml", "TrainingFraction:\n- 0.95", "TrainingFraction:\n- 0.951\n- 0.955");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 1}, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "0.951 and 0.955, which share the folder name trainset95");
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_empty_training_set_is_refused(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  replace_in_file(project, "config.yaml", "TrainingFraction:\n- 0.95", "TrainingFraction:\n- 0.001");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 1}, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "TrainingFraction 0.001 of 116 labeled images leaves no image to train on");
  char *models = dlcc_path_join(project, "dlc-models");
  assert_false(dlcc_path_is_dir(models));
  free(models);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_refused_split_writes_nothing(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  replace_in_file(project, "config.yaml", "TrainingFraction:\n- 0.95", "TrainingFraction:\n- 0.8\n- 0.95");
  free(test_write_file(project, "dlc-models/iteration-0/openfieldOct30-trainset95shuffle1/train/snapshot-5.index", "x"));
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 1}, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "already holds a trained network");
  char *datasets = dlcc_path_join(project, "training-datasets");
  assert_false(dlcc_path_is_dir(datasets));
  free(datasets);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_labels_outside_the_image_are_left_out_and_named(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  /* img0001's snout x becomes -5: DeepLabCut keeps only 0 < x < width. */
  replace_in_file(project, "labeled-data/m4s1/CollectedData_Pranav.csv", "img0001.png,10.248,", "img0001.png,-5,");
  replace_in_file(project, "config.yaml", "TrainingFraction:\n- 0.95", "TrainingFraction:\n- 1.0"); /* all train */
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_training_set_options opt = {.shuffle = 1};
  assert_int_equal(dlcc_training_set_create(project, &opt, &res, &notes, &err), DLCC_OK);
  bool in_train = false;
  cJSON *ds = read_json(res.splits[0].dataset_file);
  cJSON *image;
  cJSON_ArrayForEach(image, cJSON_GetObjectItem(ds, "images")) {
    if (strcmp(cJSON_GetObjectItem(image, "image")->valuestring, "labeled-data/m4s1/img0001.png")) continue;
    in_train = true;
    cJSON *joints = cJSON_GetArrayItem(cJSON_GetObjectItem(image, "joints"), 0);
    assert_int_equal(cJSON_GetArraySize(joints), 3); /* snout dropped, both ears and tail base kept */
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(joints, 0), 0)->valueint, 1);
  }
  cJSON_Delete(ds);
  assert_true(in_train);
  assert_true(notes_contain(&notes, "1 label outside its image", "img0001.png: snout at (-5, 288.487)"));
  dlcc_training_set_result_free(&res);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_truncated_image_is_an_error_naming_it(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  char *img = dlcc_path_join(project, "labeled-data/m4s1/img0002.png");
  size_t n;
  char *bytes = test_read_file(img, &n);
  FILE *fp = fopen(img, "wb");
  fwrite(bytes, 1, n / 3, fp);
  fclose(fp);
  free(bytes);
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_not_equal(create(project, (dlcc_training_set_options){.shuffle = 1}, &res, &notes, &err), DLCC_OK);
  assert_contains(err.message, "img0002.png");
  free(img);
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_same_image_under_two_spellings_is_refused(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  replace_in_file(project, "labeled-data/m4s1/CollectedData_Pranav.csv", "labeled-data/m4s1/img0004.png",
                  "labeled-data/m4s1/./img0003.png");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 1}, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "the row labeled-data/m4s1/./img0003.png is image labeled-data/m4s1/img0003.png, "
                               "which is already labeled");
  dlcc_notes_free(&notes);
  remove_project(project);
}

static void test_augmenter_and_network_choices(void **state) {
  (void)state;
  char *project = copy_project("openfield-Pranav-2018-10-30");
  dlcc_training_set_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  /* dlcrnet_ms5 is multi-animal only. */
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 1, .net_type = "dlcrnet_ms5"}, &res, &notes,
                          &err),
                   DLCC_ERR_INVALID);
  assert_contains(err.message, "dlcrnet_ms5 is a multi-animal network");
  /* default_augmenter passes into dataset_type; an unknown one is refused. */
  replace_in_file(project, "config.yaml", "default_augmenter: imgaug", "default_augmenter: scalecrop");
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 1}, &res, &notes, &err), DLCC_OK);
  char *cfg_path = dlcc_path_join(project, "dlc-models/iteration-0/openfieldOct30-trainset95shuffle1/train/pose_cfg.yaml");
  dlcc_pose_cfg pc;
  assert_int_equal(dlcc_pose_cfg_load(cfg_path, &pc, &err), DLCC_OK);
  assert_string_equal(pc.dataset_type, "scalecrop");
  dlcc_pose_cfg_free(&pc);
  replace_in_file(project, "config.yaml", "default_augmenter: scalecrop", "default_augmenter: bogus");
  assert_int_equal(create(project, (dlcc_training_set_options){.shuffle = 2}, &res, &notes, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "default_augmenter is 'bogus'");
  free(cfg_path);
  dlcc_notes_free(&notes);
  remove_project(project);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_input_size_area_rule_with_jitter),
      cmocka_unit_test(test_input_size_multianimal_uses_each_side),
      cmocka_unit_test(test_openfield_split_is_110_train_6_test),
      cmocka_unit_test(test_same_seed_same_split_other_shuffle_differs),
      cmocka_unit_test(test_missing_image_is_named_and_left_out),
      cmocka_unit_test(test_trained_shuffle_is_not_overwritten),
      cmocka_unit_test(test_unknown_net_type_lists_the_known_ones),
      cmocka_unit_test(test_flies_multianimal_all_pairs_graph),
      cmocka_unit_test(test_unusable_image_named_with_a_global_scale),
      cmocka_unit_test(test_task_with_a_separator_is_refused_before_writing),
      cmocka_unit_test(test_fractions_sharing_a_folder_are_refused),
      cmocka_unit_test(test_empty_training_set_is_refused),
      cmocka_unit_test(test_refused_split_writes_nothing),
      cmocka_unit_test(test_labels_outside_the_image_are_left_out_and_named),
      cmocka_unit_test(test_truncated_image_is_an_error_naming_it),
      cmocka_unit_test(test_same_image_under_two_spellings_is_refused),
      cmocka_unit_test(test_augmenter_and_network_choices),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
