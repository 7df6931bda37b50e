/* `dlcc analyze-videos` for one video (see analyze_video.h), as DeepLabCut's analyze_videos with its
 * TensorFlow engine (GetPoseF): frames decoded in order, batch_size at a time through the network at
 * native size, poses appended to the analysis CSV; the last batch may be short. A decoder thread fills
 * the next batch while the network works on the current one. */
#include "infer/analyze_video.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer/analysis_output.h"
#include "infer/predict_multi.h"
#include "project/inference_cfg.h"
#include "track/assemblies_file.h"
#include "util/fileio.h"

dlcc_status dlcc_analysis_model_open(dlcc_model *m, const dlcc_project_config *cfg, const dlcc_model_options *opt,
                                     dlcc_notes *notes, dlcc_error *err) {
  memset(m, 0, sizeof *m);
  m->loaded = -1;
  dlcc_model_options o = *opt;
  o.allow_all = false;
  dlcc_status st = dlcc_model_open(m, cfg, &o, notes, err);
  if (!st) st = dlcc_model_load(m, m->selected[0], err);
  return st;
}

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A batch of decoded frames passed from the decoder thread to the network: while `full` the network
 * owns it, else the decoder. */
typedef struct frame_batch {
  dlcc_image *frames;  /* opt->batch_size of them, the buffers reused */
  int n;               /* frames decoded into it */
  bool done;           /* the video ended after these */
  dlcc_status status;  /* a decoding failure after these n frames, with its message */
  dlcc_error err;
  bool full;
} frame_batch;

#define BATCHES_IN_FLIGHT 2

/* Everything one analysis holds while it runs. */
typedef struct analysis_run {
  dlcc_model *m;
  dlcc_nn_engine *e;
  const dlcc_analyze_options *opt;
  const char *video_path;
  char *scorer;
  dlcc_video_reader *reader;
  dlcc_analysis_writer *writer;
  bool cropping;
  dlcc_crop_box box;
  frame_batch batches[BATCHES_IN_FLIGHT]; /* used in turn */
  pthread_mutex_t lock;
  pthread_cond_t changed;  /* a batch became full or empty, or stop was set */
  bool stop;               /* the network side gave up: the decoder ends */
  double *pose;            /* batch_size x num_joints x 3 */
  double start;
  /* multi-animal */
  bool multi;
  dlcc_multi_predictor predictor;
  dlcc_assemblies_writer *assemblies;
  cJSON *detections, *individuals; /* per frame, for the metadata */
} analysis_run;

/* config.yaml's x1, x2, y1, y2 as DeepLabCut's checkcropping accepts them: x1 < x2 <= width,
 * y1 < y2 <= height (frames are cut as frame[y1:y2, x1:x2]). */
static dlcc_status crop_box(const dlcc_project_config *cfg, const dlcc_video_info *video, const char *path,
                            dlcc_crop_box *box, dlcc_error *err) {
  if (cfg->x1 < 0 || cfg->y1 < 0 || cfg->x1 >= cfg->x2 || cfg->y1 >= cfg->y2 || cfg->x2 > video->width ||
      cfg->y2 > video->height)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "%s: cropping is on with x1 %d, x2 %d, y1 %d, y2 %d, but video %s is %dx%d; the box must "
                     "have x1 < x2 <= %d and y1 < y2 <= %d: fix x1, x2, y1, y2 or set cropping: false",
                     cfg->config_path, cfg->x1, cfg->x2, cfg->y1, cfg->y2, path, video->width, video->height,
                     video->width, video->height);
  *box = (dlcc_crop_box){cfg->x1, cfg->y1, cfg->x2 - cfg->x1, cfg->y2 - cfg->y1};
  return DLCC_OK;
}

static dlcc_status open_writer(analysis_run *run, const dlcc_project_config *cfg, const dlcc_video_info *video,
                               dlcc_error *err) {
  const dlcc_model *m = run->m;
  dlcc_analysis_info info = {
      .video_path = run->video_path,
      .dest_folder = run->opt->dest_folder,
      .scorer = run->scorer,
      .bodyparts = m->pose_cfg.all_joints_names,
      .n_bodyparts = m->pose_cfg.n_joints,
      .fps = video->fps,
      .width = video->width,
      .height = video->height,
      .frames_in_container = video->frames_in_metadata,
      .cropping = run->cropping,
      .crop = {cfg->x1, cfg->x2, cfg->y1, cfg->y2},
      .snapshot = m->snapshots[m->loaded].path,
      .net_type = m->pose_cfg.net_type,
      .precision = dlcc_nn_dtype_name(m->net->desc.dtype),
      .iteration = cfg->iteration,
      .train_fraction = m->training_fraction,
      .shuffle = m->shuffle,
      .batch_size = run->opt->batch_size,
  };
  return dlcc_analysis_writer_open(&run->writer, &info, err);
}

