/* `dlcc create-training-dataset` (see training_set.h). The files: the merged labels as
 * CollectedData_<scorer>.csv and the training set as JSON in the UnaugmentedDataSet folder (dlcc's
 * own format where DeepLabCut writes .mat/.pickle), the split as Documentation_data-*.json, and
 * dlc-models/.../train|test/pose_cfg.yaml with the keys DeepLabCut fills. */
#include "dataset/training_set.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset/input_size.h"
#include "dataset/labeled_data.h"
#include "project/config.h"
#include "project/inference_cfg.h"
#include "project/layout.h"
#include "project/posecfg.h"
#include "util/fileio.h"
#include "util/rng.h"

/* True when folder holds a snapshot-* file: a trained shuffle, never overwritten. */
static bool has_snapshots(const char *folder) {
  DIR *dir = opendir(folder);
  if (!dir) return false;
  bool found = false;
  struct dirent *e;
  while ((e = readdir(dir)) && !found) found = !strncmp(e->d_name, "snapshot-", 9);
  closedir(dir);
  return found;
}

/* maDLC's PAF graph: all pairs of multi-animal parts (DeepLabCut's default), or the skeleton. */
static dlcc_status paf_graph(const dlcc_project_config *cfg, bool from_skeleton, int (**pairs)[2], size_t *n,
                             dlcc_error *err) {
  size_t m = cfg->n_multianimalbodyparts;
  size_t cap = from_skeleton ? cfg->n_skeleton : m * (m - 1) / 2;
  *n = 0;
  *pairs = calloc(cap ? cap : 1, sizeof **pairs);
  if (!*pairs) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!from_skeleton) {
    for (size_t a = 0; a < m; a++)
      for (size_t b = a + 1; b < m; b++, (*n)++) {
        (*pairs)[*n][0] = (int)a;
        (*pairs)[*n][1] = (int)b;
      }
    return DLCC_OK;
  }
  for (size_t i = 0; i < cfg->n_skeleton; i++) {
    int a = -1, b = -1;
    for (size_t j = 0; j < m; j++) {
      if (!strcmp(cfg->multianimalbodyparts[j], cfg->skeleton[i][0])) a = (int)j;
      if (!strcmp(cfg->multianimalbodyparts[j], cfg->skeleton[i][1])) b = (int)j;
    }
    if (a < 0 || b < 0)
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "%s: skeleton edge [%s, %s] names a part that is not in multianimalbodyparts; the PAF "
                       "graph links multi-animal parts only (drop the edge or use the default graph)",
                       cfg->config_path, cfg->skeleton[i][0], cfg->skeleton[i][1]);
    if (a == b) continue;
    int lo = a < b ? a : b, hi = a < b ? b : a;
    bool seen = false;
    for (size_t k = 0; k < *n && !seen; k++) seen = (*pairs)[k][0] == lo && (*pairs)[k][1] == hi;
    if (seen) continue; /* DeepLabCut writes each edge once, its smaller index first */
    (*pairs)[*n][0] = lo;
    (*pairs)[(*n)++][1] = hi;
  }
  if (*n == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s: the PAF graph was asked to follow the skeleton, but the skeleton is empty",
                     cfg->config_path);
  return DLCC_OK;
}

/* The training-data loader DeepLabCut would use: config.yaml's default_augmenter for single-animal
 * projects ("default" is DeepLabCut's name for its imgaug pipeline), always multi-animal-imgaug for maDLC. */
static const char *dataset_type(const dlcc_project_config *cfg) {
  if (cfg->multianimal) return "multi-animal-imgaug";
  if (!cfg->default_augmenter || !strcmp(cfg->default_augmenter, "default")) return "imgaug";
  return cfg->default_augmenter;
}

