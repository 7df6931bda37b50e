/* The training loop (see trainer.h), read top to bottom: finding the shuffle, checking what pose_cfg
 * asks for, building and initialising the network, resuming, the data, then one function per
 * iteration (batch -> forward -> losses -> backward -> step) and the bookkeeping around it: log lines,
 * snapshots, the stop flag. Iterations and their boundaries follow DeepLabCut's core/train.py. */
#include "train/trainer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/network.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"
#include "nn/snapshot.h"
#include "project/config.h"
#include "project/layout.h"
#include "project/posecfg.h"
#include "train/dataset_reader.h"
#include "train/loader.h"
#include "train/snapshots.h"
#include "train/train_log.h"
#include "util/fileio.h"
#include "util/rng.h"

void dlcc_train_options_default(dlcc_train_options *opt) {
  *opt = (dlcc_train_options){.shuffle = 1, .precision = DLCC_NN_PRECISION_F32};
}

void dlcc_train_result_free(dlcc_train_result *result) {
  free(result->train_dir);
  free(result->snapshot);
  memset(result, 0, sizeof *result);
}

/* Sums over the iterations since the last log line. */
typedef struct display_window {
  dlcc_nn_losses sum;
  long iterations;
  size_t images;
  double start_s;
} display_window;

typedef struct trainer {
  const dlcc_train_options *opt;
  dlcc_notes *notes;
  dlcc_project_config project;
  dlcc_pose_cfg cfg;
  char *train_dir, *pose_cfg_path;
  char *init_path;            /* init_weights to load, NULL: random */
  dlcc_nn_engine *engine;
  dlcc_nn_network *net;
  dlcc_nn_optimizer optim;
  dlcc_nn_loss_spec loss_spec;
  dlcc_train_dataset data;
  dlcc_train_loader *loader;
  /* The data generator: the loader's seed is drawn from a copy of it, and batch k depends only on
   * (that seed, k), so it never advances and the snapshot's copy restarts the same batches. */
  dlcc_rng rng;
  long first, last, display_iters, save_iters;
  FILE *log, *stats;          /* log.txt, learning_stats.csv */
  bool log_failed;
  float *out[DLCC_NN_HEADS], *grad[DLCC_NN_HEADS];
  size_t cap[DLCC_NN_HEADS];
  display_window window;
  double start_s, pace_s;     /* loop start; seconds per iteration, smoothed */
  size_t images;              /* trained on by this run */
  long trained;               /* iterations trained by this run */
  char *snapshot;             /* the last written */
  long snapshot_iteration;
} trainer;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static dlcc_status out_of_memory(dlcc_error *err) { return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory"); }

/* ---- the shuffle and what it asks for ---- */

static dlcc_status find_pose_cfg(trainer *t, dlcc_error *err) {
  const dlcc_train_options *o = t->opt;
  dlcc_status st = dlcc_config_load(o->config_path, &t->project, err);
  if (st) return st;
  const dlcc_project_config *p = &t->project;
  if (o->trainingsetindex < 0 || (size_t)o->trainingsetindex >= p->n_training_fractions)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "trainingsetindex %d is out of range: %s lists %zu TrainingFraction value(s), so it is 0 to %zu",
                     o->trainingsetindex, p->config_path, p->n_training_fractions, p->n_training_fractions - 1);
  double fraction = p->training_fractions[o->trainingsetindex];
  char *model = dlcc_layout_model_dir(p, fraction, o->shuffle);
  char *model_dir = model ? dlcc_path_join(p->root, model) : NULL;
  t->train_dir = model_dir ? dlcc_path_join(model_dir, "train") : NULL;
  t->pose_cfg_path = t->train_dir ? dlcc_path_join(t->train_dir, "pose_cfg.yaml") : NULL;
  free(model);
  free(model_dir);
  if (!t->pose_cfg_path) return out_of_memory(err);
  if (!dlcc_path_is_file(t->pose_cfg_path))
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s does not exist: shuffle %d has no training set for TrainingFraction %g; run 'dlcc "
                     "create-training-dataset %s --shuffle %d' first",
                     t->pose_cfg_path, o->shuffle, fraction, o->config_path, o->shuffle);
  return dlcc_pose_cfg_load(t->pose_cfg_path, &t->cfg, err);
}

/* maDLC trains from DeepLabCut's multi-animal loader: its dataset_type picks that loader and the PAF
 * head, and pairwise_predict there means the part affinity fields. */