/* The shuffle's test/inference_cfg.yaml (create-training-dataset writes it; DeepLabCut's template
 * values when it is missing). */
static dlcc_status load_inference_cfg(const dlcc_model *m, const dlcc_project_config *cfg, dlcc_inference_cfg *ic,
                                      dlcc_error *err) {
  char *path = dlcc_strdupf("%s/test/inference_cfg.yaml", m->model_dir);
  if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = DLCC_OK;
  if (dlcc_path_is_file(path)) st = dlcc_inference_cfg_load(path, cfg, ic, err);
  else dlcc_inference_cfg_defaults(ic, cfg);
  free(path);
  return st;
}

/* Multi-animal: the frame predictor and the assemblies file. */
static dlcc_status open_multi(analysis_run *run, const dlcc_project_config *cfg, dlcc_analyze_result *res,
                              dlcc_error *err) {
  dlcc_inference_cfg ic;
  dlcc_status st = load_inference_cfg(run->m, cfg, &ic, err);
  if (!st) st = dlcc_multi_predictor_init(&run->predictor, &run->m->pose_cfg, cfg, &ic, err);
  if (st) return st;
  run->detections = cJSON_CreateArray();
  run->individuals = cJSON_CreateArray();
  if (!(res->assemblies_path = dlcc_assemblies_path(run->video_path, run->opt->dest_folder, run->scorer)) ||
      !run->detections || !run->individuals)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_track_header h = {
      .scorer = run->scorer,
      .video = (char *)run->video_path,
      .n_individuals = cfg->n_individuals,
      .individuals = cfg->individuals,
      .n_bodyparts = cfg->n_multianimalbodyparts,
      .bodyparts = cfg->multianimalbodyparts,
      .n_unique = cfg->n_uniquebodyparts,
      .uniquebodyparts = cfg->uniquebodyparts,
  };
  return dlcc_assemblies_writer_open(&run->assemblies, res->assemblies_path, &h, err);
}

/* Multi-animal: each frame of the batch assembled and appended to the assemblies file. */
static dlcc_status predict_multi_batch(analysis_run *run, frame_batch *b, dlcc_analyze_result *res, dlcc_error *err) {
  int64_t dims[4];
  dlcc_model *m = run->m;
  dlcc_status st = dlcc_model_predict_maps(m, run->e, b->frames, b->n, run->cropping ? &run->box : NULL, dims, err);
  if (!st && !m->paf)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "%s: the network has no part affinity field head", m->pose_cfg_path);
  size_t cells = (size_t)(dims[2] * dims[3]), joints = (size_t)run->predictor.num_joints;
  size_t limbs = (size_t)run->predictor.n_limbs;
  for (int i = 0; !st && i < b->n; i++) {
    const float *locref = m->pose_cfg.location_refinement ? m->locref + (size_t)i * 2 * joints * cells : NULL;
    st = dlcc_multi_predict_frame(&run->predictor, m->part + (size_t)i * (size_t)dims[1] * cells, locref,
                                  m->paf + (size_t)i * 2 * limbs * cells, (int)dims[2], (int)dims[3], err);
    const dlcc_assembly_result *r = &run->predictor.result;
    if (!st)
      st = dlcc_assemblies_writer_append(run->assemblies, r->n_animals, r->animals, r->affinity,
                                         r->has_unique ? r->unique : NULL, err);
    res->detections += (long)run->predictor.peaks.count;
    res->animals += r->n_animals;
    res->frames_with_animals += r->n_animals > 0;
    cJSON *d = cJSON_CreateNumber((double)run->predictor.peaks.count), *a = cJSON_CreateNumber(r->n_animals);
    if (!d || !a || !cJSON_AddItemToArray(run->detections, d) || !cJSON_AddItemToArray(run->individuals, a)) {
      cJSON_Delete(d);
      cJSON_Delete(a);
      if (!st) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    }
  }
  return st;
}

