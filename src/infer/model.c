/* A trained shuffle ready to predict (see model.h): finding the model folder and its snapshots as
 * DeepLabCut's evaluate_network and analyze_videos do, choosing one by snapshotindex or iteration,
 * building the network from test/pose_cfg.yaml, and predicting a batch of images at native size. */
#include "infer/model.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/snapshot.h"
#include "project/layout.h"
#include "util/fileio.h"

/* ---- snapshots ---------------------------------------------------------------------------- */

/* The N of "snapshot-N<suffix>", or -1 when name is not exactly that (digits only, no sign). */
static long snapshot_iteration_of(const char *name, const char *suffix) {
  if (strncmp(name, "snapshot-", 9)) return -1;
  const char *digits = name + 9;
  size_t n = strspn(digits, "0123456789");
  if (n == 0 || n > 15 || strcmp(digits + n, suffix)) return -1;
  return strtol(digits, NULL, 10);
}

static int compare_iterations(const void *a, const void *b) {
  long x = ((const dlcc_snapshot_file *)a)->iteration, y = ((const dlcc_snapshot_file *)b)->iteration;
  return (x > y) - (x < y);
}

void dlcc_snapshot_files_free(dlcc_snapshot_file *files, size_t n) {
  for (size_t i = 0; files && i < n; i++) free(files[i].path);
  free(files);
}

static dlcc_status add_snapshot(dlcc_snapshot_file **files, size_t *n, size_t *cap, const char *dir,
                                const char *name, long iteration, dlcc_error *err) {
  if (*n == *cap) {
    size_t grown = *cap ? 2 * *cap : 16;
    dlcc_snapshot_file *bigger = realloc(*files, grown * sizeof *bigger);
    if (!bigger) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory listing the snapshots of %s", dir);
    *files = bigger;
    *cap = grown;
  }
  char *path = dlcc_path_join(dir, name);
  if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory listing the snapshots of %s", dir);
  (*files)[(*n)++] = (dlcc_snapshot_file){iteration, path};
  return DLCC_OK;
}

dlcc_status dlcc_model_list_snapshots(const char *train_dir, dlcc_snapshot_file **files, size_t *n,
                                      size_t *tf_checkpoints, dlcc_error *err) {
  *files = NULL;
  *n = 0;
  if (tf_checkpoints) *tf_checkpoints = 0;
  DIR *dir = opendir(train_dir);
  if (!dir) {
    if (errno == ENOENT) return DLCC_OK;
    return dlcc_fail(err, DLCC_ERR_IO, "cannot list %s: %s", train_dir, strerror(errno));
  }
  size_t cap = 0;
  dlcc_status st = DLCC_OK;
  struct dirent *e;
  while (!st && (e = readdir(dir))) {
    long iteration = snapshot_iteration_of(e->d_name, ".safetensors");
    if (iteration >= 0) st = add_snapshot(files, n, &cap, train_dir, e->d_name, iteration, err);
    else if (tf_checkpoints && snapshot_iteration_of(e->d_name, ".index") >= 0) (*tf_checkpoints)++;
  }
  closedir(dir);
  if (st) {
    dlcc_snapshot_files_free(*files, *n);
    *files = NULL;
    *n = 0;
    return st;
  }
  if (*n > 1) qsort(*files, *n, sizeof **files, compare_iterations);
  return DLCC_OK;
}

/* "1000, 2000, 3000" (the first and last few when there are many), for messages. */
static void format_iterations(const dlcc_model *m, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < m->n_snapshots && used < size; i++) {
    if (m->n_snapshots > 8 && i == 4) {
      used += (size_t)snprintf(buf + used, size - used, ", ...");
      i = m->n_snapshots - 3;
    }
    used += (size_t)snprintf(buf + used, size - used, "%s%ld", i ? ", " : "", m->snapshots[i].iteration);
  }
}