static dlcc_status check_multianimal(const dlcc_pose_cfg *c, const char *where, dlcc_error *err) {
  if (!c->dataset_type || !strstr(c->dataset_type, "multi-animal"))
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s is a multi-animal shuffle (it has partaffinityfield_graph) but dataset_type is %s; set "
                     "dataset_type: multi-animal-imgaug",
                     where, c->dataset_type ? c->dataset_type : "missing");
  if (c->pairwise_predict && !c->partaffinityfield_predict)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s: pairwise_predict is true but partaffinityfield_predict is false; a multi-animal network "
                     "has no pairwise head then (DeepLabCut fails too): set partaffinityfield_predict: true for "
                     "part affinity fields, or pairwise_predict: false",
                     where);
  return DLCC_OK;
}

static dlcc_status check_trainable(const trainer *t, dlcc_error *err) {
  const dlcc_pose_cfg *c = &t->cfg;
  const char *where = t->pose_cfg_path;
  dlcc_status st = c->multianimal ? check_multianimal(c, where, err) : DLCC_OK;
  if (st) return st;
  if (!c->multianimal && c->pairwise_predict)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s: pairwise_predict is true; dlcc does not build pairwise targets for single-animal "
                     "training yet: set pairwise_predict: false",
                     where);
  if (c->stride != 8)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED,
                     "%s: stride is %g; dlcc's networks (output stride 16 and a stride-2 head) have stride 8: "
                     "set stride: 8",
                     where, c->stride);
  if (c->n_multi_step == 0 && dlcc_nn_lr_schedule_for(c) == DLCC_NN_LR_MULTI_STEP)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s: multi_step is empty, so training has no iterations; give [[rate, last iteration], ...]",
                     where);
  return DLCC_OK;
}

/* Appends name to the list in sb when on. */
static void list_if(dlcc_strbuf *sb, bool on, const char *name) {
  if (!on) return;
  if (sb->len) dlcc_strbuf_append(sb, ", ");
  dlcc_strbuf_append(sb, name);
}

/* The pixel augmenters both of DeepLabCut's loaders offer and dlcc does not apply yet. */
static void list_unapplied_pixel_augmenters(const dlcc_pose_cfg *c, dlcc_strbuf *sb) {
  list_if(sb, c->motion_blur, "motion_blur");
  list_if(sb, c->covering, "covering");
  list_if(sb, c->elastic_transform, "elastic_transform");
  list_if(sb, c->gaussian_noise > 0, "gaussian_noise");
  list_if(sb, c->grayscale, "grayscale");
  list_if(sb, c->contrast.histeq, "contrast.histeq");
  list_if(sb, c->contrast.clahe, "contrast.clahe");
  list_if(sb, c->contrast.log, "contrast.log");
  list_if(sb, c->contrast.linear, "contrast.linear");
  list_if(sb, c->contrast.sigmoid, "contrast.sigmoid");
  list_if(sb, c->contrast.gamma, "contrast.gamma");
  list_if(sb, c->convolution.sharpen, "convolution.sharpen");
  list_if(sb, c->convolution.edge, "convolution.edge");
  list_if(sb, c->convolution.emboss, "convolution.emboss");
}

static bool pose_cfg_flag(const dlcc_pose_cfg *c, const char *key) {
  bool on = false;
  if (c->doc && dlcc_yaml_map_get(c->doc, key)) dlcc_yaml_as_bool(dlcc_yaml_map_get(c->doc, key), &on);
  return on;
}

/* Names the augmentations pose_cfg switches on that the augment stage does not apply yet (it applies
 * scale jitter, rotation/rotratio and mirror), as DeepLabCut's pose_imgaug pipeline would add them. */
static void note_unapplied_augmentations(const dlcc_pose_cfg *c, dlcc_notes *notes) {
  dlcc_strbuf sb = {0};
  if (c->cropratio > 0)
    dlcc_strbuf_printf(&sb, "cropratio %g (CropAndPad by up to crop_by %g of each side)", c->cropratio, c->crop_by);
  list_unapplied_pixel_augmenters(c, &sb);
  list_if(&sb, pose_cfg_flag(c, "fliplr"), "fliplr (with symmetric_pairs)");
  if (sb.len && !sb.failed)
    dlcc_notes_add(notes,
                   "%s switches on augmentations dlcc accepts but does not apply yet: %s. Applied: scale jitter "
                   "(scale_jitter_lo/up), rotation/rotratio, mirror",
                   c->source_path, sb.data);
  dlcc_strbuf_free(&sb);
}