static dlcc_status open_run(analysis_run *run, const dlcc_project_config *cfg, dlcc_analyze_result *res,
                            dlcc_error *err) {
  if (run->m->loaded < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "no snapshot loaded: load one before analysing");
  if (run->opt->batch_size < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "the batch size is %d; it must be 1 or more", run->opt->batch_size);
  size_t b = (size_t)run->opt->batch_size, joints = (size_t)run->m->predict.num_joints;
  run->scorer = dlcc_model_scorer(run->m, cfg);
  bool ok = true;
  for (int k = 0; k < BATCHES_IN_FLIGHT; k++) ok &= (run->batches[k].frames = calloc(b, sizeof(dlcc_image))) != NULL;
  run->pose = malloc(b * joints * 3 * sizeof *run->pose);
  if (!run->scorer || !ok || !run->pose) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = dlcc_video_reader_open(&run->reader, run->video_path, &res->video, err);
  run->cropping = cfg->cropping;
  if (!st && run->cropping) st = crop_box(cfg, &res->video, run->video_path, &run->box, err);
  run->multi = cfg->multianimal;
  if (!st && run->multi) st = open_multi(run, cfg, res, err);
  else if (!st) st = open_writer(run, cfg, &res->video, err);
  return st;
}

/* Decodes up to batch_size frames into b. A decoding failure is kept in b after the frames before it. */
static void read_batch(analysis_run *run, frame_batch *b) {
  b->n = 0;
  b->done = false;
  b->status = DLCC_OK;
  while (b->n < run->opt->batch_size) {
    b->status = dlcc_video_reader_next(run->reader, &b->frames[b->n], &b->done, &b->err);
    if (b->status || b->done) return;
    b->n++;
  }
}

/* The decoder thread: fills the batches in turn until the video ends, fails, or the network side
 * stops. */
static void *decode_batches(void *opaque) {
  analysis_run *run = opaque;
  for (int k = 0;; k = (k + 1) % BATCHES_IN_FLIGHT) {
    frame_batch *b = &run->batches[k];
    pthread_mutex_lock(&run->lock);
    while (b->full && !run->stop) pthread_cond_wait(&run->changed, &run->lock);
    bool stop = run->stop;
    pthread_mutex_unlock(&run->lock);
    if (stop) return NULL;
    read_batch(run, b);
    pthread_mutex_lock(&run->lock);
    b->full = true;
    pthread_cond_broadcast(&run->changed);
    pthread_mutex_unlock(&run->lock);
    if (b->done || b->status) return NULL;
  }
}

static frame_batch *wait_full(analysis_run *run, int k) {
  frame_batch *b = &run->batches[k];
  pthread_mutex_lock(&run->lock);
  while (!b->full) pthread_cond_wait(&run->changed, &run->lock);
  pthread_mutex_unlock(&run->lock);
  return b;
}

static void hand_back(analysis_run *run, frame_batch *b) {
  pthread_mutex_lock(&run->lock);
  b->full = false;
  pthread_cond_broadcast(&run->changed);
  pthread_mutex_unlock(&run->lock);
}

/* The network side: predicts each batch as it comes and appends its poses. */
static dlcc_status predict_batches(analysis_run *run, dlcc_analyze_result *res, dlcc_error *err) {
  long estimate = res->video.frames_in_metadata;
  for (int k = 0;; k = (k + 1) % BATCHES_IN_FLIGHT) {
    frame_batch *b = wait_full(run, k);
    if (b->n > 0) {
      dlcc_status st = run->multi ? predict_multi_batch(run, b, res, err)
                                  : dlcc_model_predict(run->m, run->e, b->frames, b->n,
                                                       run->cropping ? &run->box : NULL, run->pose, err);
      if (st) {
        dlcc_error_prefix(err, "video %s, frames %ld to %ld: ", run->video_path, res->frames,
                          res->frames + b->n - 1);
        return st;
      }
      if (!run->multi && (st = dlcc_analysis_writer_append(run->writer, run->pose, (size_t)b->n, err))) return st;
      res->frames += b->n;
      if (run->opt->progress) run->opt->progress(run->opt->user, res->frames, estimate, seconds_now() - run->start);
    }
    if (b->status) {
      *err = b->err;
      return b->status;
    }
    if (b->done) return DLCC_OK;
    hand_back(run, b);
  }
}