static dlcc_status select_range(dlcc_model *m, size_t first, size_t count, dlcc_error *err) {
  m->selected = malloc(count * sizeof *m->selected);
  if (!m->selected) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory choosing snapshots");
  for (size_t i = 0; i < count; i++) m->selected[i] = first + i;
  m->n_selected = count;
  return DLCC_OK;
}

static dlcc_status select_iteration(dlcc_model *m, long iteration, const char *train_dir, dlcc_error *err) {
  for (size_t i = 0; i < m->n_snapshots; i++)
    if (m->snapshots[i].iteration == iteration) return select_range(m, i, 1, err);
  char list[256];
  format_iterations(m, list, sizeof list);
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "--snapshot %ld: %s has no snapshot-%ld.safetensors; its snapshots are at iterations %s "
                   "(give one of these numbers)",
                   iteration, train_dir, iteration, list);
}

/* config.yaml's snapshotindex, as DeepLabCut reads it: -1 the last, k the k-th by iteration, all. */
static dlcc_status select_by_index(dlcc_model *m, const dlcc_project_config *cfg, bool allow_all,
                                   const char *train_dir, dlcc_notes *notes, dlcc_error *err) {
  int index = cfg->snapshotindex;
  if (index == DLCC_SNAPSHOT_ALL && allow_all) return select_range(m, 0, m->n_snapshots, err);
  if (index == DLCC_SNAPSHOT_ALL)
    dlcc_notes_add(notes, "config.yaml's snapshotindex is all; analysing with every snapshot would repeat the work "
                   "for each, so the last one (iteration %ld) is used. Choose another with --snapshot ITERATION "
                   "after comparing them with dlcc evaluate.",
                   m->snapshots[m->n_snapshots - 1].iteration);
  if (index < 0) return select_range(m, m->n_snapshots - 1, 1, err);
  if ((size_t)index < m->n_snapshots) return select_range(m, (size_t)index, 1, err);
  char list[256];
  format_iterations(m, list, sizeof list);
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s: snapshotindex is %d, but %s holds %zu snapshot%s (iterations %s); set snapshotindex to -1 "
                   "(the last), 0 to %zu, or all, or choose one with --snapshot ITERATION",
                   cfg->config_path, index, train_dir, m->n_snapshots, m->n_snapshots == 1 ? "" : "s", list,
                   m->n_snapshots - 1);
}

/* The snapshots of <model_dir>/train, or the error saying to train first. */
static dlcc_status find_snapshots(dlcc_model *m, const dlcc_project_config *cfg, const char *train_dir,
                                  dlcc_error *err) {
  size_t tf = 0;
  dlcc_status st = dlcc_model_list_snapshots(train_dir, &m->snapshots, &m->n_snapshots, &tf, err);
  if (st || m->n_snapshots) return st;
  if (tf)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s holds %zu TensorFlow checkpoint%s (snapshot-N.index), which dlcc cannot read, and no "
                     "snapshot-N.safetensors; train this shuffle with dlcc first: dlcc train %s --shuffle %d",
                     train_dir, tf, tf == 1 ? "" : "s", cfg->config_path, m->shuffle);
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "shuffle %d (TrainingFraction %g) has no trained network: %s holds no snapshot-N.safetensors; "
                   "train first: dlcc train %s --shuffle %d",
                   m->shuffle, m->training_fraction, train_dir, cfg->config_path, m->shuffle);
}

/* ---- opening ------------------------------------------------------------------------------ */

static dlcc_status check_options(const dlcc_project_config *cfg, const dlcc_model_options *opt, dlcc_error *err) {
  if (opt->shuffle < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "--shuffle must be 1 or more (got %d)", opt->shuffle);
  size_t n = cfg->n_training_fractions;
  if (opt->trainingsetindex >= 0 && (size_t)opt->trainingsetindex < n) return DLCC_OK;
  if (n == 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "--trainingsetindex %d: %s lists one TrainingFraction (%g), so the only "
                     "index is 0", opt->trainingsetindex, cfg->config_path, cfg->training_fractions[0]);
  return dlcc_fail(err, DLCC_ERR_INVALID,
                   "--trainingsetindex %d: %s lists %zu TrainingFraction values; choose 0 to %zu", opt->trainingsetindex, cfg->config_path, n, n - 1);
}

