/* Frame-to-frame tracking of assembled animals into tracklets, as DeepLabCut's SORT-style trackers
 * (deeplabcut/core/trackingutils.py: SORTBox, SORTEllipse) do for convert_detections2tracklets: each
 * animal becomes a box or an ellipse, each live tracker a constant-velocity Kalman filter, and each
 * frame an optimal assignment of animals to trackers by IoU or ellipse similarity. */
#ifndef DLCC_TRACK_TRACKERS_H
#define DLCC_TRACK_TRACKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* ---- Tracklets: what the trackers produce and the stitcher reads ---------------------------- */

/* One tracklet: the frames where a tracker reported an animal and that animal's pose there. */
typedef struct dlcc_tracklet {
  int id;                 /* the tracker's id: 0, 1, 2... in the order trackers were started */
  size_t length, capacity;
  int *frames;            /* strictly increasing */
  double *poses;          /* length x num_joints x 3: x, y, likelihood; NaN for a missing joint */
} dlcc_tracklet;

/* All tracklets of a video, in the order of their first report (DeepLabCut's dict order). */
typedef struct dlcc_tracklet_set {
  int num_joints;
  size_t count, capacity;
  dlcc_tracklet *items;
  size_t id_capacity;
  int *slot_of_id;        /* id -> index in items, -1 when that id has no tracklet */
} dlcc_tracklet_set;

void dlcc_tracklet_set_init(dlcc_tracklet_set *s, int num_joints);
void dlcc_tracklet_set_free(dlcc_tracklet_set *s);
/* Appends (frame, pose) to tracklet `id` (id >= 0), starting it if new. frame must be greater than
 * the tracklet's last frame. pose: num_joints x 3. */
dlcc_status dlcc_tracklet_set_append(dlcc_tracklet_set *s, int id, int frame, const double *pose, dlcc_error *err);
/* The tracklet with this id, or NULL. */
const dlcc_tracklet *dlcc_tracklet_set_find(const dlcc_tracklet_set *s, int id);

/* ---- Shapes ---------------------------------------------------------------------------------- */

typedef struct dlcc_box {
  double x1, y1, x2, y2;
} dlcc_box;

typedef struct dlcc_ellipse {
  double x, y;            /* centre */
  double width, height;   /* full lengths of the major and minor axes */
  double theta;           /* angle of the major axis to the x axis, radians, in [0, pi) */
} dlcc_ellipse;

/* The box around the used joints (use_joint NULL: all) of one pose (num_joints x 3), grown by slack on
 * every side: calc_bboxes_from_keypoints (minimum and maximum of x and of y, NaN ignored). false
 * when no used joint has a finite x and a finite y. */
bool dlcc_box_from_pose(const double *pose, int num_joints, const unsigned char *use_joint, double slack,
                        dlcc_box *box);

/* Intersection over union (calc_iou). Where DeepLabCut divides 0 by 0 (two boxes of zero area),
 * this returns 0. */
double dlcc_box_iou(const dlcc_box *a, const dlcc_box *b);

/* The sd-standard-deviation covariance ellipse of the used joints that have finite x and y
 * (EllipseFitter with sd > 0): centre = mean, width and height = 2 sd sqrt(eigenvalues of the
 * sample covariance, n - 1), theta = angle of the major eigenvector modulo pi. false with fewer than
 * 3 such joints or when a parameter is not a number (a negative eigenvalue from rounding). */
bool dlcc_ellipse_fit(const double *pose, int num_joints, const unsigned char *use_joint, double sd,
                      dlcc_ellipse *e);

/* Ellipse.calc_similarity_with: with d the distance between the centres and L the longest of the
 * four axes (1 when all are 0), c = 1 - min(d / L, 1) and similarity = 0.8 c + 0.2 c |cos(dtheta)|. */
double dlcc_ellipse_similarity(const dlcc_ellipse *a, const dlcc_ellipse *b);

/* ---- Trackers -------------------------------------------------------------------------------- */

typedef enum dlcc_track_method {
  DLCC_TRACK_BOX,      /* "box": SORTBox */
  DLCC_TRACK_ELLIPSE   /* "ellipse": SORTEllipse (DeepLabCut's default_track_method) */
} dlcc_track_method;

typedef struct dlcc_tracker_params {
  dlcc_track_method method;
  int max_age;          /* inference_cfg max_age (1): frames a tracker may go unmatched and still resume */
  int min_hits;         /* min_hits (1): consecutive matches before a tracker's animals are reported */
  double iou_threshold; /* iou_threshold (0.6): least IoU (box) or similarity (ellipse) of a match */
  double box_slack;     /* boundingboxslack (0): pixels added on each side of a box */
  double ellipse_sd;    /* EllipseFitter's sd (2) */
} dlcc_tracker_params;

/* DeepLabCut's defaults (inference_cfg.yaml) for the method. */
void dlcc_tracker_params_default(dlcc_tracker_params *p, dlcc_track_method method);

typedef struct dlcc_tracker dlcc_tracker;

/* A tracker for poses of num_joints joints; use_joint (num_joints flags, NULL: all; copied) says
 * which joints make the shapes (convert_detections2tracklets' ignore_bodyparts), while tracklets keep
 * whole poses. */
dlcc_status dlcc_tracker_create(const dlcc_tracker_params *p, int num_joints, const unsigned char *use_joint,
                                dlcc_tracker **out, dlcc_error *err);
void dlcc_tracker_free(dlcc_tracker *t);

/* Tracks one frame: animals is n_animals x num_joints x 3 (x, y, likelihood; NaN x/y for a missing
 * joint). Animals without any joint with finite x and y are ignored; when none is left the frame is
 * skipped entirely (the trackers do not age), as DeepLabCut skips frames without assemblies. Animals
 * whose shape cannot be made (ellipse: fewer than 3 used joints; box: none) are not detections.
 * The animals reported (matched by a tracker with enough consecutive hits, or new during the first
 * min_hits frames) are appended to `tracklets` under their tracker's id, and tracklet_of_animal
 * (n_animals entries, may be NULL) gets that id, or -1 for an animal not reported. Frames must
 * increase from call to call. Memory grows only with the largest frame and the tracklets.
 * Unlike DeepLabCut 3.0.1: an animal whose ellipse cannot be fitted shifts, in DeepLabCut, the index
 * of the animals after it (the pose stored is then another animal's); here the matched animal's pose is
 * stored. IoU 0/0 counts as 0 where DeepLabCut's assignment would raise. Ties in the assignment may be
 * broken differently from scipy's. SORTSkeleton, identity-only tracking and the topktoretain == 1
 * shortcut (every frame's first assembly into tracklet 0) are not here. */
dlcc_status dlcc_tracker_step(dlcc_tracker *t, int frame, const double *animals, int n_animals,
                              dlcc_tracklet_set *tracklets, int *tracklet_of_animal, dlcc_error *err);

/* Live trackers (matched within the last max_age frames), and ids handed out so far. */
int dlcc_tracker_live_count(const dlcc_tracker *t);
int dlcc_tracker_ids_used(const dlcc_tracker *t);

#endif
