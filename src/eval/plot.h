/* `dlcc evaluate --plot`: each labeled image with its labels and the network's predictions drawn on
 * it, coloured by body part, written where DeepLabCut's evaluate_network(plotting=True) puts them
 * (evaluate.py Plotting, visualization.make_labeled_image and save_labeled_frame). */
#ifndef DLCC_EVAL_PLOT_H
#define DLCC_EVAL_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "eval/errors.h"
#include "image/image.h"
#include "project/labels.h"
#include "util/error.h"

/* config.yaml's plot settings. */
typedef struct dlcc_eval_plot_style {
  const char *colormap;  /* `colormap`: rainbow, jet, viridis or hsv */
  int dotsize;           /* `dotsize`: marker size in points (DeepLabCut draws at 100 dpi: 100/72 px a point) */
  double alphavalue;     /* `alphavalue`: marker opacity in [0, 1] */
  double pcutoff;        /* `pcutoff`: predictions below it are drawn as x instead of a dot */
} dlcc_eval_plot_style;

/* <eval_dir>/LabeledImages_<scorer>_snapshot-<iterations> (caller frees). */
char *dlcc_eval_plot_dir(const char *eval_dir, const char *scorer, long iterations);

/* The file name of a row's plot: "Training-<folder>-<image>" or "Test-<folder>-<image>" from the
 * last two parts of its path ("Training-<image>" when it has no folder). Caller frees. */
char *dlcc_eval_plot_file_name(const char *row_name, bool train);

/* Draws row `row` of labels onto img: every label as "+", then every prediction as a dot when its
 * likelihood passes pcutoff (> pcutoff single animal, >= pcutoff maDLC, as DeepLabCut) and as "x"
 * otherwise, at the position truncated to whole pixels (Python's int()), in colour
 * colors[joint_of_column[c]] blended with alphavalue. Marker sizes as matplotlib's at 100 dpi: "+"
 * and "x" span dotsize points with 1-point lines, a dot is dotsize/2 points wide plus its 1-point
 * edge. Missing positions are not drawn. predictions: n_rows x n_columns x 3 (x, y, likelihood). */
void dlcc_eval_draw_row(dlcc_image *img, const dlcc_label_table *labels, size_t row, const double *predictions,
                        const size_t *joint_of_column, const double (*colors)[3], const dlcc_eval_plot_style *style);

/* Plots every row of labels into out_dir (created when missing): reads <project_root>/<row name>,
 * draws it with dlcc_eval_draw_row using the colormap sampled over the n_joints joints, and writes
 * dlcc_eval_plot_file_name (train when the row is in split->train) atomically, as PNG (JPEG when
 * the image's name ends in .jpg or .jpeg, as matplotlib's savefig would). Errors name the image
 * that could not be read or written, or the config.yaml key (colormap, dotsize, alphavalue) that is
 * out of range. */
dlcc_status dlcc_eval_plot(const char *project_root, const char *out_dir, const dlcc_label_table *labels,
                           const double *predictions, const size_t *joint_of_column, size_t n_joints,
                           const dlcc_eval_split *split, const dlcc_eval_plot_style *style, dlcc_error *err);

#endif