/* The model folder and test/pose_cfg.yaml, with what to run when they are missing. */
static dlcc_status read_pose_cfg(dlcc_model *m, const dlcc_project_config *cfg, dlcc_error *err) {
  char *rel = dlcc_layout_model_dir(cfg, m->training_fraction, m->shuffle);
  m->model_dir = rel ? dlcc_path_join(cfg->root, rel) : NULL;
  free(rel);
  m->pose_cfg_path = m->model_dir ? dlcc_path_join(m->model_dir, "test/pose_cfg.yaml") : NULL;
  if (!m->pose_cfg_path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!dlcc_path_is_dir(m->model_dir))
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "shuffle %d (TrainingFraction %g) has no model folder %s; create the training dataset and "
                     "train first: dlcc create-training-dataset %s --shuffle %d, then dlcc train %s --shuffle %d",
                     m->shuffle, m->training_fraction, m->model_dir, cfg->config_path, m->shuffle, cfg->config_path,
                     m->shuffle);
  if (!dlcc_path_is_file(m->pose_cfg_path))
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s is missing (DeepLabCut predicts with the test pose_cfg); re-create it with dlcc "
                     "create-training-dataset %s --shuffle %d before training",
                     m->pose_cfg_path, cfg->config_path, m->shuffle);
  dlcc_status st = dlcc_pose_cfg_load(m->pose_cfg_path, &m->pose_cfg, err);
  if (!st && m->pose_cfg.n_joints != (size_t)m->pose_cfg.num_joints)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: num_joints is %d but all_joints_names lists %zu names; they must agree",
                   m->pose_cfg_path, m->pose_cfg.num_joints, m->pose_cfg.n_joints);
  return st;
}

static dlcc_status build_network(dlcc_model *m, dlcc_nn_precision precision, dlcc_error *err) {
  dlcc_nn_net_desc desc;
  dlcc_status st = dlcc_nn_net_desc_from_cfg(&m->pose_cfg, &desc, err);
  if (!st) st = dlcc_nn_precision_resolve(precision, &desc.dtype, err);
  if (!st) st = dlcc_nn_network_create(&m->net, &desc, err);
  if (st) return st;
  const dlcc_pose_cfg *pc = &m->pose_cfg;
  dlcc_predict_params_init(&m->predict, pc->num_joints, pc->stride, pc->location_refinement, pc->locref_stdev);
  return DLCC_OK;
}

dlcc_status dlcc_model_open(dlcc_model *m, const dlcc_project_config *cfg, const dlcc_model_options *opt,
                            dlcc_notes *notes, dlcc_error *err) {
  memset(m, 0, sizeof *m);
  m->loaded = -1;
  dlcc_status st = check_options(cfg, opt, err);
  if (st) return st;
  m->shuffle = opt->shuffle;
  m->training_fraction = cfg->training_fractions[opt->trainingsetindex];
  st = read_pose_cfg(m, cfg, err);
  char *train_dir = !st ? dlcc_path_join(m->model_dir, "train") : NULL;
  if (!st && !train_dir) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = find_snapshots(m, cfg, train_dir, err);
  if (!st && opt->snapshot_iteration >= 0) st = select_iteration(m, opt->snapshot_iteration, train_dir, err);
  else if (!st) st = select_by_index(m, cfg, opt->allow_all, train_dir, notes, err);
  free(train_dir);
  if (!st) st = build_network(m, opt->precision, err);
  return st;
}

dlcc_status dlcc_model_load(dlcc_model *m, size_t index, dlcc_error *err) {
  if (index >= m->n_snapshots)
    return dlcc_fail(err, DLCC_ERR_INVALID, "snapshot %zu does not exist (%zu snapshots)", index, m->n_snapshots);
  m->loaded = -1;
  dlcc_status st = dlcc_nn_snapshot_load(m->snapshots[index].path, m->pose_cfg.net_type, &m->net->params, NULL,
                                         NULL, NULL, err);
  if (st) {
    dlcc_error_prefix(err, "loading the weights for %s: ", m->pose_cfg_path);
    return st;
  }
  m->loaded = (long)index;
  return DLCC_OK;
}

