/* Trajectories of the demo animals: smooth headings, varying speed with pauses, bodies that bend into
 * turns, walls they follow, and (with several animals) approaches that make them meet,
 * touch and cross. Internal to src/demo. */
#ifndef DLCC_DEMO_MOTION_H
#define DLCC_DEMO_MOTION_H

#include "util/rng.h"

/* One animal on one frame. */
typedef struct dlcc_demo_pose {
  double x, y;       /* body centre, pixels */
  double heading;    /* body direction, radians, image axes (x right, y down): +angle turns right */
  double bend;       /* spine curvature: lateral offset of the body's ends, in body half-lengths */
  double head_yaw;   /* head angle relative to the body's tangent at the neck, radians */
  double tail_phase; /* phase of the tail's wave, radians */
} dlcc_demo_pose;

/* Simulates frames x animals poses (poses[frame * animals + animal]) in a width x height arena whose
 * walls lie at the image's edges: body centres stay inside, a snout or ear sometimes pokes out of view. */
void dlcc_demo_simulate(dlcc_rng *rng, int width, int height, int animals, int frames, dlcc_demo_pose *poses);

#endif