/* Refuses what DeepLabCut refuses, before anything is written. */
static dlcc_status check_choices(const dlcc_project_config *cfg, const dlcc_training_set_options *opt,
                                 const char *net_type, dlcc_notes *notes, dlcc_error *err) {
  static const char *const augmenters[] = {"default", "imgaug", "scalecrop", "tensorpack", "deterministic",
                                           "multi-animal-imgaug"};
  bool known = !cfg->default_augmenter;
  for (size_t i = 0; i < sizeof augmenters / sizeof augmenters[0] && !known; i++)
    known = !strcmp(cfg->default_augmenter, augmenters[i]);
  if (!known)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s: default_augmenter is '%s'; allowed: default, imgaug, scalecrop, tensorpack, "
                     "deterministic (multi-animal projects always use multi-animal-imgaug)",
                     cfg->config_path, cfg->default_augmenter);
  if (!cfg->multianimal && !strcmp(net_type, "dlcrnet_ms5"))
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "dlcrnet_ms5 is a multi-animal network; this is a single-animal project: choose one of "
                     "resnet_50, resnet_101, resnet_152, mobilenet_v2_*, efficientnet-b*");
  if (!cfg->multianimal && opt->paf_graph_skeleton)
    dlcc_notes_add(notes, "--paf-graph only concerns multi-animal projects; ignored");
  const dlcc_yaml_node *engine = dlcc_yaml_map_get(cfg->doc, "engine");
  if (engine && engine->kind == DLCC_YAML_SCALAR && !strcmp(engine->scalar, "pytorch"))
    dlcc_notes_add(notes,
                   "config.yaml says engine: pytorch; dlcc trains as DeepLabCut's TensorFlow engine does and "
                   "writes its pose_cfg.yaml");
  return DLCC_OK;
}

/* pose_cfg.yaml of a new shuffle: DeepLabCut's defaults plus the keys create_training_dataset fills. */
static dlcc_status make_pose_cfg(const dlcc_project_config *cfg, const dlcc_training_set_options *opt,
                                 const char *net_type, dlcc_pose_cfg *pc, dlcc_error *err) {
  dlcc_status st = dlcc_pose_cfg_defaults(pc, cfg->multianimal, err);
  char **names = NULL;
  size_t n_names = dlcc_config_joint_names(cfg, &names);
  if (!st && !names) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = dlcc_pose_cfg_set_joints(pc, names, n_names, err);
  free(names);
  /* DeepLabCut writes dlcrnet_ms5 as a multi-stage resnet_50. */
  bool dlcrnet = !strcmp(net_type, "dlcrnet_ms5");
  if (!st) st = dlcc_pose_cfg_set_string(&pc->net_type, dlcrnet ? "resnet_50" : net_type, err);
  if (!st) st = dlcc_pose_cfg_set_string(&pc->project_path, cfg->root, err);
  if (!st) st = dlcc_pose_cfg_set_string(&pc->init_weights, "", err);
  if (!st) st = dlcc_pose_cfg_set_string(&pc->dataset_type, dataset_type(cfg), err);
  if (!st && cfg->multianimal) {
    int (*pairs)[2] = NULL;
    size_t n_pairs = 0;
    st = paf_graph(cfg, opt->paf_graph_skeleton, &pairs, &n_pairs, err);
    if (!st) st = dlcc_pose_cfg_set_graph(pc, (const int (*)[2])pairs, n_pairs, err);
    free(pairs);
    pc->num_idchannel = cfg->identity ? (int)cfg->n_individuals : 0;
    pc->multi_stage = dlcrnet;
  }
  return st;
}

/* Names every image no jitter makes fit; fails only when that is all of them. */
static dlcc_status check_input_sizes(const dlcc_labeled_data *data, const dlcc_pose_cfg *pc,
                                     dlcc_training_set_result *result, dlcc_notes *notes, dlcc_error *err) {
  for (size_t r = 0; r < data->table.n_rows; r++) {
    double suggestion = 0;
    if (dlcc_input_size_ever_ok(pc, data->width[r], data->height[r], &suggestion)) continue;
    result->n_unusable++;
    dlcc_notes_add(notes,
                   "%s (%dx%d) can never be used for training: scaled by global_scale %g and jitter [%g, %g] "
                   "it is outside [min_input_size %d, max_input_size %d]; global_scale %g would make it usable",
                   data->table.row_names[r], data->width[r], data->height[r], pc->global_scale,
                   pc->scale_jitter_lo, pc->scale_jitter_up, pc->min_input_size, pc->max_input_size, suggestion);
  }
  if (result->n_unusable == data->table.n_rows)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "no labeled image fits the input-size bounds (%s is %dx%d): change global_scale, "
                     "max_input_size or min_input_size in the shuffle's pose_cfg.yaml as the notes above suggest",
                     data->table.row_names[0], data->width[0], data->height[0]);
  return DLCC_OK;
}

/* Labels DeepLabCut's format_training_data leaves out: outside the image (it keeps 0 < x < width,
 * 0 < y < height). Counted so the user hears about them once. */
typedef struct outside_labels {
  size_t count;
  char first[512];
} outside_labels;

