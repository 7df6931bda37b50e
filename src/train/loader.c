/* The batch loader (see loader.h). Batch k lives in ring slot k % ring_size and a worker takes it only
 * once the consumer has given back batch k - ring_size, so each slot is touched by one worker, then by
 * the consumer, and its buffers (grown to the largest batch seen) are reused. All randomness of batch
 * k comes from a generator seeded by (seed, k): the bytes cannot depend on the workers' timing. */
#include "train/loader.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "augment/batch_madlc.h"
#include "targets/paf.h"
#include "util/rng.h"

typedef struct ring_slot {
  dlcc_train_batch batch;       /* what the consumer sees */
  dlcc_aug_batch aug;           /* pixels, surviving joints, and the augmentation's scratch */
  float *scoremap, *weights, *locref, *locref_mask, *paf, *paf_mask;
  size_t part_capacity;         /* floats in scoremap and weights */
  size_t locref_capacity;       /* floats in locref and locref_mask */
  size_t paf_capacity;          /* floats in paf and paf_mask */
  size_t *image_indices;        /* batch_size */
  dlcc_aug_source *sources;     /* batch_size */
  dlcc_image *decoded;          /* batch_size: pixels of images read on demand */

  /* guarded by the loader's lock */
  bool done;                    /* batch `index` is finished (or failed) */
  uint64_t index;
  dlcc_status status;
  dlcc_error error;
} ring_slot;

struct dlcc_train_loader {
  const dlcc_train_dataset *data;
  const dlcc_pose_cfg *cfg;
  /* maDLC: the augmentation read from cfg, the identity channels after the joints' and the limbs
   * of the part affinity fields (none when partaffinityfield_predict is off) */
  dlcc_aug_madlc_plan madlc;
  int num_idchannel;
  dlcc_limb *limbs;
  int num_limbs;
  uint64_t seed;
  size_t batch_size;
  size_t ring_size;
  ring_slot *slots;
  pthread_t *threads;
  int n_threads;                /* started */

  pthread_mutex_t lock;
  pthread_cond_t room;          /* a slot was given back, or stopping */
  pthread_cond_t ready;         /* a batch was finished */
  uint64_t next_claim;          /* the batch the next free worker makes */
  uint64_t next_out;            /* the batch the consumer gets next */
  uint64_t given_back;          /* the consumer is done with every batch below this */
  bool holding;                 /* the consumer holds batch next_out - 1 */
  bool stopping;
};

/* ---- one batch ---- */

/* SplitMix64's finaliser: neighbouring inputs give unrelated outputs. */
static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* The seed of batch k's generator: a function of (seed, k) only. */
static uint64_t batch_seed(uint64_t seed, uint64_t k) { return mix64(mix64(seed) ^ k); }

static dlcc_scoremap_params target_params(const dlcc_pose_cfg *cfg) {
  return (dlcc_scoremap_params){.num_joints = cfg->num_joints,
                                .stride = cfg->stride,
                                .pos_dist_thresh = cfg->pos_dist_thresh,
                                .scale = 1.0,
                                .locref_stdev = cfg->locref_stdev,
                                .weigh_only_present_joints = cfg->weigh_only_present_joints,
                                .multianimal = cfg->multianimal};
}

static dlcc_status grow_floats(float **array, size_t n, dlcc_error *err) {
  float *grown = realloc(*array, n * sizeof *grown);
  if (!grown) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for training targets (%zu bytes)", n * sizeof *grown);
  *array = grown;
  return DLCC_OK;
}

/* Grows a pair of target arrays (the targets and their weights) to hold `floats` each. */
static dlcc_status reserve_pair(float **a, float **b, size_t *capacity, size_t floats, dlcc_error *err) {
  if (floats <= *capacity) return DLCC_OK;
  dlcc_status st = grow_floats(a, floats, err);
  if (!st) st = grow_floats(b, floats, err);
  if (!st) *capacity = floats;
  return st;
}

