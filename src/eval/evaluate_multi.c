/* Multi-animal `dlcc evaluate` (see evaluate_multi.h): per labeled image the network's maps, peaks and
 * individuals assembled as DeepLabCut's evaluation assembles them, kept for ma_metrics; and
 * DeepLabCut's dist_<iterations>.csv. */
#include "eval/evaluate_multi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "project/yamldoc.h"
#include "util/fileio.h"

/* oks_sigma and bbox_margin of the test pose_cfg (DeepLabCut reads them with .get(key, default)). */
static dlcc_status read_oks_settings(dlcc_ma_evaluation *ma, const dlcc_model *model, dlcc_notes *notes,
                                     dlcc_error *err) {
  ma->oks = (dlcc_oks_params){DLCC_OKS_SIGMA_DEFAULT, NULL, DLCC_OKS_MARGIN_DEFAULT};
  const dlcc_yaml_node *doc = model->pose_cfg.doc;
  const char *keys[2] = {"oks_sigma", "bbox_margin"};
  double *values[2] = {&ma->oks.sigma, &ma->oks.margin};
  for (int k = 0; k < 2; k++) {
    const dlcc_yaml_node *node = doc ? dlcc_yaml_map_get(doc, keys[k]) : NULL;
    if (!node || dlcc_yaml_is_null(node)) continue;
    double v;
    if (!dlcc_yaml_as_double(node, &v) || !isfinite(v) || v < 0 || (k == 0 && v == 0))
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s line %d: %s must be a number %s (one value for every body part)",
                       model->pose_cfg_path, node->line, keys[k], k == 0 ? "> 0" : ">= 0");
    *values[k] = v;
  }
  const dlcc_yaml_node *sym = doc ? dlcc_yaml_map_get(doc, "symmetric_kpts") : NULL;
  if (sym && !dlcc_yaml_is_null(sym))
    dlcc_notes_add(notes, "%s sets symmetric_kpts; dlcc's OKS does not try swapped symmetric keypoints, so mAP may "
                   "come out lower than DeepLabCut's", model->pose_cfg_path);
  return DLCC_OK;
}

/* The Assembler of DeepLabCut's evaluation in place of the one of video analysis. */
static dlcc_status use_evaluation_assembler(dlcc_ma_evaluation *ma, const dlcc_project_config *cfg, int num_joints,
                                            dlcc_error *err) {
  dlcc_multi_predictor *mp = &ma->predictor;
  dlcc_assembler_options o;
  dlcc_assembler_options_init(&o, (int)cfg->n_multianimalbodyparts, ma->inference.topktoretain);
  o.greedy = false;
  o.pcutoff = 0.1;                        /* cross_validate_paf_graphs' pcutoff argument */
  o.min_affinity = ma->inference.pafthreshold;
  o.min_n_links = 2;                      /* the Assembler's default: the evaluation passes none */
  o.add_discarded = true;
  dlcc_assembler_free(mp->assembler);
  mp->assembler = NULL;
  dlcc_assembly_result_free(&mp->result);
  dlcc_status st = dlcc_assembler_create(&mp->assembler, &o, num_joints, mp->limbs, mp->n_limbs, NULL, err);
  if (!st) st = dlcc_assembly_result_init(&mp->result, mp->assembler, err);
  return st;
}