/* One image of the training set: its path, [channels, height, width] as DeepLabCut stores it, and
 * per animal slot the visible joints inside the image as [joint, x, y]. */
static cJSON *image_entry(const dlcc_labeled_data *data, size_t row, outside_labels *outside) {
  const dlcc_label_table *t = &data->table;
  cJSON *entry = cJSON_CreateObject();
  cJSON_AddStringToObject(entry, "image", t->row_names[row]);
  int size[3] = {3, data->height[row], data->width[row]};
  cJSON_AddItemToObject(entry, "size", cJSON_CreateIntArray(size, 3));
  cJSON *animals = cJSON_AddArrayToObject(entry, "joints");
  for (size_t a = 0; a < data->n_animals; a++) {
    cJSON *joints = cJSON_CreateArray();
    dlcc_animal_slot slot = dlcc_labeled_data_slot(data, a);
    for (size_t j = 0; j < slot.n_joints; j++) {
      double x = t->values[dlcc_label_index(t, row, slot.first_column + j, 0)];
      double y = t->values[dlcc_label_index(t, row, slot.first_column + j, 1)];
      if (isnan(x) || isnan(y)) continue;
      if (!(x > 0 && x < data->width[row] && y > 0 && y < data->height[row])) {
        if (outside->count++ == 0)
          snprintf(outside->first, sizeof outside->first, "%s: %s at (%g, %g) in a %dx%d image", t->row_names[row],
                   t->columns[slot.first_column + j].bodypart, x, y, data->width[row], data->height[row]);
        continue;
      }
      double triple[3] = {(double)(slot.first_joint_id + j), x, y};
      cJSON_AddItemToArray(joints, cJSON_CreateDoubleArray(triple, 3));
    }
    cJSON_AddItemToArray(animals, joints);
  }
  return entry;
}

static dlcc_status write_json(const char *path, cJSON *doc, dlcc_error *err) {
  char *text = cJSON_Print(doc);
  if (!text) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory writing %s", path);
  dlcc_status st = dlcc_file_write_atomic(path, text, strlen(text), err);
  cJSON_free(text);
  return st;
}

static cJSON *string_array(char *const *items, size_t n) {
  cJSON *array = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(array, cJSON_CreateString(items[i]));
  return array;
}

static dlcc_status write_training_set(const char *path, const dlcc_project_config *cfg,
                                      const dlcc_labeled_data *data, const size_t *train, size_t n_train,
                                      dlcc_notes *notes, dlcc_error *err) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddStringToObject(doc, "format", "dlcc training set 1");
  cJSON_AddBoolToObject(doc, "multianimal", cfg->multianimal);
  char **names = NULL;
  size_t n_names = dlcc_config_joint_names(cfg, &names);
  cJSON_AddItemToObject(doc, "all_joints_names", string_array(names, n_names));
  free(names);
  if (cfg->multianimal) {
    cJSON *individuals = string_array(cfg->individuals, cfg->n_individuals);
    if (cfg->n_uniquebodyparts) cJSON_AddItemToArray(individuals, cJSON_CreateString("single"));
    cJSON_AddItemToObject(doc, "individuals", individuals);
  }
  cJSON *images = cJSON_AddArrayToObject(doc, "images");
  outside_labels outside = {0};
  for (size_t i = 0; i < n_train; i++) cJSON_AddItemToArray(images, image_entry(data, train[i], &outside));
  if (outside.count)
    dlcc_notes_add(notes, "%zu label%s outside %s image left out of the training set (as DeepLabCut does), e.g. %s",
                   outside.count, outside.count > 1 ? "s" : "", outside.count > 1 ? "their" : "its", outside.first);
  dlcc_status st = write_json(path, doc, err);
  cJSON_Delete(doc);
  return st;
}

static dlcc_status write_split(const char *path, const dlcc_labeled_data *data, double fraction, int shuffle,
                               uint64_t seed, const size_t *perm, size_t n_train, dlcc_error *err) {
  size_t n = data->table.n_rows;
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "train_fraction", fraction);
  cJSON_AddNumberToObject(doc, "shuffle", shuffle);
  cJSON_AddNumberToObject(doc, "seed", (double)seed);
  cJSON_AddStringToObject(doc, "labels", "CollectedData (merged) in this folder; indices are its rows");
  cJSON *train = cJSON_AddArrayToObject(doc, "train_indices");
  cJSON *test = cJSON_AddArrayToObject(doc, "test_indices");
  cJSON *train_images = cJSON_AddArrayToObject(doc, "train_images");
  cJSON *test_images = cJSON_AddArrayToObject(doc, "test_images");
  for (size_t i = 0; i < n; i++) {
    cJSON_AddItemToArray(i < n_train ? train : test, cJSON_CreateNumber((double)perm[i]));
    cJSON_AddItemToArray(i < n_train ? train_images : test_images,
                         cJSON_CreateString(data->table.row_names[perm[i]]));
  }
  dlcc_status st = write_json(path, doc, err);
  cJSON_Delete(doc);
  return st;
}