/* Floats per frame of each target, for a map of `plane` cells. */
typedef struct target_sizes {
  size_t part, locref, paf;
} target_sizes;

static target_sizes sizes_per_frame(const dlcc_train_loader *l, size_t plane) {
  size_t joints = (size_t)l->cfg->num_joints;
  return (target_sizes){.part = (joints + (size_t)l->num_idchannel) * plane, .locref = 2 * joints * plane,
                        .paf = 2 * (size_t)l->num_limbs * plane};
}

static dlcc_status reserve_targets(ring_slot *s, const target_sizes *frame, size_t n, dlcc_error *err) {
  dlcc_status st = reserve_pair(&s->scoremap, &s->weights, &s->part_capacity, n * frame->part, err);
  if (!st) st = reserve_pair(&s->locref, &s->locref_mask, &s->locref_capacity, n * frame->locref, err);
  if (!st && frame->paf) st = reserve_pair(&s->paf, &s->paf_mask, &s->paf_capacity, n * frame->paf, err);
  return st;
}

/* maDLC's extra targets of frame i: the identity channels after the joints' and the part affinity
 * fields, both with the batch's scale. */
static void build_madlc_targets(const dlcc_train_loader *l, ring_slot *s, size_t i, const dlcc_scoremap_params *p,
                                const target_sizes *frame, int map_width, int map_height) {
  const dlcc_aug_sample *sample = &s->aug.samples[i];
  size_t joint_floats = (size_t)p->num_joints * (size_t)map_width * (size_t)map_height;
  if (l->num_idchannel > 0)
    dlcc_scoremap_identity_build(p, l->num_idchannel, sample->joints, sample->joints_per_animal, sample->n_animals,
                                 map_width, map_height, s->scoremap + i * frame->part + joint_floats,
                                 s->weights + i * frame->part + joint_floats);
  if (l->num_limbs > 0) {
    dlcc_paf_params pp = {.limbs = l->limbs, .num_limbs = l->num_limbs, .stride = l->cfg->stride,
                          .pafwidth = l->cfg->pafwidth, .scale = sample->scale,
                          .weigh_only_present_joints = l->cfg->weigh_only_present_joints};
    dlcc_paf_targets_build(&pp, sample->joints, sample->joints_per_animal, sample->n_animals, map_width, map_height,
                           s->paf + i * frame->paf, s->paf_mask + i * frame->paf);
  }
}

/* Targets of every frame at the batch's map size, each with the frame's own scale. */
static dlcc_status build_targets(const dlcc_train_loader *l, ring_slot *s, int *map_width_out, int *map_height_out,
                                 dlcc_error *err) {
  dlcc_scoremap_params p = target_params(l->cfg);
  int map_width, map_height;
  dlcc_scoremap_size(&p, s->aug.width, s->aug.height, &map_width, &map_height);
  target_sizes frame = sizes_per_frame(l, (size_t)map_width * (size_t)map_height);
  dlcc_status st = reserve_targets(s, &frame, s->aug.n, err);
  if (st) return st;
  for (size_t i = 0; i < s->aug.n; i++) {
    const dlcc_aug_sample *sample = &s->aug.samples[i];
    p.scale = sample->scale;
    dlcc_scoremap_targets_build(&p, sample->joints, sample->n_joints, map_width, map_height,
                                s->scoremap + i * frame.part, s->weights + i * frame.part,
                                s->locref + i * frame.locref, s->locref_mask + i * frame.locref);
    if (l->cfg->multianimal) build_madlc_targets(l, s, i, &p, &frame, map_width, map_height);
  }
  *map_width_out = map_width;
  *map_height_out = map_height;
  return DLCC_OK;
}