/* maDLC's loader builds its own pipeline (pose_multianimal_imgaug): the crop, fliplr with
 * symmetric_pairs and rotation (at apply_prob) are applied; it never reads mirror, cropratio or
 * rotratio, and dlcc does not apply its pixel augmenters yet. */
static void note_madlc_augmentations(const dlcc_pose_cfg *c, dlcc_notes *notes) {
  dlcc_strbuf sb = {0};
  list_if(&sb, pose_cfg_flag(c, "hist_eq"), "hist_eq");
  list_unapplied_pixel_augmenters(c, &sb);
  if (sb.len && !sb.failed)
    dlcc_notes_add(notes,
                   "%s switches on augmentations dlcc accepts but does not apply yet: %s. Applied as DeepLabCut's "
                   "multi-animal loader does: the crop (crop_size x global_scale x scale jitter, crop_sampling, "
                   "max_shift), fliplr with symmetric_pairs, rotation at apply_prob",
                   c->source_path, sb.data);
  dlcc_strbuf_free(&sb);
  if (c->mirror)
    dlcc_notes_add(notes,
                   "%s: mirror is true, which DeepLabCut's multi-animal loader never reads (it flips with fliplr "
                   "and symmetric_pairs); no mirror is applied",
                   c->source_path);
  const dlcc_yaml_node *fliplr = c->doc ? dlcc_yaml_map_get(c->doc, "fliplr") : NULL;
  const dlcc_yaml_node *pairs = c->doc ? dlcc_yaml_map_get(c->doc, "symmetric_pairs") : NULL;
  bool flip = false;
  if (fliplr && dlcc_yaml_as_bool(fliplr, &flip) && flip && (!pairs || pairs->kind != DLCC_YAML_SEQ || !pairs->count))
    dlcc_notes_add(notes,
                   "%s: fliplr is true but symmetric_pairs is empty; DeepLabCut's multi-animal loader flips only "
                   "with symmetric_pairs (pairs of joint indices to swap), so no flip is applied",
                   c->source_path);
}

/* DeepLabCut's multi-animal train runs other optimizers than adam with one image per batch. */
static void madlc_batch_size(trainer *t) {
  dlcc_pose_cfg *c = &t->cfg;
  if (!c->multianimal || !c->optimizer || !strcmp(c->optimizer, "adam") || c->batch_size == 1) return;
  dlcc_notes_add(t->notes,
                 "%s: optimizer is %s, and DeepLabCut's multi-animal training then uses batch_size 1 (not %d); so "
                 "does dlcc. Set optimizer: adam to train with batch_size %d",
                 t->pose_cfg_path, c->optimizer, c->batch_size, c->batch_size);
  c->batch_size = 1;
}

/* ---- the network ---- */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* init_weights: a safetensors file with torchvision's names (heads optional) is loaded; an empty key
 * means random weights; anything else that is not a file dlcc reads (DeepLabCut's TensorFlow
 * checkpoints, e.g. .../resnet_v1_50.ckpt) is named in a note and training starts from random. A
 * relative path is read from the train folder, where DeepLabCut's train.py runs. Sets t->init_path
 * to the file to load, or leaves it NULL. */
static dlcc_status find_init_weights(trainer *t, dlcc_error *err) {
  const char *w = t->cfg.init_weights ? t->cfg.init_weights : "";
  if (!*w) return DLCC_OK;
  char *path = dlcc_path_join(t->train_dir, w);
  if (!path) return out_of_memory(err);
  if (ends_with(path, DLCC_SNAPSHOT_EXTENSION) && dlcc_path_is_file(path)) {
    t->init_path = path;
    return DLCC_OK;
  }
  dlcc_status st = DLCC_OK;
  if (ends_with(path, DLCC_SNAPSHOT_EXTENSION))
    st = dlcc_fail(err, DLCC_ERR_IO,
                   "%s: init_weights names %s, which does not exist; fix the path, or set init_weights to an empty "
                   "string to start from random weights",
                   t->pose_cfg_path, path);
  else
    dlcc_notes_add(t->notes,
                   "init_weights in %s is %s, which is not a safetensors file dlcc reads (DeepLabCut's TensorFlow "
                   "checkpoints are not)",
                   t->pose_cfg_path, w);
  free(path);
  return st;
}

/* Batch norm: frozen statistics as DeepLabCut's TensorFlow engine trains ResNets, which always start
 * from ImageNet's; from random weights frozen statistics are the identity and a ResNet's activations
 * grow block after block until the loss overflows (seen at iteration 2 of resnet_50), so there the
 * backbone trains with batch statistics as PyTorch trains a network from scratch (running statistics
 * for inference, momentum 0.1). MobileNetV2 keeps DeepLabCut's batch statistics either way. The rule
 * reads only pose_cfg, so a resumed run builds the same network. */