/* DeepLabCut: train_size = index_len * round(trainFraction, 2), truncated. */
static size_t train_size(size_t n, double fraction) {
  double rounded = round(fraction * 100.0) / 100.0;
  return (size_t)((double)n * rounded);
}

/* Everything that could stop a split is checked before the first file is written, so a refused run
 * changes nothing: an empty training set, a shuffle that already holds snapshots. */
static dlcc_status check_splits(const dlcc_project_config *cfg, const dlcc_training_set_options *opt, size_t n,
                                dlcc_error *err) {
  for (size_t i = 0; i < cfg->n_training_fractions; i++) {
    double f = cfg->training_fractions[i];
    if (train_size(n, f) == 0)
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "TrainingFraction %g of %zu labeled image%s leaves no image to train on; label at least %d "
                       "images, or raise TrainingFraction in %s",
                       f, n, n == 1 ? "" : "s", (int)ceil(1.0 / (round(f * 100.0) / 100.0)), cfg->config_path);
    char *rel = dlcc_layout_model_dir(cfg, f, opt->shuffle);
    char *train_dir = rel ? dlcc_strdupf("%s/%s/train", cfg->root, rel) : NULL;
    free(rel);
    if (!train_dir) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    bool trained = has_snapshots(train_dir);
    dlcc_status st = trained ? dlcc_fail(err, DLCC_ERR_INVALID,
                                         "%s already holds a trained network (snapshot files); not overwriting "
                                         "it. Use another --shuffle, or move that folder away first",
                                         train_dir)
                             : DLCC_OK;
    free(train_dir);
    if (st) return st;
  }
  return DLCC_OK;
}

static int compare_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

/* One TrainingFraction: permutation, training set, split, pose_cfg files. */
/* maDLC's test/inference_cfg.yaml (DeepLabCut's template with topktoretain and
 * minimalnumberofconnections from config.yaml), which analysis and tracking read. */
static dlcc_status write_inference_cfg(const dlcc_project_config *cfg, const char *test_dir, dlcc_error *err) {
  dlcc_inference_cfg ic;
  dlcc_inference_cfg_defaults(&ic, cfg);
  char *path = dlcc_path_join(test_dir, "inference_cfg.yaml");
  if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = dlcc_inference_cfg_save(&ic, path, err);
  free(path);
  return st;
}

static dlcc_status create_split(const dlcc_project_config *cfg, const dlcc_training_set_options *opt,
                                const dlcc_labeled_data *data, dlcc_pose_cfg *pc, double fraction,
                                dlcc_training_split *split, dlcc_notes *notes, dlcc_error *err) {
  size_t n = data->table.n_rows;
  uint64_t seed = opt->seed_given ? opt->seed : (uint64_t)opt->shuffle;
  size_t *perm = malloc(n * sizeof *perm);
  char *dataset_rel = dlcc_layout_dataset_file(cfg, fraction, opt->shuffle);
  char *split_rel = dlcc_layout_split_file(cfg, fraction, opt->shuffle);
  char *model_rel = dlcc_layout_model_dir(cfg, fraction, opt->shuffle);
  split->fraction = fraction;
  split->dataset_file = dataset_rel ? dlcc_path_join(cfg->root, dataset_rel) : NULL;
  split->model_dir = model_rel ? dlcc_path_join(cfg->root, model_rel) : NULL;
  char *split_path = split_rel ? dlcc_path_join(cfg->root, split_rel) : NULL;
  char *train_dir = split->model_dir ? dlcc_path_join(split->model_dir, "train") : NULL;
  char *test_dir = split->model_dir ? dlcc_path_join(split->model_dir, "test") : NULL;
  char *train_cfg = train_dir ? dlcc_path_join(train_dir, "pose_cfg.yaml") : NULL;
  char *test_cfg = test_dir ? dlcc_path_join(test_dir, "pose_cfg.yaml") : NULL;
  dlcc_status st = DLCC_OK;
  if (!perm || !split->dataset_file || !split->model_dir || !split_path || !train_cfg || !test_cfg)
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) {
    split->n_train = train_size(n, fraction);
    split->n_test = n - split->n_train;
    dlcc_rng rng;
    dlcc_rng_seed(&rng, seed);
    dlcc_rng_permutation(&rng, perm, n);
    qsort(perm, split->n_train, sizeof *perm, compare_size);
    qsort(perm + split->n_train, split->n_test, sizeof *perm, compare_size);
    st = write_training_set(split->dataset_file, cfg, data, perm, split->n_train, notes, err);
  }
  if (!st) st = write_split(split_path, data, fraction, opt->shuffle, seed, perm, split->n_train, err);
  if (!st) st = dlcc_pose_cfg_set_string(&pc->dataset, dataset_rel, err);
  if (!st) st = dlcc_pose_cfg_set_string(&pc->metadataset, split_rel, err);
  if (!st) st = dlcc_mkdirs(train_dir, err);
  if (!st) st = dlcc_mkdirs(test_dir, err);
  if (!st) st = dlcc_pose_cfg_save(pc, train_cfg, err);
  if (!st) st = dlcc_pose_cfg_save(pc, test_cfg, err);
  if (!st && cfg->multianimal) st = write_inference_cfg(cfg, test_dir, err);
  free(perm);
  free(dataset_rel);
  free(split_rel);
  free(model_rel);
  free(split_path);
  free(train_dir);
  free(test_dir);
  free(train_cfg);
  free(test_cfg);
  return st;
}