static dlcc_status analyse_frames(analysis_run *run, dlcc_analyze_result *res, dlcc_error *err) {
  pthread_t decoder;
  if (pthread_mutex_init(&run->lock, NULL)) return dlcc_fail(err, DLCC_ERR_NOMEM, "cannot create a mutex");
  dlcc_status st = DLCC_OK;
  if (pthread_cond_init(&run->changed, NULL)) st = dlcc_fail(err, DLCC_ERR_NOMEM, "cannot create a condition variable");
  else if (pthread_create(&decoder, NULL, decode_batches, run)) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "cannot start the decoding thread");
    pthread_cond_destroy(&run->changed);
  }
  if (st) {
    pthread_mutex_destroy(&run->lock);
    return st;
  }
  st = predict_batches(run, res, err);
  pthread_mutex_lock(&run->lock);
  run->stop = true;
  pthread_cond_broadcast(&run->changed);
  pthread_mutex_unlock(&run->lock);
  pthread_join(decoder, NULL);
  pthread_cond_destroy(&run->changed);
  pthread_mutex_destroy(&run->lock);
  return st;
}

/* After a failure: keeps the frames written so far in the partial files and says where in err. */
static void keep_partial(analysis_run *run, const char *video_path, dlcc_analyze_result *res, dlcc_error *err) {
  dlcc_analysis_writer *w = run->writer;
  run->writer = NULL;
  long frames = dlcc_analysis_writer_frames(w);
  dlcc_error partial_err;
  if (dlcc_analysis_writer_finish_partial(w, err->message, &partial_err)) {
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof err->message - len, "; the %ld frames analysed could not be kept: %s",
             frames, partial_err.message);
    return;
  }
  if (frames == 0) return;
  res->csv_path = dlcc_analysis_path(video_path, run->opt->dest_folder, run->scorer, DLCC_ANALYSIS_PARTIAL_CSV);
  res->meta_path = dlcc_analysis_path(video_path, run->opt->dest_folder, run->scorer, DLCC_ANALYSIS_PARTIAL_META);
  size_t len = strlen(err->message);
  snprintf(err->message + len, sizeof err->message - len, "; the %ld frame%s analysed before it %s kept in %s",
           frames, frames == 1 ? "" : "s", frames == 1 ? "is" : "are",
           res->csv_path ? res->csv_path : "the partial file");
}

static void close_run(analysis_run *run) {
  dlcc_analysis_writer_abort(run->writer);
  dlcc_assemblies_writer_abort(run->assemblies);
  dlcc_multi_predictor_free(&run->predictor);
  cJSON_Delete(run->detections);
  cJSON_Delete(run->individuals);
  dlcc_video_reader_close(run->reader);
  for (int k = 0; k < BATCHES_IN_FLIGHT; k++) {
    for (int i = 0; run->batches[k].frames && i < run->opt->batch_size; i++) dlcc_image_free(&run->batches[k].frames[i]);
    free(run->batches[k].frames);
  }
  free(run->pose);
  free(run->scorer);
}

/* Multi-animal: <stem><scorer>_meta.json with what DeepLabCut's metadata holds and, per frame, the
 * candidate body parts found and the individuals assembled (the tracking step adds its counts). */
static dlcc_status write_multi_metadata(analysis_run *run, dlcc_analyze_result *res, dlcc_error *err) {
  const dlcc_model *m = run->m;
  cJSON *root = cJSON_CreateObject(), *data = root ? cJSON_AddObjectToObject(root, "data") : NULL;
  bool ok = data != NULL;
  ok = ok && cJSON_AddStringToObject(data, "Scorer", run->scorer);
  ok = ok && cJSON_AddStringToObject(data, "video", run->video_path);
  ok = ok && cJSON_AddStringToObject(data, "snapshot", m->snapshots[m->loaded].path);
  ok = ok && cJSON_AddStringToObject(data, "net_type", m->pose_cfg.net_type);
  ok = ok && cJSON_AddStringToObject(data, "precision", dlcc_nn_dtype_name(m->net->desc.dtype));
  ok = ok && cJSON_AddNumberToObject(data, "fps", isfinite(res->video.fps) ? res->video.fps : 0);
  ok = ok && cJSON_AddNumberToObject(data, "nframes", (double)res->frames);
  ok = ok && cJSON_AddNumberToObject(data, "batch_size", run->opt->batch_size);
  ok = ok && cJSON_AddStringToObject(data, "assemblies", res->assemblies_path);
  ok = ok && cJSON_AddNumberToObject(data, "frames_with_individuals", (double)res->frames_with_animals);
  ok = ok && cJSON_AddItemToObject(data, "detections_per_frame", run->detections);
  if (ok) run->detections = NULL;
  ok = ok && cJSON_AddItemToObject(data, "individuals_per_frame", run->individuals);
  if (ok) run->individuals = NULL;
  char *text = ok ? cJSON_Print(root) : NULL;
  res->meta_path = dlcc_analysis_path(run->video_path, run->opt->dest_folder, run->scorer, DLCC_ANALYSIS_META);
  dlcc_status st = text && res->meta_path ? dlcc_file_write_atomic(res->meta_path, text, strlen(text), err)
                                          : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  free(text);
  cJSON_Delete(root);
  return st;
}

