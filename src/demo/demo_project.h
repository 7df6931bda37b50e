/* `dlcc make-demo-project`: a complete, realistic DeepLabCut project generated from a seed, so that
 * everything can run without outside data: rendered animals (textured elongated bodies with snout,
 * two ears and tail base) moving smoothly on a textured, unevenly lit, noisy background; an MP4
 * video; labeled frames with CollectedData; a ground-truth CSV with every part on every frame. */
#ifndef DLCC_DEMO_DEMO_PROJECT_H
#define DLCC_DEMO_DEMO_PROJECT_H

#include <stdint.h>

#include "util/error.h"

typedef struct dlcc_demo_options {
  int animals;        /* 1: single-animal project; >= 2: multi-animal, animals cross and touch */
  int frames;         /* video frames */
  int labeled;        /* labeled frames (evenly spread over the video), <= frames */
  uint64_t seed;      /* same seed, same bytes */
  int width, height;  /* video size (even) */
  int fps;
} dlcc_demo_options;

/* DeepLabCut-like defaults: 1 animal, 300 frames, 60 labeled, seed 42, 320x256 at 30 fps. */
void dlcc_demo_options_default(dlcc_demo_options *opt);

/* Writes the project into dir (created; must not already hold a config.yaml). */
dlcc_status dlcc_demo_project_write(const char *dir, const dlcc_demo_options *opt, dlcc_error *err);

#endif