dlcc_status dlcc_ma_evaluation_open(dlcc_ma_evaluation *ma, const dlcc_project_config *cfg, const dlcc_model *model,
                                    size_t n_images, dlcc_notes *notes, dlcc_error *err) {
  memset(ma, 0, sizeof *ma);
  ma->inference_cfg_path = dlcc_path_join(model->model_dir, "test/inference_cfg.yaml");
  if (!ma->inference_cfg_path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = DLCC_OK;
  if (dlcc_path_is_file(ma->inference_cfg_path)) {
    st = dlcc_inference_cfg_load(ma->inference_cfg_path, cfg, &ma->inference, err);
  } else {
    dlcc_inference_cfg_defaults(&ma->inference, cfg);
    dlcc_notes_add(notes, "%s is missing; assembling with DeepLabCut's template values (topktoretain %d, "
                   "pafthreshold %g). dlcc create-training-dataset writes it", ma->inference_cfg_path,
                   ma->inference.topktoretain, ma->inference.pafthreshold);
  }
  if (!st) st = read_oks_settings(ma, model, notes, err);
  if (!st) st = dlcc_multi_predictor_init(&ma->predictor, &model->pose_cfg, cfg, &ma->inference, err);
  if (!st) st = use_evaluation_assembler(ma, cfg, model->pose_cfg.num_joints, err);
  int max_animals = ma->inference.topktoretain;
  if (!st) st = dlcc_ma_predictions_init(&ma->predictions, n_images, model->pose_cfg.num_joints,
                                         (int)cfg->n_multianimalbodyparts, max_animals, err);
  if (!st && !(ma->animal_score = malloc(((size_t)max_animals + 1) * sizeof *ma->animal_score)))
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  return st;
}

void dlcc_ma_evaluation_close(dlcc_ma_evaluation *ma) {
  free(ma->inference_cfg_path);
  dlcc_multi_predictor_free(&ma->predictor);
  dlcc_ma_predictions_free(&ma->predictions);
  free(ma->xy);
  free(ma->score);
  free(ma->animal_score);
  memset(ma, 0, sizeof *ma);
}

/* Keeps the frame just predicted (peaks and assembly) as image `row`. */
static dlcc_status keep_frame(dlcc_ma_evaluation *ma, size_t row, dlcc_error *err) {
  const dlcc_peaks *pk = &ma->predictor.peaks;
  const dlcc_assembly_result *res = &ma->predictor.result;
  if (pk->count > ma->peak_cap) {
    double *xy = realloc(ma->xy, 2 * pk->count * sizeof *xy);
    if (xy) ma->xy = xy;
    double *score = realloc(ma->score, pk->count * sizeof *score);
    if (score) ma->score = score;
    if (!xy || !score) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for %zu peaks", pk->count);
    ma->peak_cap = pk->count;
  }
  for (size_t i = 0; i < pk->count; i++) {
    ma->xy[2 * i] = pk->peaks[i].x;
    ma->xy[2 * i + 1] = pk->peaks[i].y;
    ma->score[i] = pk->peaks[i].score;
  }
  /* match_assemblies ranks an individual by its mean link affinity, or its confidence without links */
  for (int k = 0; k < res->n_animals; k++)
    ma->animal_score[k] = res->n_links[k] ? res->affinity[k] : res->confidence[k];
  return dlcc_ma_predictions_set(&ma->predictions, row, pk->first, ma->xy, ma->score, res->n_animals, res->animals,
                                 ma->animal_score, res->has_unique ? res->unique : NULL, err);
}

dlcc_status dlcc_ma_evaluation_predict_row(dlcc_ma_evaluation *ma, dlcc_model *model, dlcc_nn_engine *e,
                                           const char *project_root, const dlcc_label_table *labels, size_t row,
                                           dlcc_error *err) {
  char *path = dlcc_path_join(project_root, labels->row_names[row]);
  if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_image img = {0};
  int64_t dims[4];
  dlcc_status st = dlcc_image_load(path, &img, err);
  if (st) dlcc_error_prefix(err, "evaluating %s (row %zu): ", labels->row_names[row], row);
  if (!st) st = dlcc_model_predict_maps(model, e, &img, 1, NULL, dims, err);
  if (!st && !model->paf)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "the network of %s has no part affinity field head to assemble with",
                   model->pose_cfg_path);
  const float *locref = model->pose_cfg.location_refinement ? model->locref : NULL;
  if (!st) st = dlcc_multi_predict_frame(&ma->predictor, model->part, locref, model->paf, (int)dims[2], (int)dims[3], err);
  if (st && img.rgb) dlcc_error_prefix(err, "evaluating %s: ", path);
  if (!st) st = keep_frame(ma, row, err);
  dlcc_image_free(&img);
  free(path);
  return st;
}

/* ------------------------------------------------------------------------------------------------ */

typedef struct dist_column {
  const char *individual, *bodypart;
  size_t column;
} dist_column;

/* pandas' sort_index over (individuals, bodyparts): by code point, stable. */
static int by_individual_then_bodypart(const void *pa, const void *pb) {
  const dist_column *a = pa, *b = pb;
  int c = strcmp(a->individual, b->individual);
  if (!c) c = strcmp(a->bodypart, b->bodypart);
  if (!c) c = (a->column > b->column) - (a->column < b->column);
  return c;
}

static void append_cell(dlcc_strbuf *sb, double v) {
  dlcc_strbuf_append(sb, ",");
  if (isnan(v)) return;
  char buf[32];
  dlcc_format_double_repr(v, buf);
  dlcc_strbuf_append(sb, buf);
}

dlcc_status dlcc_ma_write_dist(const char *path, const dlcc_label_table *labels, const double *distance,
                               const double *conf, dlcc_error *err) {
  size_t n = labels->n_columns;
  dist_column *cols = malloc((n + 1) * sizeof *cols);
  if (!cols) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t c = 0; c < n; c++)
    cols[c] = (dist_column){labels->columns[c].individual ? labels->columns[c].individual : "",
                            labels->columns[c].bodypart, c};
  qsort(cols, n, sizeof *cols, by_individual_then_bodypart);
  dlcc_strbuf sb = {0};
  const char *levels[4] = {"scorer", "individuals", "bodyparts", "metrics"};
  for (int level = 0; level < 4; level++) {
    dlcc_strbuf_append(&sb, levels[level]);
    for (size_t c = 0; c < n; c++)
      for (int metric = 0; metric < 2; metric++) {
        const char *cell = level == 0   ? labels->scorer
                           : level == 1 ? cols[c].individual
                           : level == 2 ? cols[c].bodypart
                                        : (metric ? "conf" : "rmse");
        dlcc_strbuf_printf(&sb, ",%s", cell);
      }
    dlcc_strbuf_append(&sb, "\n");
  }
  for (size_t r = 0; r < labels->n_rows; r++) {
    dlcc_strbuf_printf(&sb, "%zu", r);
    for (size_t c = 0; c < n; c++) {
      append_cell(&sb, distance[r * n + cols[c].column]);
      append_cell(&sb, conf[r * n + cols[c].column]);
    }
    dlcc_strbuf_append(&sb, "\n");
  }
  free(cols);
  dlcc_status st = sb.failed ? dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory")
                             : dlcc_file_write_atomic(path, sb.data, sb.len, err);
  dlcc_strbuf_free(&sb);
  return st;
}
