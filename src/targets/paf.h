/* Part-affinity-field (PAF) targets of one training image for multi-animal models, as DeepLabCut's
 * TensorFlow maDLC loader (pose_multianimal_imgaug) builds them: per limb (a, b) of
 * partaffinityfield_graph and per animal with both joints, the unit vector from a to b, fading
 * linearly across a band along the limb. */
#ifndef DLCC_TARGETS_PAF_H
#define DLCC_TARGETS_PAF_H

#include <stdbool.h>
#include <stddef.h>

#include "targets/scoremap.h"

/* One edge of partaffinityfield_graph: its field points from joint id `from` to joint id `to`. */
typedef struct dlcc_limb {
  int from, to;
} dlcc_limb;

typedef struct dlcc_paf_params {
  const dlcc_limb *limbs; /* partaffinityfield_graph, num_limbs entries; limb l owns channels 2l, 2l+1 */
  int num_limbs;
  double stride;    /* 8; the cell centres are c * stride + floor(stride / 2), as for maDLC's score map */
  double pafwidth;  /* 20; the band's half-width is pafwidth / scale input pixels (see below) */
  double scale;     /* the batch's scale factor (global_scale x jitter) */
  /* false (maDLC's default): the mask is 1 everywhere, so absent limbs are trained towards 0;
   * true: 1 only in the bands. DeepLabCut 3.0.1 writes that mask as mask[band, [2l, 2l + 1]], which
   * numpy cannot broadcast unless the band has 1 or 2 cells (an IndexError otherwise; with 2 it marks
   * one cell per channel); dlcc does what the flag and DeepLabCut's gaussian variant mean: both
   * channels on every cell of the band. */
  bool weigh_only_present_joints;
} dlcc_paf_params;

/* Fills the PAF targets of one image for map_height x map_width cells, both arrays plain CHW f32:
 *   paf      [2 * num_limbs][H][W]  channel 2l: x component of limb l, 2l + 1: its y component
 *                                   (DeepLabCut's order: limb by limb, x before y)
 *   paf_mask [2 * num_limbs][H][W]  the weights of the pairwise loss: 1 everywhere, or
 *                                   (weigh_only_present_joints) 1 on both channels of a limb on
 *                                   the cells of its bands, 0 elsewhere
 * Joints come grouped by animal: joints_per_animal[i] consecutive entries of `joints` belong to
 * animal i, animals in order (the same flat array dlcc_scoremap_targets_build takes, DeepLabCut's
 * per-individual blocks; joints_per_animal may be NULL when n_animals is 0). For each animal and
 * limb (from, to), the first joint of that animal with id `from` is A and the first with id `to`
 * is B; with D = (B - A) / |B - A| and a cell centre P,
 * the cell is in the band when min(D.A, D.B) <= D.P <= max(D.A, D.B) (both ends included) and
 * |across| <= 1, where across is P's signed distance from the line through A along D, divided by
 * pafwidth and multiplied by scale; there paf = D * (1 - |across|), which is 0 on the
 * band's edge while its mask is 1. So the band is pafwidth / scale pixels either side: a smaller
 * scale makes it wider, unlike the score map's disc (pos_dist_thresh * scale).
 *   - Bands of two animals overlapping on a limb: the later animal's vector is written over the
 *     earlier's (no averaging, no count), as DeepLabCut's assignment does.
 *   - An animal lacking either joint of a limb, or whose two joints coincide (|B - A| == 0, also a
 *     limb from a joint to itself), sets nothing for that limb: target 0 and, weighing only present
 *     joints, mask 0 there (DeepLabCut skips the limb; nothing is divided by zero). pafwidth 0 sets
 *     no band either (DeepLabCut's across is infinite or NaN then).
 * Every array is overwritten entirely. The caller passes only the joints DeepLabCut keeps (visible,
 * strictly inside the augmented image); joints with a non-finite coordinate are ignored here, as if
 * absent. Any finite coordinate is safe: bands are clipped to the map. Allocates nothing; for
 * ordinary inputs the work per limb is proportional to its band's cells plus the rows it spans. */
void dlcc_paf_targets_build(const dlcc_paf_params *p, const dlcc_joint *joints, const size_t *joints_per_animal,
                            size_t n_animals, int map_width, int map_height, float *paf, float *paf_mask);

#endif
