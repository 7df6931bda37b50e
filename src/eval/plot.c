/* Evaluation plots (see plot.h): markers drawn by hand with the sizes matplotlib gives DeepLabCut's
 * "+", "." and "x" markers at 100 dpi, alpha-blended over the image. */
#include "eval/plot.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eval/colormap.h"
#include "util/fileio.h"

/* DeepLabCut's figures are w/100 x h/100 inches at 100 dpi, so one pixel per image pixel and
 * 100/72 pixels per point; matplotlib's markers have 1-point edges (lines.markeredgewidth). */
static const double pixels_per_point = 100.0 / 72.0;
static const double edge_points = 1.0;
/* Beyond this a position is far off any image; it is skipped so that the int conversion is defined. */
static const double farthest_position = 1e7;

typedef struct pen {
  dlcc_image *img;
  const double *rgb;
  double alpha;
} pen;

static void blend(const pen *p, long x, long y) {
  if (x < 0 || y < 0 || x >= p->img->width || y >= p->img->height) return;
  uint8_t *px = p->img->rgb + ((size_t)y * (size_t)p->img->width + (size_t)x) * 3;
  for (int c = 0; c < 3; c++) {
    double v = p->alpha * p->rgb[c] * 255.0 + (1.0 - p->alpha) * px[c];
    px[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : floor(v + 0.5));
  }
}

typedef enum marker { MARKER_PLUS, MARKER_POINT, MARKER_X } marker;

/* Whether the pixel at offset (dx, dy) from the marker's centre is covered. size and line width in
 * pixels. */
static bool covers(marker m, double dx, double dy, double size, double line) {
  double half = size / 2, half_line = line / 2;
  switch (m) {
    case MARKER_PLUS:
      return (fabs(dx) <= half && fabs(dy) <= half_line) || (fabs(dy) <= half && fabs(dx) <= half_line);
    case MARKER_X:
      return fabs(dx) <= half && fabs(dy) <= half &&
             (fabs(dx - dy) <= half_line * M_SQRT2 || fabs(dx + dy) <= half_line * M_SQRT2);
    case MARKER_POINT: {
      double radius = size / 4 + half_line;  /* "." is a circle half the marker size, plus its edge */
      return dx * dx + dy * dy <= radius * radius;
    }
  }
  return false;
}

/* Each covered pixel is blended once, as one matplotlib marker is one path. */
static void draw_marker(const pen *p, marker m, double x, double y, double size, double line) {
  if (!isfinite(x) || !isfinite(y) || fabs(x) > farthest_position || fabs(y) > farthest_position) return;
  long cx = (long)x, cy = (long)y;  /* Python's int(): towards zero */
  long reach = (long)ceil(size / 2 + line) + 1;
  for (long dy = -reach; dy <= reach; dy++)
    for (long dx = -reach; dx <= reach; dx++)
      if (covers(m, (double)dx, (double)dy, size, line)) blend(p, cx + dx, cy + dy);
}

void dlcc_eval_draw_row(dlcc_image *img, const dlcc_label_table *labels, size_t row, const double *predictions,
                        const size_t *joint_of_column, const double (*colors)[3], const dlcc_eval_plot_style *style) {
  double size = style->dotsize * pixels_per_point, line = edge_points * pixels_per_point;
  for (size_t c = 0; c < labels->n_columns; c++) {
    pen p = {img, colors[joint_of_column[c]], style->alphavalue};
    draw_marker(&p, MARKER_PLUS, labels->values[dlcc_label_index(labels, row, c, 0)],
                labels->values[dlcc_label_index(labels, row, c, 1)], size, line);
  }
  for (size_t c = 0; c < labels->n_columns; c++) {
    const double *xyp = predictions + (row * labels->n_columns + c) * 3;
    bool reliable = labels->multianimal ? xyp[2] >= style->pcutoff : xyp[2] > style->pcutoff;
    pen p = {img, colors[joint_of_column[c]], style->alphavalue};
    draw_marker(&p, reliable ? MARKER_POINT : MARKER_X, xyp[0], xyp[1], size, line);
  }
}