/* DeepLabCut's get_batch: batch_size images uniformly with replacement. */
static dlcc_status draw_sources(const dlcc_train_loader *l, ring_slot *s, dlcc_rng *rng, dlcc_error *err) {
  for (size_t i = 0; i < l->batch_size; i++) s->image_indices[i] = dlcc_rng_below(rng, (uint32_t)l->data->n_images);
  for (size_t i = 0; i < l->batch_size; i++) {
    const dlcc_train_image *img = &l->data->images[s->image_indices[i]];
    const dlcc_image *pixels = NULL;
    dlcc_status st = dlcc_train_dataset_pixels(l->data, s->image_indices[i], &s->decoded[i], &pixels, err);
    if (st) return st;
    s->sources[i] = (dlcc_aug_source){.image = pixels, .joints = img->joints, .n_joints = img->n_joints,
                                      .name = img->name};
    if (l->cfg->multianimal) {
      s->sources[i].joints_per_animal = img->joints_per_animal;
      s->sources[i].n_animals = img->n_animals;
    }
  }
  return DLCC_OK;
}

static dlcc_status make_batch(const dlcc_train_loader *l, ring_slot *s, uint64_t k, dlcc_error *err) {
  dlcc_rng rng;
  dlcc_rng_seed(&rng, batch_seed(l->seed, k));
  int map_width = 0, map_height = 0;
  dlcc_status st = draw_sources(l, s, &rng, err);
  if (!st && l->cfg->multianimal)
    st = dlcc_aug_madlc_batch_make(&s->aug, l->cfg, &l->madlc, s->sources, l->batch_size, &rng, err);
  else if (!st)
    st = dlcc_aug_batch_make(&s->aug, l->cfg, s->sources, l->batch_size, &rng, err);
  if (!st) st = build_targets(l, s, &map_width, &map_height, err);
  if (st) return st;
  s->batch = (dlcc_train_batch){.index = k, .n = s->aug.n, .width = s->aug.width, .height = s->aug.height,
                                .map_width = map_width, .map_height = map_height,
                                .num_joints = l->cfg->num_joints, .num_idchannel = l->num_idchannel,
                                .num_limbs = l->num_limbs, .inputs = s->aug.pixels,
                                .scoremap = s->scoremap, .weights = s->weights, .locref = s->locref,
                                .locref_mask = s->locref_mask, .paf = l->num_limbs ? s->paf : NULL,
                                .paf_mask = l->num_limbs ? s->paf_mask : NULL, .image_indices = s->image_indices,
                                .samples = s->aug.samples, .scale = s->aug.scale};
  return DLCC_OK;
}

/* ---- the workers ---- */

/* Waits for a batch whose slot is free; false when stopping. */
static bool claim(dlcc_train_loader *l, uint64_t *k) {
  pthread_mutex_lock(&l->lock);
  while (!l->stopping && l->next_claim >= l->given_back + l->ring_size) pthread_cond_wait(&l->room, &l->lock);
  bool go = !l->stopping;
  if (go) {
    *k = l->next_claim++;
    l->slots[*k % l->ring_size].done = false;
  }
  pthread_mutex_unlock(&l->lock);
  return go;
}

static void *worker_main(void *arg) {
  dlcc_train_loader *l = arg;
  uint64_t k;
  while (claim(l, &k)) {
    ring_slot *s = &l->slots[k % l->ring_size];
    dlcc_error error;
    dlcc_error_clear(&error);
    dlcc_status st = make_batch(l, s, k, &error);
    pthread_mutex_lock(&l->lock);
    s->status = st;
    s->error = error;
    s->index = k;
    s->done = true;
    pthread_cond_broadcast(&l->ready);
    pthread_mutex_unlock(&l->lock);
  }
  return NULL;
}

/* ---- the consumer ---- */

dlcc_status dlcc_train_loader_next(dlcc_train_loader *l, const dlcc_train_batch **batch, dlcc_error *err) {
  *batch = NULL;
  pthread_mutex_lock(&l->lock);
  if (l->holding) {
    l->given_back = l->next_out;
    l->holding = false;
    pthread_cond_broadcast(&l->room);
  }
  uint64_t k = l->next_out++;
  ring_slot *s = &l->slots[k % l->ring_size];
  while (!(s->done && s->index == k)) pthread_cond_wait(&l->ready, &l->lock);
  dlcc_status st = s->status;
  if (st) {
    /* Copied under the lock: once given back, the slot may be refilled at once. */
    dlcc_fail(err, st, "batch %llu: %s", (unsigned long long)k, s->error.message);
    l->given_back = l->next_out;
    pthread_cond_broadcast(&l->room);
  } else {
    l->holding = true;
    *batch = &s->batch;
  }
  pthread_mutex_unlock(&l->lock);
  return st;
}

