/* Individuals of a multi-animal frame from its peaks and link affinities: DeepLabCut's data-driven
 * Assembler (deeplabcut/core/inferenceutils.py, Assembler._assemble with the options its TensorFlow
 * video analysis uses), optionally calibrated by the body-part distances of the labeled animals.
 *
 * Implemented, as DeepLabCut does them:
 *   - joints 0 .. n_multibodyparts-1 are multi-animal parts, the rest unique parts: each unique part
 *     takes its most confident peak (kept when its score > pcutoff, or always with add_discarded);
 *   - per limb the links: optimal pairing (greedy false, the default: the max_n_individuals most
 *     confident peaks of each joint with score >= pcutoff, matched by linear_sum_assignment, links of
 *     affinity >= min_affinity) or greedy (pairs with score product >= pcutoff^2 and affinity >=
 *     min_affinity taken by decreasing affinity, at most max_n_individuals per limb);
 *   - with a prior, each link's affinity times max(p, 0.001), p the two-sided normal tail of its squared
 *     length, links then below min_affinity dropped (calc_link_probability);
 *   - complete connected groups first, then assemblies grown from the strongest free link by the
 *     strongest links at their border (with a prior: only while the Mahalanobis distance of the
 *     assembly's pairwise distances drops, "safe edges", with the tabu list), surplus assemblies fused
 *     (by unused links; with a prior, by the pair whose fusion lowers the distance), a second filling
 *     pass;
 *   - assemblies with fewer than min_n_links links (but at least one) dropped; pose NMS: an assembly
 *     whose bounding box holds >= max_overlap of another's keypoints suppresses it, the assembly with
 *     the larger affinity sum (or, with a prior, the smaller Mahalanobis distance) winning; the
 *     max_n_individuals assemblies with the most keypoints kept; add_discarded: left-over peaks go to
 *     the nearest assembly lacking that part (with a prior: the first whose distance drops);
 *   - the special cases: one multi-animal part (every peak >= pcutoff an individual) and
 *     max_n_individuals 1 (the best peak of each part).
 * Ties between equal scores resolve as in DeepLabCut (stable sorts, first maximum, heap push order,
 * scipy's assignment), including Python's set order when an assembly grows from a fresh link; two
 * exceptions, broken by peak order: the second filling pass (Python's order there depends on the set's
 * history) and add_discarded's equal scores (Python sorts a set of joints hashed by value).
 * Not implemented: identity_only (identity channels), window_size (links of earlier frames),
 * force_fusion, nan_policy other than "little", method other than "m1". One deviation: with a single
 * multi-animal part DeepLabCut returns every peak >= pcutoff as an individual, more than
 * max_n_individuals if there are; dlcc keeps the max_n_individuals most confident, in peak order.
 * An assembler holds one frame's scratch: use one per thread. */
#ifndef DLCC_INFER_ASSEMBLY_H
#define DLCC_INFER_ASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>

#include "infer/paf.h"
#include "infer/peaks.h"
#include "util/error.h"

typedef struct dlcc_assembler_options {
  int n_multibodyparts;       /* len(config.yaml multianimalbodyparts); joints after them are unique parts */
  int max_n_individuals;      /* inference_cfg.yaml topktoretain (len(individuals)) */
  bool greedy;                /* false: optimal pairing per limb (convert_detections2tracklets' default) */
  double pcutoff;             /* inference_cfg.yaml pcutoff (0.1) */
  double min_affinity;        /* inference_cfg.yaml pafthreshold (0.1 in its template; 0.05 if absent) */
  int min_n_links;            /* inference_cfg.yaml minimalnumberofconnections (len(multianimalbodyparts) / 2) */
  double max_overlap;         /* pose NMS threshold (0.8); outside (0, 1) no NMS */
  bool add_discarded;         /* false */
} dlcc_assembler_options;

/* DeepLabCut's video-analysis settings for a project with these counts: optimal pairing, pcutoff 0.1,
 * pafthreshold 0.1 (inference_cfg.yaml's template), min_n_links n_multibodyparts / 2 (rounded down),
 * max_overlap 0.8, add_discarded off. */
void dlcc_assembler_options_init(dlcc_assembler_options *o, int n_multibodyparts, int max_n_individuals);