char *dlcc_eval_plot_dir(const char *eval_dir, const char *scorer, long iterations) {
  return dlcc_strdupf("%s/LabeledImages_%s_snapshot-%ld", eval_dir, scorer, iterations);
}

char *dlcc_eval_plot_file_name(const char *row_name, bool train) {
  const char *prefix = train ? "Training" : "Test";
  const char *image = strrchr(row_name, '/');
  if (!image) return dlcc_strdupf("%s-%s", prefix, row_name);
  const char *folder = image;
  while (folder > row_name && folder[-1] != '/') folder--;
  return dlcc_strdupf("%s-%.*s-%s", prefix, (int)(image - folder), folder, image + 1);
}

static bool is_jpeg_name(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static dlcc_status check_style(const dlcc_eval_plot_style *style, size_t n_joints, double (**colors)[3],
                               dlcc_error *err) {
  if (style->dotsize <= 0)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "config.yaml: dotsize is %d; set it to a positive marker size (DeepLabCut's default is 12)",
                     style->dotsize);
  if (!(style->alphavalue >= 0.0 && style->alphavalue <= 1.0))
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "config.yaml: alphavalue is %g; set it between 0 and 1 (DeepLabCut's default is 0.7)",
                     style->alphavalue);
  *colors = malloc((n_joints ? n_joints : 1) * sizeof **colors);
  if (!*colors) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = n_joints ? dlcc_eval_colormap(style->colormap, n_joints, *colors, err) : DLCC_OK;
  if (st) {
    free(*colors);
    *colors = NULL;
  }
  return st;
}

/* Reads, draws and writes one row's plot. */
static dlcc_status plot_row(const char *project_root, const char *out_dir, const dlcc_label_table *labels, size_t row,
                            const double *predictions, const size_t *joint_of_column, const double (*colors)[3],
                            bool train, const dlcc_eval_plot_style *style, dlcc_error *err) {
  char *source = dlcc_path_join(project_root, labels->row_names[row]);
  char *name = dlcc_eval_plot_file_name(labels->row_names[row], train);
  char *target = name ? dlcc_path_join(out_dir, name) : NULL;
  dlcc_image img = {0};
  dlcc_status st = source && target ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = dlcc_image_load(source, &img, err);
  if (!st) {
    dlcc_eval_draw_row(&img, labels, row, predictions, joint_of_column, colors, style);
    st = is_jpeg_name(target) ? dlcc_image_save_jpeg(target, &img, 95, err) : dlcc_image_save_png(target, &img, err);
  }
  dlcc_image_free(&img);
  free(source);
  free(name);
  free(target);
  return st;
}

dlcc_status dlcc_eval_plot(const char *project_root, const char *out_dir, const dlcc_label_table *labels,
                           const double *predictions, const size_t *joint_of_column, size_t n_joints,
                           const dlcc_eval_split *split, const dlcc_eval_plot_style *style, dlcc_error *err) {
  for (size_t c = 0; c < labels->n_columns; c++)
    if (joint_of_column[c] >= n_joints)
      return dlcc_fail(err, DLCC_ERR_INVALID, "plot: column %zu names joint %zu of only %zu", c, joint_of_column[c],
                       n_joints);
  double (*colors)[3] = NULL;
  dlcc_status st = check_style(style, n_joints, &colors, err);
  if (st) return st;
  bool *train = calloc(labels->n_rows + 1, sizeof *train);
  if (!train) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; !st && i < split->n_train; i++)
    if (split->train[i] < labels->n_rows) train[split->train[i]] = true;
  if (!st) st = dlcc_mkdirs(out_dir, err);
  for (size_t r = 0; !st && r < labels->n_rows; r++)
    st = plot_row(project_root, out_dir, labels, r, predictions, joint_of_column, (const double (*)[3])colors,
                  train[r], style, err);
  free(train);
  free(colors);
  return st;
}