dlcc_status dlcc_training_set_create(const char *config_path, const dlcc_training_set_options *opt,
                                     dlcc_training_set_result *result, dlcc_notes *notes, dlcc_error *err) {
  memset(result, 0, sizeof *result);
  if (opt->shuffle < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "--shuffle must be 1 or more (got %d)", opt->shuffle);
  dlcc_project_config cfg;
  dlcc_status st = dlcc_config_load(config_path, &cfg, err);
  if (st) return st;
  const char *net_type = opt->net_type ? opt->net_type : cfg.default_net_type;
  dlcc_labeled_data data = {0};
  dlcc_pose_cfg pc = {0};
  if (!dlcc_layout_net_type_known(net_type))
    st = dlcc_fail(err, DLCC_ERR_INVALID, "unknown network \"%s\"%s; choose one of: %s", net_type,
                   opt->net_type ? "" : " (config.yaml's default_net_type)", dlcc_layout_net_types_list());
  if (!st) st = check_choices(&cfg, opt, net_type, notes, err);
  if (!st) st = dlcc_labeled_data_collect(&cfg, &data, notes, err);
  if (!st) st = make_pose_cfg(&cfg, opt, net_type, &pc, err);
  if (!st) st = check_input_sizes(&data, &pc, result, notes, err);
  if (!st) st = check_splits(&cfg, opt, data.table.n_rows, err);
  char *dataset_dir = NULL, *merged_csv = NULL;
  if (!st) {
    char *rel = dlcc_layout_dataset_dir(&cfg);
    dataset_dir = rel ? dlcc_path_join(cfg.root, rel) : NULL;
    free(rel);
    merged_csv = dataset_dir ? dlcc_strdupf("%s/CollectedData_%s.csv", dataset_dir, cfg.scorer) : NULL;
    if (!merged_csv) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  if (!st) st = dlcc_mkdirs(dataset_dir, err);
  if (!st) st = dlcc_labels_write(&data.table, merged_csv, err);
  if (!st) {
    result->n_images = data.table.n_rows;
    result->splits = calloc(cfg.n_training_fractions, sizeof *result->splits);
    if (!result->splits) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < cfg.n_training_fractions && !st; i++) {
    st = create_split(&cfg, opt, &data, &pc, cfg.training_fractions[i], &result->splits[i], notes, err);
    result->n_splits = i + 1;
  }
  free(dataset_dir);
  free(merged_csv);
  dlcc_pose_cfg_free(&pc);
  dlcc_labeled_data_free(&data);
  dlcc_config_free(&cfg);
  if (st) dlcc_training_set_result_free(result);
  return st;
}

void dlcc_training_set_result_free(dlcc_training_set_result *result) {
  for (size_t i = 0; i < result->n_splits; i++) {
    free(result->splits[i].model_dir);
    free(result->splits[i].dataset_file);
  }
  free(result->splits);
  memset(result, 0, sizeof *result);
}