static void choose_batch_norm(const trainer *t, dlcc_nn_net_desc *desc) {
  if (t->init_path || desc->bn_stats != DLCC_NN_BN_FROZEN) return;
  desc->bn_stats = DLCC_NN_BN_BATCH;
  desc->bn_momentum = 0; /* PyTorch's 0.1 */
  dlcc_notes_add(t->notes,
                 "without init_weights, %s's batch norm layers train with batch statistics (the frozen "
                 "statistics DeepLabCut keeps from ImageNet weights would be the identity here)",
                 desc->net_type);
}

static dlcc_status build_network(trainer *t, dlcc_error *err) {
  dlcc_nn_net_desc desc;
  dlcc_status st = dlcc_nn_net_desc_from_cfg(&t->cfg, &desc, err);
  if (!st) st = find_init_weights(t, err);
  if (st) return st;
  const dlcc_train_reduced_net *r = &t->opt->reduced;
  desc.width = r->width;
  memcpy(desc.blocks, r->blocks, sizeof desc.blocks);
  desc.width_multiplier = r->width_multiplier;
  desc.last_channels = r->last_channels;
  choose_batch_norm(t, &desc);
  if (t->cfg.multi_stage && strncmp(desc.net_type, "dlcrnet", 7) != 0)
    dlcc_notes_add(t->notes,
                   "%s: multi_stage is true, whose multi-stage decoder (DeepLabCut's dlcrnet) dlcc builds on "
                   "ResNets only: training a plain %s",
                   t->pose_cfg_path, desc.net_type);
  st = dlcc_nn_precision_resolve(t->opt->precision, &desc.dtype, err);
  if (!st) st = dlcc_nn_engine_create(&t->engine, t->opt->threads, err);
  if (!st) st = dlcc_nn_network_create(&t->net, &desc, err);
  if (!st) st = dlcc_nn_optimizer_init_from_cfg(&t->optim, &t->cfg, &t->net->params, err);
  dlcc_nn_loss_spec_from_cfg(&t->cfg, &t->loss_spec);
  return st;
}

static dlcc_status initialise(trainer *t, dlcc_error *err) {
  uint64_t seed = t->opt->seed_given ? t->opt->seed : (uint64_t)t->opt->shuffle;
  dlcc_rng_seed(&t->rng, seed);
  dlcc_nn_network_init_random(t->net, &t->rng);
  t->first = 0;
  const char *net_type = t->net->desc.net_type;
  if (!t->init_path) {
    dlcc_notes_add(t->notes,
                   "%s starts from random weights (seed %llu): ImageNet weights cannot be downloaded here, so expect "
                   "it to need more iterations than DeepLabCut from ImageNet; put a safetensors file with "
                   "torchvision's names in init_weights to start from pretrained weights",
                   net_type, (unsigned long long)seed);
    return DLCC_OK;
  }
  size_t loaded = 0;
  dlcc_status st = dlcc_nn_network_load_init_weights(t->net, t->init_path, &loaded, err);
  if (!st) dlcc_notes_add(t->notes, "%s starts from %s (%zu tensors)", net_type, t->init_path, loaded);
  return st;
}

/* --resume: the newest snapshot's weights, optimizer state, iteration and data generator. Without it,
 * a folder that already holds snapshots is refused rather than mixed with a new run. */
static dlcc_status resume_or_start(trainer *t, dlcc_error *err) {
  long *iterations;
  size_t count;
  dlcc_status st = dlcc_snapshots_list(t->cfg.snapshot_prefix, &iterations, &count, err);
  if (st) return st;
  long newest = count ? iterations[count - 1] : -1;
  free(iterations);
  char *path = newest >= 0 ? dlcc_snapshot_path(t->cfg.snapshot_prefix, newest) : NULL;
  if (newest >= 0 && !path) return out_of_memory(err);
  if (!t->opt->resume && path)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "%s already holds snapshots (the newest is %s): add --resume to continue that training, or "
                   "delete the snapshot files to start again from iteration 0",
                   t->train_dir, path);
  else if (!t->opt->resume)
    st = initialise(t, err);
  else if (!path)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "--resume: %s holds no snapshot (snapshot-<iteration>%s) to continue from; train without "
                   "--resume to start",
                   t->train_dir, DLCC_SNAPSHOT_EXTENSION);
  else {
    long iteration = 0;
    st = dlcc_nn_snapshot_load(path, t->net->desc.net_type, &t->net->params, &t->optim, &iteration, &t->rng, err);
    t->first = iteration + 1;
    if (!st) dlcc_notes_add(t->notes, "resuming from %s: iteration %ld comes next", path, t->first);
    if (!st && t->opt->seed_given)
      dlcc_notes_add(t->notes, "--seed is ignored with --resume: the run goes on with the snapshot's random state");
  }
  free(path);
  return st;
}

