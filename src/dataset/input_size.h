/* The input-size bounds of training (max_input_size, min_input_size) applied to an image under
 * global_scale and the scale-jitter range, as DeepLabCut's loaders apply them: which images can be
 * used at all, and which global_scale would make an unusable one usable. */
#ifndef DLCC_DATASET_INPUT_SIZE_H
#define DLCC_DATASET_INPUT_SIZE_H

#include <stdbool.h>

#include "project/posecfg.h"

/* True when a width x height image scaled by `scale` (global_scale x jitter) may be used:
 * area <= max_input_size^2 and, single animal, area >= min_input_size^2; maDLC, both sides >=
 * min_input_size. */
bool dlcc_input_size_ok(const dlcc_pose_cfg *cfg, int width, int height, double scale);

/* True when some jitter factor in [scale_jitter_lo, scale_jitter_up] makes the image usable. When
 * not, *suggested_global_scale (if not NULL) is a global_scale (2 decimals) that would. */
bool dlcc_input_size_ever_ok(const dlcc_pose_cfg *cfg, int width, int height, double *suggested_global_scale);

#endif