/* The calibration of Assembler.calibrate: statistics of the squared distances between every pair of
 * multi-animal parts (i < j, pair index n*i - i*(i+1)/2 + j - i - 1 as scipy's pdist orders them) over
 * the labeled animals. */
typedef struct dlcc_assembly_prior {
  int n_bodyparts;            /* multi-animal parts */
  int n_pairs;                /* n_bodyparts (n_bodyparts - 1) / 2 */
  size_t n_animals;           /* animals used (>= 90% of their coordinates labeled) */
  double *mean;               /* [n_pairs] mean squared distance of each pair (px^2) */
  double *covariance;         /* [n_pairs][n_pairs] gaussian_kde's: sample covariance * factor^2,
                                 factor = n_animals^(-1 / (n_pairs + 4)) (Scott's rule) */
  double *inv_cov;            /* [n_pairs][n_pairs] its inverse */
} dlcc_assembly_prior;

/* Fits the prior from labeled animals xy [n_animals][n_bodyparts][2] (image pixels, NaN where a part is
 * not labeled): every (image, individual) of the labeled data, multi-animal parts only (DeepLabCut
 * reads CollectedData_<scorer>.h5 and drops the "single" individual). Animals with under 90% of their
 * coordinates are skipped, a missing distance takes its pair's mean. Fails (and DeepLabCut goes on
 * uncalibrated, which a caller may do too) with one body part, no complete animal, fewer animals than
 * pairs (DeepLabCut's scipy raises there) or a singular covariance. Free with
 * dlcc_assembly_prior_free. */
dlcc_status dlcc_assembly_prior_fit(const double *xy, size_t n_animals, int n_bodyparts, dlcc_assembly_prior *prior,
                                    dlcc_error *err);
void dlcc_assembly_prior_free(dlcc_assembly_prior *prior);

typedef struct dlcc_assembler dlcc_assembler;

/* Checks the options and the graph (limbs between distinct multi-animal parts, no pair twice) and
 * keeps a copy of both (and of prior, which may be NULL: no calibration; its n_bodyparts must be
 * n_multibodyparts). num_joints counts all parts, multi-animal then unique. Free with
 * dlcc_assembler_free. */
dlcc_status dlcc_assembler_create(dlcc_assembler **assembler, const dlcc_assembler_options *o, int num_joints,
                                  const dlcc_paf_link *limbs, int n_limbs, const dlcc_assembly_prior *prior,
                                  dlcc_error *err);
void dlcc_assembler_free(dlcc_assembler *assembler);

/* One frame's individuals. Rows past n_animals, and parts an animal lacks, are NaN. */
typedef struct dlcc_assembly_result {
  int max_n_individuals, n_multibodyparts, n_uniquebodyparts;
  int n_animals;              /* 0 .. max_n_individuals, in DeepLabCut's order (by NMS score when NMS is on) */
  double *animals;            /* [max_n_individuals][n_multibodyparts][3]: x, y, score */
  double *affinity;           /* [max_n_individuals]: mean affinity of the animal's links (0 without links) */
  double *confidence;         /* [max_n_individuals]: mean score over all multi-animal parts, a missing part
                                 counting 0 (Assembly.confidence) */
  int *n_links;               /* [max_n_individuals] */
  bool has_unique;            /* some unique part was kept */
  double *unique;             /* [n_uniquebodyparts][3]: x, y, score, NaN when not kept */
} dlcc_assembly_result;

/* Allocates res for assembler's sizes; free with dlcc_assembly_result_free. */
dlcc_status dlcc_assembly_result_init(dlcc_assembly_result *res, const dlcc_assembler *assembler, dlcc_error *err);
void dlcc_assembly_result_free(dlcc_assembly_result *res);

/* Assembles one frame: peaks of all num_joints joints (peaks.h) and costs of the assembler's limbs in
 * its order (paf.h). Fails when the peaks or costs do not fit the assembler's joints and limbs.
 * Allocates only to grow its scratch, which it keeps for the next frame. */
dlcc_status dlcc_assemble(dlcc_assembler *assembler, const dlcc_peaks *peaks, const dlcc_link_costs *costs,
                          dlcc_assembly_result *res, dlcc_error *err);

#endif