/* ---- schedule, data, log ---- */

static void plan_iterations(trainer *t) {
  const dlcc_train_options *o = t->opt;
  t->last = dlcc_nn_last_iteration(&t->cfg, o->max_iters);
  t->display_iters = o->display_iters > 0 ? o->display_iters : t->cfg.display_iters;
  t->save_iters = o->save_iters > 0 ? o->save_iters : t->cfg.save_iters;
  if (t->display_iters < 1) t->display_iters = 1;
  if (t->save_iters < 1) t->save_iters = 1;
}

static dlcc_status start_data(trainer *t, dlcc_error *err) {
  dlcc_status st = dlcc_train_dataset_load(&t->cfg, t->project.root, NULL, &t->data, err);
  if (st) return st;
  dlcc_rng copy = t->rng;
  uint64_t seed = (uint64_t)dlcc_rng_u32(&copy) << 32;
  seed |= dlcc_rng_u32(&copy);
  dlcc_train_loader_options lo = {.seed = seed, .first_batch = (uint64_t)t->first,
                                  .n_workers = t->opt->workers > 0 ? t->opt->workers : DLCC_TRAIN_DEFAULT_WORKERS};
  return dlcc_train_loader_start(&t->loader, &t->data, &t->cfg, &lo, err);
}

static dlcc_status open_in_train_dir(trainer *t, const char *name, const char *mode, FILE **f, dlcc_error *err) {
  char *path = dlcc_path_join(t->train_dir, name);
  if (!path) return out_of_memory(err);
  *f = fopen(path, mode);
  dlcc_status st = *f ? DLCC_OK : dlcc_fail(err, DLCC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  free(path);
  return st;
}

/* log.txt is appended to, as DeepLabCut's logging does; learning_stats.csv starts afresh with a new
 * training run, as DeepLabCut's does, and goes on after a resume. */
static dlcc_status open_log(trainer *t, dlcc_error *err) {
  dlcc_status st = open_in_train_dir(t, "log.txt", "a", &t->log, err);
  return st ? st : open_in_train_dir(t, "learning_stats.csv", t->first > 0 ? "a" : "w", &t->stats, err);
}

static void write_log(trainer *t, const char *message, const dlcc_train_log_record *stats) {
  if (t->log_failed || (dlcc_train_log_append(t->log, time(NULL), message) &&
                        (!stats || dlcc_train_stats_append(t->stats, stats))))
    return;
  t->log_failed = true;
  dlcc_notes_add(t->notes, "could not append to log.txt or learning_stats.csv in %s (disk full?); the logs stop there",
                 t->train_dir);
}

/* ---- reporting ---- */

static dlcc_train_progress progress_of(const trainer *t, dlcc_train_event event, long iteration) {
  double elapsed = t->start_s > 0 ? now_s() - t->start_s : 0;
  return (dlcc_train_progress){.event = event, .iteration = iteration, .first_iteration = t->first,
                               .last_iteration = t->last, .lr = dlcc_nn_learning_rate(&t->cfg, iteration),
                               .elapsed_s = elapsed, .eta_s = t->pace_s * (double)(t->last - iteration),
                               .images_per_s = elapsed > 0 ? (double)t->images / elapsed : 0,
                               .train_dir = t->train_dir, .net_type = t->net->desc.net_type,
                               .precision = dlcc_nn_dtype_name(t->net->desc.dtype)};
}

static void report(const trainer *t, const dlcc_train_progress *p) {
  if (t->opt->progress) t->opt->progress(p, t->opt->user);
}

static void add_losses(dlcc_nn_losses *sum, const dlcc_nn_losses *l) {
  sum->part += l->part;
  sum->part_interm += l->part_interm;
  sum->locref += l->locref;
  sum->pairwise += l->pairwise;
  sum->total += l->total;
}

static void scale_losses(dlcc_nn_losses *l, double factor) {
  l->part *= factor;
  l->part_interm *= factor;
  l->locref *= factor;
  l->pairwise *= factor;
  l->total *= factor;
}

/* DeepLabCut logs at iterations that are multiples of display_iters (not the first it runs); dlcc's
 * means are over the iterations actually run since the last line (DeepLabCut divides its first sum,
 * of display_iters + 1 losses, by display_iters). */
static void display(trainer *t, long iteration) {
  display_window *w = &t->window;
  double seconds = now_s() - w->start_s;
  dlcc_train_log_record r = {.iteration = iteration, .losses = w->sum, .lr = dlcc_nn_learning_rate(&t->cfg, iteration),
                             .images_per_s = seconds > 0 ? (double)w->images / seconds : 0,
                             .intermediate = t->loss_spec.intermediate_supervision,
                             .pairwise = t->loss_spec.pairwise || t->cfg.multianimal,
                             .multianimal = t->cfg.multianimal};
  scale_losses(&r.losses, 1.0 / (double)w->iterations);
  char line[512];
  dlcc_train_log_format(&r, line, sizeof line);
  write_log(t, line, &r);
  dlcc_train_progress p = progress_of(t, DLCC_TRAIN_DISPLAY, iteration);
  p.losses = r.losses;
  p.images_per_s = r.images_per_s;
  p.log_line = line;
  report(t, &p);
  *w = (display_window){.start_s = now_s()};
}

/* ---- one iteration ---- */

static dlcc_status reserve_head(trainer *t, int h, size_t count, dlcc_error *err) {
  if (count <= t->cap[h]) return DLCC_OK;
  float *out = realloc(t->out[h], count * sizeof *out);
  if (out) t->out[h] = out;
  float *grad = out ? realloc(t->grad[h], count * sizeof *grad) : NULL;
  if (grad) t->grad[h] = grad;
  if (!out || !grad) return out_of_memory(err);
  t->cap[h] = count;
  return DLCC_OK;
}

/* Exports head h of the last forward (input dims in) into t->out[h]; *count gets its size. The
 * heads must cover the batch's score map exactly. */
static dlcc_status export_head(trainer *t, int h, const dlcc_train_batch *b, const int64_t in[4], int channels,
                               size_t *count, dlcc_error *err) {
  int64_t dims[4];
  dlcc_status st = dlcc_nn_network_output_dims(t->net, (dlcc_nn_head)h, in, dims, err);
  if (st) return st;
  if (dims[1] != channels)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s has %lld channels but the batch's targets have %d: num_joints, num_idchannel and num_limbs "
                     "in %s disagree with the network",
                     dlcc_nn_head_name((dlcc_nn_head)h), (long long)dims[1], channels, t->pose_cfg_path);
  if (dims[2] != b->map_height || dims[3] != b->map_width)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s gives %lldx%lld maps for a %dx%d batch, the targets are %dx%d: the network's stride and "
                     "pose_cfg's stride (%g) disagree",
                     dlcc_nn_head_name((dlcc_nn_head)h), (long long)dims[3], (long long)dims[2], b->width, b->height,
                     b->map_width, b->map_height, t->cfg.stride);
  *count = (size_t)(dims[0] * dims[1] * dims[2] * dims[3]);
  st = reserve_head(t, h, *count, err);
  return st ? st : dlcc_nn_network_head_export(t->net, t->engine, (dlcc_nn_head)h, t->out[h], err);
}