size_t dlcc_train_loader_ready(dlcc_train_loader *l) {
  size_t n = 0;
  pthread_mutex_lock(&l->lock);
  for (uint64_t k = l->next_out; k < l->next_claim; k++) {
    const ring_slot *s = &l->slots[k % l->ring_size];
    n += s->done && s->index == k;
  }
  pthread_mutex_unlock(&l->lock);
  return n;
}

/* ---- start and stop ---- */

static dlcc_status check_options(const dlcc_train_dataset *data, const dlcc_pose_cfg *cfg,
                                 const dlcc_train_loader_options *opt, dlcc_error *err) {
  if (opt->n_workers < 1 || opt->n_workers > DLCC_TRAIN_LOADER_MAX_WORKERS)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the number of data-loading threads is %d; use 1 to %d", opt->n_workers,
                     DLCC_TRAIN_LOADER_MAX_WORKERS);
  if (opt->ring_size < 0 || opt->ring_size > 4 * DLCC_TRAIN_LOADER_MAX_WORKERS)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the loader's ring holds %d batches; use 1 to %d (0: twice the threads)",
                     opt->ring_size, 4 * DLCC_TRAIN_LOADER_MAX_WORKERS);
  if (cfg->batch_size < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: batch_size is %d; it must be at least 1",
                     cfg->source_path ? cfg->source_path : "pose_cfg.yaml", cfg->batch_size);
  if (data->n_images == 0 || data->n_images > UINT32_MAX)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the training set has %zu images; training needs 1 to %u",
                     data->n_images, (unsigned)UINT32_MAX);
  if (data->num_joints != cfg->num_joints)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the training set %s has %d joints but num_joints is %d",
                     data->file ? data->file : "", data->num_joints, cfg->num_joints);
  return DLCC_OK;
}

/* maDLC: the augmentation plan, the identity channels and, when partaffinityfield_predict is on,
 * the limbs of partaffinityfield_graph (checked against num_limbs and the joints). */
static dlcc_status prepare_madlc(dlcc_train_loader *l, dlcc_error *err) {
  const dlcc_pose_cfg *cfg = l->cfg;
  const char *where = cfg->source_path ? cfg->source_path : "pose_cfg.yaml";
  if (!cfg->multianimal) return DLCC_OK;
  dlcc_status st = dlcc_aug_madlc_plan_from_cfg(cfg, &l->madlc, err);
  if (st) return st;
  if (cfg->num_idchannel < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: num_idchannel is %d; it cannot be negative", where,
                     cfg->num_idchannel);
  l->num_idchannel = cfg->num_idchannel;
  if (!cfg->partaffinityfield_predict) return DLCC_OK;
  if ((size_t)cfg->num_limbs != cfg->n_limbs)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s: num_limbs is %d but partaffinityfield_graph lists %zu limbs; set num_limbs to %zu", where,
                     cfg->num_limbs, cfg->n_limbs, cfg->n_limbs);
  if (cfg->n_limbs == 0) return DLCC_OK;
  if (!(l->limbs = malloc(cfg->n_limbs * sizeof *l->limbs))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t k = 0; k < cfg->n_limbs; k++) {
    const int *pair = cfg->partaffinityfield_graph[k];
    if (pair[0] < 0 || pair[0] >= cfg->num_joints || pair[1] < 0 || pair[1] >= cfg->num_joints)
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "%s: partaffinityfield_graph[%zu] is [%d, %d]; joint indices go from 0 to %d (num_joints %d)",
                       where, k, pair[0], pair[1], cfg->num_joints - 1, cfg->num_joints);
    l->limbs[k] = (dlcc_limb){pair[0], pair[1]};
  }
  l->num_limbs = (int)cfg->n_limbs;
  return DLCC_OK;
}

