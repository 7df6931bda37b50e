/* The demo scene behind `dlcc make-demo-project`: simulated animal trajectories and a renderer that
 * draws them (textured, unevenly lit, noisy arena; dark mice with fur, ears, eyes, nose and tail), and
 * the exact positions of the labelled body parts, so that labels sit on what is drawn. */
#ifndef DLCC_DEMO_RENDER_H
#define DLCC_DEMO_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"
#include "util/error.h"

/* The labelled body parts, in column order: snout, leftear, rightear, tailbase. */
enum { DLCC_DEMO_PARTS = 4 };
extern const char *const dlcc_demo_bodyparts[DLCC_DEMO_PARTS];

/* Most animals a scene holds (masks store animal ids in a byte). */
enum { DLCC_DEMO_MAX_ANIMALS = 32 };

typedef struct dlcc_demo_scene dlcc_demo_scene;

/* Simulates `frames` frames of `animals` animals in a width x height arena (width, height >= 32) and
 * prepares the background, all from seed. Fails only on bad sizes or allocation. Free with
 * dlcc_demo_scene_free. */
dlcc_status dlcc_demo_scene_create(dlcc_demo_scene **scene, int width, int height, int animals, int frames,
                                   uint64_t seed, dlcc_error *err);
void dlcc_demo_scene_free(dlcc_demo_scene *scene);

/* Exact sub-pixel keypoints of frame `frame`: xy[(animal * DLCC_DEMO_PARTS + part) * 2 + {0: x, 1: y}]
 * (pixel centres at integer coordinates). A part may lie outside the image near the walls. */
void dlcc_demo_scene_keypoints(const dlcc_demo_scene *scene, int frame, double *xy);

/* True when the point (x, y) lies on animal's body, head or ears on frame `frame` (tail excluded),
 * whatever is drawn over it. */
bool dlcc_demo_scene_covers(const dlcc_demo_scene *scene, int frame, int animal, double x, double y);

/* Draws frame `frame` into img (caller-allocated at the scene's size). When mask is not NULL it
 * receives width*height bytes: 0 for the floor, k+1 where animal k's body, head or ears is the top
 * layer. The same frame always gives the same pixels (its sensor noise has its own seed). Uses the
 * scene's scratch buffer, so one scene renders one frame at a time. */
void dlcc_demo_scene_render(dlcc_demo_scene *scene, int frame, dlcc_image *img, uint8_t *mask);

#endif