static dlcc_status compute_losses(trainer *t, const dlcc_train_batch *b, const int64_t in[4], dlcc_nn_losses *losses,
                                  const float *head_grads[DLCC_NN_HEADS], dlcc_error *err) {
  dlcc_nn_loss_batch lb = {0};
  size_t count;
  int h = DLCC_NN_HEAD_PART;
  int part_channels = b->num_joints + b->num_idchannel;
  dlcc_status st = export_head(t, h, b, in, part_channels, &count, err);
  /* DeepLabCut weighs the part loss by the score-map weights only with weigh_part_predictions (else
   * 1.0); the weights are all 1 unless weigh_only_present_joints. */
  const float *part_weights = t->cfg.weigh_part_predictions ? b->weights : NULL;
  lb.part = (dlcc_nn_head_io){t->out[h], b->scoremap, part_weights, t->grad[h], count};
  head_grads[h] = t->grad[h];
  if (!st && t->loss_spec.location_refinement) {
    h = DLCC_NN_HEAD_LOCREF;
    st = export_head(t, h, b, in, 2 * b->num_joints, &count, err);
    lb.locref = (dlcc_nn_head_io){t->out[h], b->locref, b->locref_mask, t->grad[h], count};
    head_grads[h] = t->grad[h];
  }
  if (!st && t->loss_spec.pairwise) {
    h = DLCC_NN_HEAD_PAIRWISE;
    st = export_head(t, h, b, in, 2 * b->num_limbs, &count, err);
    lb.pairwise = (dlcc_nn_head_io){t->out[h], b->paf, b->paf_mask, t->grad[h], count};
    head_grads[h] = t->grad[h];
  }
  if (!st && t->loss_spec.intermediate_supervision) {
    h = DLCC_NN_HEAD_PART_INTERM;
    st = export_head(t, h, b, in, part_channels, &count, err);
    lb.part_interm = (dlcc_nn_head_io){t->out[h], NULL, NULL, t->grad[h], count};
    head_grads[h] = t->grad[h];
  }
  return st ? st : dlcc_nn_total_loss(&t->loss_spec, &lb, losses, err);
}