static dlcc_status alloc_slots(dlcc_train_loader *l, dlcc_error *err) {
  if (!(l->slots = calloc(l->ring_size, sizeof *l->slots))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < l->ring_size; i++) {
    ring_slot *s = &l->slots[i];
    s->image_indices = calloc(l->batch_size, sizeof *s->image_indices);
    s->sources = calloc(l->batch_size, sizeof *s->sources);
    s->decoded = calloc(l->batch_size, sizeof *s->decoded);
    if (!s->image_indices || !s->sources || !s->decoded)
      return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the loader's ring");
  }
  return DLCC_OK;
}

static void free_slots(dlcc_train_loader *l) {
  for (size_t i = 0; l->slots && i < l->ring_size; i++) {
    ring_slot *s = &l->slots[i];
    dlcc_aug_batch_free(&s->aug);
    free(s->scoremap);
    free(s->weights);
    free(s->locref);
    free(s->locref_mask);
    free(s->paf);
    free(s->paf_mask);
    for (size_t j = 0; s->decoded && j < l->batch_size; j++) dlcc_image_free(&s->decoded[j]);
    free(s->decoded);
    free(s->sources);
    free(s->image_indices);
  }
  free(l->slots);
  free(l->limbs);
  dlcc_aug_madlc_plan_free(&l->madlc);
}

/* Workers keep every signal blocked, so that Ctrl-C reaches the thread that trains. */
static dlcc_status start_threads(dlcc_train_loader *l, int n, dlcc_error *err) {
  if (!(l->threads = calloc((size_t)n, sizeof *l->threads))) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  int rc = 0;
  while (l->n_threads < n && (rc = pthread_create(&l->threads[l->n_threads], NULL, worker_main, l)) == 0)
    l->n_threads++;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (rc) return dlcc_fail(err, DLCC_ERR_NOMEM, "could not start data-loading thread %d of %d (error %d)",
                           l->n_threads + 1, n, rc);
  return DLCC_OK;
}

dlcc_status dlcc_train_loader_start(dlcc_train_loader **loader, const dlcc_train_dataset *data,
                                    const dlcc_pose_cfg *cfg, const dlcc_train_loader_options *opt,
                                    dlcc_error *err) {
  *loader = NULL;
  dlcc_status st = check_options(data, cfg, opt, err);
  if (st) return st;
  dlcc_train_loader *l = calloc(1, sizeof *l);
  if (!l) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  *l = (dlcc_train_loader){.data = data, .cfg = cfg, .seed = opt->seed, .batch_size = (size_t)cfg->batch_size,
                           .ring_size = (size_t)(opt->ring_size ? opt->ring_size : 2 * opt->n_workers),
                           .next_claim = opt->first_batch, .next_out = opt->first_batch,
                           .given_back = opt->first_batch};
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->room, NULL);
  pthread_cond_init(&l->ready, NULL);
  st = prepare_madlc(l, err);
  if (!st) st = alloc_slots(l, err);
  if (!st) st = start_threads(l, opt->n_workers, err);
  if (st) {
    dlcc_train_loader_stop(l);
    return st;
  }
  *loader = l;
  return DLCC_OK;
}

void dlcc_train_loader_stop(dlcc_train_loader *l) {
  if (!l) return;
  pthread_mutex_lock(&l->lock);
  l->stopping = true;
  pthread_cond_broadcast(&l->room);
  pthread_mutex_unlock(&l->lock);
  for (int i = 0; i < l->n_threads; i++) pthread_join(l->threads[i], NULL);
  free(l->threads);
  free_slots(l);
  pthread_cond_destroy(&l->ready);
  pthread_cond_destroy(&l->room);
  pthread_mutex_destroy(&l->lock);
  free(l);
}
