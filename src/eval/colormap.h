/* The matplotlib colormaps DeepLabCut colours body parts with (config.yaml `colormap`), sampled as
 * its visualization.get_cmap does: plt.cm.get_cmap(name, n), colour i of n. rainbow (DeepLabCut's
 * default for new projects), jet, viridis and hsv. */
#ifndef DLCC_EVAL_COLORMAP_H
#define DLCC_EVAL_COLORMAP_H

#include <stddef.h>

#include "util/error.h"

/* Fills rgb[0..n) (components in [0, 1]) with the n colours of colormap `name` as matplotlib
 * resamples it to n entries: evenly over [0, 1] from the first colour to the last (for n == 1 the
 * colour matplotlib picks: x = 1 for jet and hsv, x = 0 for rainbow and viridis). Another name is
 * an error naming config.yaml's colormap key and the names dlcc knows. n >= 1. */
dlcc_status dlcc_eval_colormap(const char *name, size_t n, double (*rgb)[3], dlcc_error *err);

#endif