/* One training iteration. *from_loader tells whether a failure was the loader's (a batch that could
 * not be made) rather than the network's. */
static dlcc_status train_step(trainer *t, long iteration, dlcc_nn_losses *losses, size_t *images,
                              bool *from_loader, dlcc_error *err) {
  const dlcc_train_batch *b;
  dlcc_status st = dlcc_train_loader_next(t->loader, &b, err);
  *from_loader = st != DLCC_OK;
  if (st) return st;
  int64_t dims[4] = {(int64_t)b->n, 3, b->height, b->width};
  const float *head_grads[DLCC_NN_HEADS] = {NULL};
  st = dlcc_nn_network_forward(t->net, t->engine, b->inputs, dims, DLCC_NN_TRAINING, err);
  if (!st) st = compute_losses(t, b, dims, losses, head_grads, err);
  if (!st) st = dlcc_nn_network_backward(t->net, t->engine, head_grads, err);
  if (!st) st = dlcc_nn_optimizer_step(&t->optim, &t->net->params, dlcc_nn_learning_rate(&t->cfg, iteration), err);
  if (st) dlcc_error_prefix(err, "iteration %ld (a %dx%d batch)", iteration, b->width, b->height);
  *images = b->n;
  return st;
}

/* ---- snapshots and the end ---- */

static dlcc_status save_snapshot(trainer *t, long iteration, dlcc_error *err) {
  char *path = dlcc_snapshot_path(t->cfg.snapshot_prefix, iteration);
  if (!path) return out_of_memory(err);
  dlcc_status st = dlcc_nn_snapshot_save(path, t->net->desc.net_type, &t->net->params, &t->optim, iteration,
                                         &t->rng, err);
  if (!st) st = dlcc_snapshots_prune(t->cfg.snapshot_prefix, (size_t)t->cfg.max_snapshots_to_keep, NULL, err);
  if (st) {
    free(path);
    return st;
  }
  free(t->snapshot);
  t->snapshot = path;
  t->snapshot_iteration = iteration;
  dlcc_train_progress p = progress_of(t, DLCC_TRAIN_SNAPSHOT, iteration);
  p.snapshot = path;
  report(t, &p);
  return DLCC_OK;
}

static void resume_hint(const trainer *t, char *buf, size_t size) {
  const dlcc_train_options *o = t->opt;
  char index[48] = "";
  if (o->trainingsetindex) snprintf(index, sizeof index, " --trainingsetindex %d", o->trainingsetindex);
  snprintf(buf, size, "dlcc train %s --shuffle %d%s --resume", o->config_path, o->shuffle, index);
}

static dlcc_status interrupted(const trainer *t, long iteration, dlcc_error *err) {
  char hint[1200];
  resume_hint(t, hint, sizeof hint);
  return dlcc_fail(err, DLCC_ERR_INTERRUPTED,
                   "training stopped after iteration %ld as asked; the network, optimizer and random state are in "
                   "%s; to continue: %s",
                   iteration, t->snapshot, hint);
}

/* A batch that could not be made stops training; what was trained so far is kept for --resume. */
static void keep_progress_after_failure(trainer *t, long iteration, dlcc_error *err) {
  dlcc_error save_err;
  if (t->trained == 0) return;
  if (t->snapshot_iteration != iteration - 1 && save_snapshot(t, iteration - 1, &save_err)) return;
  char hint[1200];
  resume_hint(t, hint, sizeof hint);
  size_t used = strlen(err->message);
  snprintf(err->message + used, sizeof err->message - used,
           " (iterations up to %ld are saved in %s; after fixing this, continue with: %s)", iteration - 1,
           t->snapshot, hint);
}

static void account(trainer *t, const dlcc_nn_losses *losses, size_t images, double seconds) {
  add_losses(&t->window.sum, losses);
  t->window.iterations++;
  t->window.images += images;
  t->images += images;
  /* The first iterations build oneDNN's primitives for each new shape: a smoothed pace forgets them. */
  t->pace_s = t->trained++ ? 0.9 * t->pace_s + 0.1 * seconds : seconds;
}