long dlcc_model_iteration(const dlcc_model *m) { return m->loaded < 0 ? -1 : m->snapshots[m->loaded].iteration; }

char *dlcc_model_scorer(const dlcc_model *m, const dlcc_project_config *cfg) {
  const char *net = m->pose_cfg.net_type ? m->pose_cfg.net_type : "";
  /* get_scorer_name: a multi-stage ResNet is DLCRNet */
  if (m->pose_cfg.multi_stage && strstr(net, "resnet")) net = "dlcrnet_ms5";
  return dlcc_layout_scorer_name(cfg, net, m->shuffle, dlcc_model_iteration(m));
}

void dlcc_model_close(dlcc_model *m) {
  dlcc_nn_network_free(m->net);
  dlcc_pose_cfg_free(&m->pose_cfg);
  dlcc_snapshot_files_free(m->snapshots, m->n_snapshots);
  free(m->selected);
  free(m->model_dir);
  free(m->pose_cfg_path);
  free(m->input);
  free(m->part);
  free(m->locref);
  free(m->paf);
  memset(m, 0, sizeof *m);
  m->loaded = -1;
}

/* ---- prediction --------------------------------------------------------------------------- */

static bool grow(float **buf, size_t *cap, size_t need) {
  if (need <= *cap) return true;
  float *bigger = realloc(*buf, need * sizeof *bigger);
  if (!bigger) return false;
  *buf = bigger;
  *cap = need;
  return true;
}

static dlcc_status check_batch(const dlcc_image *images, int n, const dlcc_crop_box *crop, dlcc_error *err) {
  if (n < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "cannot predict a batch of %d images", n);
  for (int i = 1; i < n; i++)
    if (images[i].width != images[0].width || images[i].height != images[0].height)
      return dlcc_fail(err, DLCC_ERR_INVALID, "image %d of the batch is %dx%d, image 0 is %dx%d; a batch takes one "
                       "size", i, images[i].width, images[i].height, images[0].width, images[0].height);
  if (crop && (crop->x < 0 || crop->y < 0 || crop->width < 1 || crop->height < 1 ||
               crop->x + crop->width > images[0].width || crop->y + crop->height > images[0].height))
    return dlcc_fail(err, DLCC_ERR_INVALID, "the crop box x %d..%d, y %d..%d is not inside the %dx%d image", crop->x,
                     crop->x + crop->width, crop->y, crop->y + crop->height, images[0].width, images[0].height);
  return DLCC_OK;
}

/* Interleaved 8-bit RGB (the crop window of each image) to the network's plain NCHW f32 input. */
static void images_to_nchw(const dlcc_image *images, int n, const dlcc_crop_box *box, float *dst) {
  size_t plane = (size_t)box->width * (size_t)box->height;
  for (int i = 0; i < n; i++) {
    float *r = dst + (size_t)i * 3 * plane, *g = r + plane, *b = g + plane;
    for (int y = 0; y < box->height; y++) {
      const uint8_t *src = images[i].rgb + (((size_t)(box->y + y) * (size_t)images[i].width + (size_t)box->x) * 3);
      size_t row = (size_t)y * (size_t)box->width;
      for (int x = 0; x < box->width; x++, src += 3) {
        r[row + (size_t)x] = src[0];
        g[row + (size_t)x] = src[1];
        b[row + (size_t)x] = src[2];
      }
    }
  }
}