dlcc_status dlcc_analysis_meta_add_tracking(const char *meta_path, size_t tracklets, int tracks_found, int tracks,
                                            const char *tracks_csv, dlcc_error *err) {
  char *text = NULL;
  size_t len;
  dlcc_status st = dlcc_file_read(meta_path, &text, &len, err);
  if (st) return st;
  cJSON *root = cJSON_ParseWithLength(text, len), *data = cJSON_GetObjectItem(root, "data");
  free(text);
  if (!cJSON_IsObject(data)) {
    cJSON_Delete(root);
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: not the metadata of an analysis (no \"data\" object)", meta_path);
  }
  bool ok = cJSON_AddNumberToObject(data, "tracklets", (double)tracklets) &&
            cJSON_AddNumberToObject(data, "tracks_found", tracks_found) &&
            cJSON_AddNumberToObject(data, "tracks", tracks) && cJSON_AddStringToObject(data, "tracks_csv", tracks_csv);
  text = ok ? cJSON_Print(root) : NULL;
  st = text ? dlcc_file_write_atomic(meta_path, text, strlen(text), err) : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  free(text);
  cJSON_Delete(root);
  return st;
}

/* Multi-animal: the assemblies file into place, unless nothing was assembled at all, which is an error
 * saying what the network found (an empty file would only move the question to tracking). */
static dlcc_status finish_multi(analysis_run *run, dlcc_analyze_result *res, dlcc_error *err) {
  if (res->animals == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "video %s: no individual was assembled in any of its %ld frames (%ld "
                     "candidate body parts in all): is the snapshot trained (dlcc evaluate), and are pcutoff, "
                     "pafthreshold and minimalnumberofconnections in %s/test/inference_cfg.yaml too strict?",
                     run->video_path, res->frames, res->detections, run->m->model_dir);
  dlcc_assemblies_writer *w = run->assemblies;
  run->assemblies = NULL;
  dlcc_status st = dlcc_assemblies_writer_finish(w, err);
  return st ? st : write_multi_metadata(run, res, err);
}

dlcc_status dlcc_analyze_video(dlcc_model *m, dlcc_nn_engine *e, const dlcc_project_config *cfg, const char *video_path,
                               const dlcc_analyze_options *opt, dlcc_analyze_result *res, dlcc_error *err) {
  memset(res, 0, sizeof *res);
  analysis_run run = {.m = m, .e = e, .opt = opt, .video_path = video_path, .start = seconds_now()};
  dlcc_status st = open_run(&run, cfg, res, err);
  if (!st) st = analyse_frames(&run, res, err);
  if (st && run.writer) keep_partial(&run, video_path, res, err);
  if (!st && run.multi) st = finish_multi(&run, res, err);
  else if (!st) {
    dlcc_analysis_writer *w = run.writer;
    run.writer = NULL;
    st = dlcc_analysis_writer_finish(w, err);
    if (!st) {
      res->csv_path = dlcc_analysis_path(video_path, opt->dest_folder, run.scorer, DLCC_ANALYSIS_CSV);
      res->meta_path = dlcc_analysis_path(video_path, opt->dest_folder, run.scorer, DLCC_ANALYSIS_META);
    }
  }
  res->seconds = seconds_now() - run.start;
  close_run(&run);
  return st;
}

void dlcc_analyze_result_free(dlcc_analyze_result *res) {
  free(res->csv_path);
  free(res->meta_path);
  free(res->assemblies_path);
  memset(res, 0, sizeof *res);
}