static dlcc_status train_loop(trainer *t, dlcc_error *err) {
  t->start_s = now_s();
  t->window.start_s = t->start_s;
  dlcc_status st = DLCC_OK;
  for (long it = t->first; it <= t->last && !st; it++) {
    double t0 = now_s();
    dlcc_nn_losses losses;
    size_t images = 0;
    bool from_loader;
    st = train_step(t, it, &losses, &images, &from_loader, err);
    if (st) {
      if (from_loader) keep_progress_after_failure(t, it, err);
      break;
    }
    account(t, &losses, images, now_s() - t0);
    dlcc_train_progress p = progress_of(t, DLCC_TRAIN_ITERATION, it);
    p.losses = losses;
    report(t, &p);
    if (it % t->display_iters == 0 && it > 0) display(t, it);
    bool stop = t->opt->stop && *t->opt->stop;
    if ((it % t->save_iters == 0 && it > 0) || it == t->last || stop) st = save_snapshot(t, it, err);
    if (!st && stop && it < t->last) st = interrupted(t, it, err);
  }
  return st;
}

/* ---- the whole run ---- */

static dlcc_status set_up(trainer *t, dlcc_error *err) {
  dlcc_status st = find_pose_cfg(t, err);
  if (!st) st = check_trainable(t, err);
  if (!st) madlc_batch_size(t);
  if (!st) st = build_network(t, err);
  if (!st) st = resume_or_start(t, err);
  if (st) return st;
  plan_iterations(t);
  if (t->first > t->last) {
    dlcc_notes_add(t->notes,
                   "nothing left to train: the newest snapshot is at iteration %ld and training ends at %ld (raise "
                   "--max-iters or multi_step's last iteration to go on)",
                   t->first - 1, t->last);
    return DLCC_OK;
  }
  if (t->cfg.multianimal) note_madlc_augmentations(&t->cfg, t->notes);
  else note_unapplied_augmentations(&t->cfg, t->notes);
  st = start_data(t, err);
  if (!st) st = open_log(t, err);
  if (st) return st;
  char line[256];
  snprintf(line, sizeof line, "dlcc: training %s, iterations %ld to %ld, batch_size %d", t->net->desc.net_type,
           t->first, t->last, t->cfg.batch_size);
  write_log(t, line, NULL);
  return DLCC_OK;
}

static void fill_result(const trainer *t, dlcc_train_result *r) {
  r->first_iteration = t->first;
  r->iterations = t->trained;
  r->last_iteration = t->first + t->trained - 1;
  r->wall_s = t->start_s > 0 ? now_s() - t->start_s : 0;
  r->images_per_s = r->wall_s > 0 ? (double)t->images / r->wall_s : 0;
  r->train_dir = t->train_dir ? strdup(t->train_dir) : NULL;
  r->snapshot = t->snapshot ? strdup(t->snapshot) : NULL;
}

static void tear_down(trainer *t) {
  dlcc_train_loader_stop(t->loader);
  dlcc_train_dataset_free(&t->data);
  if (t->log) fclose(t->log);
  if (t->stats) fclose(t->stats);
  for (int h = 0; h < DLCC_NN_HEADS; h++) {
    free(t->out[h]);
    free(t->grad[h]);
  }
  dlcc_nn_optimizer_free(&t->optim);
  dlcc_nn_network_free(t->net);
  dlcc_nn_engine_free(t->engine);
  dlcc_pose_cfg_free(&t->cfg);
  dlcc_config_free(&t->project);
  free(t->train_dir);
  free(t->pose_cfg_path);
  free(t->init_path);
  free(t->snapshot);
}

dlcc_status dlcc_train_run(const dlcc_train_options *opt, dlcc_train_result *result, dlcc_notes *notes,
                           dlcc_error *err) {
  memset(result, 0, sizeof *result);
  if (opt->shuffle < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "shuffle %d: shuffles are numbered from 1", opt->shuffle);
  trainer t = {.opt = opt, .notes = notes, .snapshot_iteration = -1};
  dlcc_status st = set_up(&t, err);
  if (!st && t.first <= t.last) {
    dlcc_train_progress p = progress_of(&t, DLCC_TRAIN_STARTED, t.first);
    p.notes = notes;
    report(&t, &p);
    st = train_loop(&t, err);
  }
  fill_result(&t, result);
  tear_down(&t);
  return st;
}