/* Runs the network and copies its part_pred (and locref) out; out receives part_pred's dims. */
static dlcc_status run_network(dlcc_model *m, dlcc_nn_engine *e, const int64_t in[4], int64_t out[4],
                               dlcc_error *err) {
  dlcc_status st = dlcc_nn_network_forward(m->net, e, m->input, in, DLCC_NN_INFERENCE, err);
  if (!st) st = dlcc_nn_network_output_dims(m->net, DLCC_NN_HEAD_PART, in, out, err);
  if (st) return st;
  size_t cells = (size_t)(out[0] * out[2] * out[3]), joints = (size_t)m->predict.num_joints;
  bool locref = m->predict.location_refinement;
  if (!grow(&m->part, &m->part_cap, (size_t)out[1] * cells) ||
      (locref && !grow(&m->locref, &m->locref_cap, 2 * joints * cells)))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the network's outputs");
  st = dlcc_nn_network_head_export(m->net, e, DLCC_NN_HEAD_PART, m->part, err);
  if (!st && locref) st = dlcc_nn_network_head_export(m->net, e, DLCC_NN_HEAD_LOCREF, m->locref, err);
  return st;
}

/* Checks the batch, converts it to the network's input and runs the network (part and locref out). */
static dlcc_status predict_batch(dlcc_model *m, dlcc_nn_engine *e, const dlcc_image *images, int n,
                                 const dlcc_crop_box *crop, int64_t in[4], int64_t out[4], dlcc_error *err) {
  if (m->loaded < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "no snapshot loaded: load one before predicting");
  dlcc_status st = check_batch(images, n, crop, err);
  if (st) return st;
  dlcc_crop_box box = crop ? *crop : (dlcc_crop_box){0, 0, images[0].width, images[0].height};
  if (!grow(&m->input, &m->input_cap, (size_t)n * 3 * (size_t)box.width * (size_t)box.height))
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for a batch of %d images of %dx%d", n, box.width,
                     box.height);
  images_to_nchw(images, n, &box, m->input);
  in[0] = n;
  in[1] = 3;
  in[2] = box.height;
  in[3] = box.width;
  return run_network(m, e, in, out, err);
}

dlcc_status dlcc_model_predict_maps(dlcc_model *m, dlcc_nn_engine *e, const dlcc_image *images, int n,
                                    const dlcc_crop_box *crop, int64_t part_dims[4], dlcc_error *err) {
  int64_t in[4], paf[4];
  dlcc_status st = predict_batch(m, e, images, n, crop, in, part_dims, err);
  if (st || !dlcc_nn_network_has_head(m->net, DLCC_NN_HEAD_PAIRWISE)) return st;
  st = dlcc_nn_network_output_dims(m->net, DLCC_NN_HEAD_PAIRWISE, in, paf, err);
  if (!st && !grow(&m->paf, &m->paf_cap, (size_t)(paf[0] * paf[1] * paf[2] * paf[3])))
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the part affinity fields");
  if (!st) st = dlcc_nn_network_head_export(m->net, e, DLCC_NN_HEAD_PAIRWISE, m->paf, err);
  return st;
}

dlcc_status dlcc_model_predict(dlcc_model *m, dlcc_nn_engine *e, const dlcc_image *images, int n,
                               const dlcc_crop_box *crop, double *pose, dlcc_error *err) {
  int64_t in[4], out[4];
  dlcc_status st = predict_batch(m, e, images, n, crop, in, out, err);
  if (st) return st;
  /* part_pred may carry identity channels after the joints (maDLC): predict reads the first num_joints
   * of each image, so pass images one at a time when there are more channels */
  if (out[1] == m->predict.num_joints)
    return dlcc_predict_single(&m->predict, m->part, m->predict.location_refinement ? m->locref : NULL, n,
                               (int)out[2], (int)out[3], pose, err);
  size_t cells = (size_t)(out[2] * out[3]), joints = (size_t)m->predict.num_joints;
  for (int i = 0; i < n && !st; i++)
    st = dlcc_predict_single(&m->predict, m->part + (size_t)i * (size_t)out[1] * cells,
                             m->predict.location_refinement ? m->locref + (size_t)i * 2 * joints * cells : NULL, 1,
                             (int)out[2], (int)out[3], pose + (size_t)i * joints * 3, err);
  return st;
}
