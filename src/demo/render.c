/* The demo scene: each animal's shape (a bent body ellipse, a head ellipse with ears, eyes and nose,
 * a tapered waving tail), its keypoints, and the drawing of a frame: textured floor, soft shadows,
 * fur texture that moves with the body, uneven light and per-frame sensor noise. */
#include "demo/render.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo/motion.h"
#include "util/rng.h"

const char *const dlcc_demo_bodyparts[DLCC_DEMO_PARTS] = {"snout", "leftear", "rightear", "tailbase"};

enum { TAIL_POINTS = 10 };

/* Sizes (pixels) and colour of one animal. */
typedef struct animal_shape {
  double body_a, body_b;  /* body ellipse semi-axes, along and across */
  double head_a, head_b;
  double ear_r, eye_r, nose_r;
  double tail_len, tail_w;  /* tail length and half-width at its base */
  double fur[3];
  uint32_t fur_seed;
} animal_shape;

/* One animal's parts on one frame, in image coordinates. Body-local coordinates (u, v): u forward
 * along the heading, v to the animal's right; the spine is v = curv * u^2. */
typedef struct animal_geometry {
  double cx, cy, fx, fy;     /* body centre, forward unit vector */
  double curv;
  double hx, hy, hfx, hfy;   /* head centre, head direction */
  double ear[2][2];          /* left, right */
  double eye[2][2];
  double nose[2];            /* the snout keypoint */
  double tailbase[2];
  double tail[TAIL_POINTS][2];
  double tail_box[4];        /* x0, y0, x1, y1 around the tail */
  int x0, y0, x1, y1;        /* pixels to visit (shadow included), clipped to the image */
} animal_geometry;

struct dlcc_demo_scene {
  int width, height, animals, frames;
  double shadow_dx, shadow_dy;
  animal_shape *shapes;
  dlcc_demo_pose *poses;  /* frames x animals */
  float *floor;           /* width*height*3: the arena floor */
  float *light;           /* width*height: illumination, gradient and vignette */
  float *work;            /* width*height*3: the frame being drawn */
  uint64_t noise_seed;    /* frame f's sensor noise is seeded with noise_seed + f */
};

/* ---- value noise: smooth random fields seeded from the scene's generator ---- */

static uint32_t lattice_hash(uint32_t seed, int32_t x, int32_t y) {
  uint32_t h = seed ^ ((uint32_t)x * 0x27d4eb2du) ^ ((uint32_t)y * 0x165667b1u);
  h ^= h >> 15;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

static double lattice_value(uint32_t seed, int32_t x, int32_t y) {
  return lattice_hash(seed, x, y) / 2147483647.5 - 1.0;
}

/* Smoothly interpolated lattice noise in [-1, 1], one lattice cell per unit. */
static double value_noise(uint32_t seed, double x, double y) {
  double fx = floor(x), fy = floor(y);
  int32_t ix = (int32_t)fx, iy = (int32_t)fy;
  double tx = x - fx, ty = y - fy;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  double top = lattice_value(seed, ix, iy) * (1 - tx) + lattice_value(seed, ix + 1, iy) * tx;
  double bottom = lattice_value(seed, ix, iy + 1) * (1 - tx) + lattice_value(seed, ix + 1, iy + 1) * tx;
  return top * (1 - ty) + bottom * ty;
}

/* Three octaves of value noise, roughly in [-1, 1]. */
static double fractal_noise(uint32_t seed, double x, double y) {
  return 0.57 * value_noise(seed, x, y) + 0.29 * value_noise(seed + 1, 2 * x, 2 * y) +
         0.14 * value_noise(seed + 2, 4 * x, 4 * y);
}

/* Plain Euclidean length: libm's hypot guards against overflow at a cost that dominated drawing. */
static double length(double dx, double dy) { return sqrt(dx * dx + dy * dy); }

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static double smoothstep(double lo, double hi, double x) {
  double t = clampd((x - lo) / (hi - lo), 0, 1);
  return t * t * (3 - 2 * t);
}

static void blend(float *rgb, const double colour[3], double alpha) {
  for (int c = 0; c < 3; c++) rgb[c] = (float)(rgb[c] * (1 - alpha) + colour[c] * alpha);
}

/* ---- geometry ---- */

static void body_to_image(const animal_geometry *g, double u, double v, double out[2]) {
  out[0] = g->cx + u * g->fx - v * g->fy;
  out[1] = g->cy + u * g->fy + v * g->fx;
}

static void image_to_body(const animal_geometry *g, double x, double y, double *u, double *v) {
  double dx = x - g->cx, dy = y - g->cy;
  *u = dx * g->fx + dy * g->fy;
  *v = -dx * g->fy + dy * g->fx;
}

static void head_to_image(const animal_geometry *g, double p, double q, double out[2]) {
  out[0] = g->hx + p * g->hfx - q * g->hfy;
  out[1] = g->hy + p * g->hfy + q * g->hfx;
}

static void image_to_head(const animal_geometry *g, double x, double y, double *p, double *q) {
  double dx = x - g->hx, dy = y - g->hy;
  *p = dx * g->hfx + dy * g->hfy;
  *q = -dx * g->hfy + dy * g->hfx;
}

static void grow_box(double box[4], double x, double y, double r) {
  box[0] = fmin(box[0], x - r), box[1] = fmin(box[1], y - r);
  box[2] = fmax(box[2], x + r), box[3] = fmax(box[3], y + r);
}

static void place_head(const animal_shape *s, const dlcc_demo_pose *pose, animal_geometry *g) {
  double neck_u = 0.75 * s->body_a, neck[2];
  body_to_image(g, neck_u, g->curv * neck_u * neck_u, neck);
  double dir = pose->heading + atan(2 * g->curv * neck_u) + pose->head_yaw;
  g->hfx = cos(dir);
  g->hfy = sin(dir);
  g->hx = neck[0] + 0.45 * s->head_a * g->hfx;
  g->hy = neck[1] + 0.45 * s->head_a * g->hfy;
  head_to_image(g, 0.86 * s->head_a, 0, g->nose);
  for (int side = 0; side < 2; side++) {
    double q = side == 0 ? -1 : 1;  /* left is v < 0 */
    head_to_image(g, -0.25 * s->head_a, 0.9 * q * s->head_b, g->ear[side]);
    head_to_image(g, 0.3 * s->head_a, 0.6 * q * s->head_b, g->eye[side]);
  }
}

/* The tail leaves the body along the spine's tangent at the tail base and waves sideways. */
static void place_tail(const animal_shape *s, const dlcc_demo_pose *pose, animal_geometry *g) {
  double base_u = -0.88 * s->body_a, base_v = g->curv * base_u * base_u, slope = 2 * g->curv * base_u;
  body_to_image(g, base_u, base_v, g->tailbase);
  for (int k = 0; k < TAIL_POINTS; k++) {
    double t = k / (double)(TAIL_POINTS - 1);
    double u = base_u - t * s->tail_len;
    double wave = 0.12 * s->tail_len * t * sin(pose->tail_phase - 3.5 * t);
    body_to_image(g, u, base_v + slope * (u - base_u) + wave, g->tail[k]);
  }
  double *box = g->tail_box;
  box[0] = box[1] = INFINITY;
  box[2] = box[3] = -INFINITY;
  for (int k = 0; k < TAIL_POINTS; k++) grow_box(box, g->tail[k][0], g->tail[k][1], s->tail_w + 1);
}

static void bound_geometry(const dlcc_demo_scene *sc, const animal_shape *s, animal_geometry *g) {
  double box[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
  double shadow_reach = 1.4 * (s->body_a + s->body_b) + hypot(sc->shadow_dx, sc->shadow_dy);
  grow_box(box, g->cx, g->cy, shadow_reach);
  grow_box(box, g->hx, g->hy, s->head_a + s->ear_r);
  for (int k = 0; k < TAIL_POINTS; k++) grow_box(box, g->tail[k][0], g->tail[k][1], s->tail_w);
  g->x0 = (int)clampd(floor(box[0]) - 2, 0, sc->width - 1);
  g->y0 = (int)clampd(floor(box[1]) - 2, 0, sc->height - 1);
  g->x1 = (int)clampd(ceil(box[2]) + 2, 0, sc->width - 1);
  g->y1 = (int)clampd(ceil(box[3]) + 2, 0, sc->height - 1);
}

static void make_geometry(const dlcc_demo_scene *sc, int frame, int animal, animal_geometry *g) {
  assert(frame >= 0 && frame < sc->frames && animal >= 0 && animal < sc->animals);
  const animal_shape *s = &sc->shapes[animal];
  const dlcc_demo_pose *pose = &sc->poses[(size_t)frame * sc->animals + animal];
  g->cx = pose->x;
  g->cy = pose->y;
  g->fx = cos(pose->heading);
  g->fy = sin(pose->heading);
  g->curv = pose->bend / s->body_a;
  place_head(s, pose, g);
  place_tail(s, pose, g);
  bound_geometry(sc, s, g);
}

/* Signed distance (pixels, negative inside) to the ellipse (u/a)^2 + (v/b)^2 = 1 from the gradient of
 * its normalised radius f; *f_out receives f. */
static double ellipse_distance(double u, double v, double a, double b, double *f_out) {
  double f = sqrt(u * u / (a * a) + v * v / (b * b));
  *f_out = f;
  if (f < 1e-9) return -fmin(a, b);
  double grad = sqrt(u * u / (a * a * a * a) + v * v / (b * b * b * b)) / f;
  return (f - 1) / grad;
}

/* The same for the bent body, whose axis follows the spine v = curv * u^2. */
static double body_distance(const animal_shape *s, const animal_geometry *g, double u, double v, double *f_out) {
  double a = s->body_a, b = s->body_b, w = v - g->curv * u * u;
  double f = sqrt(u * u / (a * a) + w * w / (b * b));
  *f_out = f;
  if (f < 1e-9) return -fmin(a, b);
  double du = (u / (a * a) - 2 * g->curv * u * w / (b * b)) / f, dv = w / (b * b) / f;
  return (f - 1) / sqrt(du * du + dv * dv);
}

static bool geometry_covers(const animal_shape *s, const animal_geometry *g, double x, double y) {
  double u, v, p, q, f;
  image_to_body(g, x, y, &u, &v);
  if (body_distance(s, g, u, v, &f) <= 0) return true;
  image_to_head(g, x, y, &p, &q);
  if (ellipse_distance(p, q, s->head_a, s->head_b, &f) <= 0) return true;
  for (int side = 0; side < 2; side++)
    if (length(x - g->ear[side][0], y - g->ear[side][1]) <= s->ear_r) return true;
  return false;
}

/* ---- drawing one animal ---- */

/* Fur: streaks along the body (slow along u, fast across), darker towards the outline. */
static void fur_colour(const animal_shape *s, double u, double v, double f, double out[3]) {
  double streaks = 0.6 * value_noise(s->fur_seed, u / 2.5, v / 0.8) +
                   0.4 * value_noise(s->fur_seed + 7, u / 1.1, v / 0.45);
  double r = fmin(f, 1);
  double shade = 0.7 + 0.55 * (1 - r * r);
  for (int c = 0; c < 3; c++) out[c] = s->fur[c] * shade + 16 * streaks;
}

static void draw_shadow(const dlcc_demo_scene *sc, const animal_shape *s, const animal_geometry *g, double x,
                        double y, float *rgb) {
  double u, v, f;
  image_to_body(g, x - sc->shadow_dx, y - sc->shadow_dy, &u, &v);
  body_distance(s, g, u, v, &f);
  double darken = 0.35 * (1 - smoothstep(0.7, 1.45, f));
  for (int c = 0; c < 3; c++) rgb[c] = (float)(rgb[c] * (1 - darken));
}

static double segment_distance(const double a[2], const double b[2], double x, double y, double *t_out) {
  double dx = b[0] - a[0], dy = b[1] - a[1], len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? clampd(((x - a[0]) * dx + (y - a[1]) * dy) / len2, 0, 1) : 0;
  *t_out = t;
  return length(x - a[0] - t * dx, y - a[1] - t * dy);
}

static void draw_tail(const animal_shape *s, const animal_geometry *g, double x, double y, float *rgb) {
  if (x < g->tail_box[0] || y < g->tail_box[1] || x > g->tail_box[2] || y > g->tail_box[3]) return;
  double best = INFINITY, along = 0;
  for (int k = 0; k + 1 < TAIL_POINTS; k++) {
    double t, d = segment_distance(g->tail[k], g->tail[k + 1], x, y, &t);
    if (d < best) best = d, along = (k + t) / (TAIL_POINTS - 1);
  }
  double half_width = fmax(0.6, s->tail_w * (1 - 0.8 * along));
  double alpha = clampd(half_width - best + 0.5, 0, 1);
  if (alpha <= 0) return;
  double colour[3] = {150 - 55 * (1 - along), 122 - 50 * (1 - along), 118 - 48 * (1 - along)};
  blend(rgb, colour, alpha);
}

/* Body and head with fur; returns whether the pixel centre is inside either. */
static bool draw_body_and_head(const animal_shape *s, const animal_geometry *g, double x, double y, float *rgb) {
  double u, v, p, q, f, colour[3];
  image_to_body(g, x, y, &u, &v);
  double d_body = body_distance(s, g, u, v, &f);
  if (d_body < 0.5) {
    fur_colour(s, u, v - g->curv * u * u, f, colour);
    blend(rgb, colour, clampd(0.5 - d_body, 0, 1));
  }
  image_to_head(g, x, y, &p, &q);
  double d_head = ellipse_distance(p, q, s->head_a, s->head_b, &f);
  if (d_head < 0.5) {
    fur_colour(s, p + 1000, q, f, colour);
    blend(rgb, colour, clampd(0.5 - d_head, 0, 1));
  }
  return d_body <= 0 || d_head <= 0;
}

/* A disc with a soft edge whose colour goes from `centre` to `rim`. */
static bool draw_disc(const double at[2], double radius, const double centre[3], const double rim[3], double x,
                      double y, float *rgb) {
  double dx = x - at[0], dy = y - at[1], reach = radius + 0.5;
  if (dx * dx + dy * dy >= reach * reach) return false;
  double d = length(dx, dy);
  double alpha = clampd(radius - d + 0.5, 0, 1);
  if (alpha <= 0) return false;
  double t = clampd(d / radius, 0, 1), colour[3];
  t *= t;
  for (int c = 0; c < 3; c++) colour[c] = centre[c] * (1 - t) + rim[c] * t;
  blend(rgb, colour, alpha);
  return d <= radius;
}

static bool draw_face(const animal_shape *s, const animal_geometry *g, double x, double y, float *rgb) {
  static const double ear_inner[3] = {168, 112, 116}, ear_rim[3] = {78, 58, 60};
  static const double eye[3] = {16, 14, 14}, nose[3] = {182, 124, 128}, nose_rim[3] = {140, 96, 98};
  bool on_ear = false;
  for (int side = 0; side < 2; side++) {
    on_ear |= draw_disc(g->ear[side], s->ear_r, ear_inner, ear_rim, x, y, rgb);
    draw_disc(g->eye[side], s->eye_r, eye, eye, x, y, rgb);
  }
  draw_disc(g->nose, s->nose_r, nose, nose_rim, x, y, rgb);
  return on_ear;
}

static void draw_animal(dlcc_demo_scene *sc, int animal, const animal_geometry *g, uint8_t *mask) {
  const animal_shape *s = &sc->shapes[animal];
  for (int y = g->y0; y <= g->y1; y++)
    for (int x = g->x0; x <= g->x1; x++) {
      size_t i = (size_t)y * sc->width + x;
      float *rgb = &sc->work[3 * i];
      draw_shadow(sc, s, g, x, y, rgb);
      draw_tail(s, g, x, y, rgb);
      bool covered = draw_body_and_head(s, g, x, y, rgb);
      covered |= draw_face(s, g, x, y, rgb);
      if (covered && mask) mask[i] = (uint8_t)(animal + 1);
    }
}

/* ---- the floor and the light ---- */

/* Wood-chip bedding: small elongated flecks lighter or darker than the floor. */
static void scatter_flecks(dlcc_demo_scene *sc, dlcc_rng *rng) {
  int count = sc->width * sc->height / 400;
  for (int n = 0; n < count; n++) {
    double cx = dlcc_rng_uniform(rng) * sc->width, cy = dlcc_rng_uniform(rng) * sc->height;
    double len = 1.5 + 3 * dlcc_rng_uniform(rng), wid = 0.6 + 0.9 * dlcc_rng_uniform(rng);
    double angle = 6.283185307179586 * dlcc_rng_uniform(rng), shade = -38 + 62 * dlcc_rng_uniform(rng);
    double ca = cos(angle), sa = sin(angle);
    for (int y = (int)fmax(0, cy - len - 1); y <= (int)fmin(sc->height - 1, cy + len + 1); y++)
      for (int x = (int)fmax(0, cx - len - 1); x <= (int)fmin(sc->width - 1, cx + len + 1); x++) {
        double f, d = ellipse_distance((x - cx) * ca + (y - cy) * sa, -(x - cx) * sa + (y - cy) * ca, len, wid, &f);
        double alpha = clampd(0.5 - d, 0, 1);
        float *rgb = &sc->floor[3 * ((size_t)y * sc->width + x)];
        for (int c = 0; c < 3; c++) rgb[c] += (float)(alpha * shade * (c == 2 ? 0.8 : 1.0));
      }
  }
}

static void make_floor(dlcc_demo_scene *sc, dlcc_rng *rng) {
  uint32_t blotches = dlcc_rng_u32(rng), grain = dlcc_rng_u32(rng), speckle = dlcc_rng_u32(rng);
  double base[3] = {198, 191, 178}, tint = 6 * dlcc_rng_normal(rng);
  for (int y = 0; y < sc->height; y++)
    for (int x = 0; x < sc->width; x++) {
      double t = 10 * fractal_noise(blotches, x / 28.0, y / 28.0) + 7 * value_noise(grain, x / 2.5, y / 2.5) +
                 5 * lattice_value(speckle, x, y);
      float *rgb = &sc->floor[3 * ((size_t)y * sc->width + x)];
      rgb[0] = (float)(base[0] + tint + t);
      rgb[1] = (float)(base[1] + tint + 0.95 * t);
      rgb[2] = (float)(base[2] + 0.5 * tint + 0.85 * t);
    }
  scatter_flecks(sc, rng);
}

/* A lamp off to one side: a linear gradient plus a vignette around an off-centre point. */
static void make_light(dlcc_demo_scene *sc, dlcc_rng *rng) {
  double angle = 6.283185307179586 * dlcc_rng_uniform(rng), slope = 0.12 + 0.1 * dlcc_rng_uniform(rng);
  double vignette = 0.22 + 0.1 * dlcc_rng_uniform(rng);
  double ox = sc->width * (0.4 + 0.2 * dlcc_rng_uniform(rng)), oy = sc->height * (0.4 + 0.2 * dlcc_rng_uniform(rng));
  double half_diagonal = 0.5 * hypot(sc->width, sc->height);
  for (int y = 0; y < sc->height; y++)
    for (int x = 0; x < sc->width; x++) {
      double along = ((x / (double)sc->width - 0.5) * cos(angle) + (y / (double)sc->height - 0.5) * sin(angle));
      double r = length(x - ox, y - oy) / half_diagonal;
      sc->light[(size_t)y * sc->width + x] = (float)(1.02 + 2 * slope * along - vignette * r * r);
    }
}

/* Dark mice of slightly different sizes and tones; unit is about a quarter of the image's smaller side. */
static void make_shapes(dlcc_demo_scene *sc, dlcc_rng *rng, double scale) {
  for (int k = 0; k < sc->animals; k++) {
    animal_shape *s = &sc->shapes[k];
    double unit = 0.26 * scale * (0.93 + 0.14 * dlcc_rng_uniform(rng));
    s->body_a = 0.30 * unit;
    s->body_b = 0.16 * unit;
    s->head_a = 0.20 * unit;
    s->head_b = 0.125 * unit;
    s->ear_r = 0.5 * s->head_b;
    s->eye_r = 0.14 * s->head_b;
    s->nose_r = 0.2 * s->head_b;
    s->tail_len = 0.75 * unit;
    s->tail_w = 0.035 * unit;
    double tone = 8 * dlcc_rng_normal(rng), warm = 4 * dlcc_rng_uniform(rng);
    s->fur[0] = 60 + tone + warm;
    s->fur[1] = 54 + tone;
    s->fur[2] = 51 + tone - warm;
    s->fur_seed = dlcc_rng_u32(rng);
  }
}

/* ---- the scene ---- */

static dlcc_status check_scene_size(int width, int height, int animals, int frames, dlcc_error *err) {
  if (width < 32 || height < 32 || width > 8192 || height > 8192)
    return dlcc_fail(err, DLCC_ERR_INVALID, "demo image size %dx%d: width and height must be 32 to 8192 pixels",
                     width, height);
  if (animals < 1 || animals > DLCC_DEMO_MAX_ANIMALS)
    return dlcc_fail(err, DLCC_ERR_INVALID, "demo animals %d: choose 1 to %d", animals, DLCC_DEMO_MAX_ANIMALS);
  if (frames < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "demo frames %d: choose at least 1", frames);
  return DLCC_OK;
}

dlcc_status dlcc_demo_scene_create(dlcc_demo_scene **scene, int width, int height, int animals, int frames,
                                   uint64_t seed, dlcc_error *err) {
  *scene = NULL;
  dlcc_status st = check_scene_size(width, height, animals, frames, err);
  if (st) return st;
  dlcc_demo_scene *sc = calloc(1, sizeof *sc);
  size_t pixels = (size_t)width * height;
  if (sc) {
    *sc = (dlcc_demo_scene){.width = width, .height = height, .animals = animals, .frames = frames};
    sc->shapes = calloc((size_t)animals, sizeof *sc->shapes);
    sc->poses = calloc((size_t)frames * animals, sizeof *sc->poses);
    sc->floor = calloc(pixels * 3, sizeof *sc->floor);
    sc->light = calloc(pixels, sizeof *sc->light);
    sc->work = calloc(pixels * 3, sizeof *sc->work);
  }
  if (!sc || !sc->shapes || !sc->poses || !sc->floor || !sc->light || !sc->work) {
    dlcc_demo_scene_free(sc);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for a %dx%d demo scene of %d frames", width, height, frames);
  }
  double scale = width < height ? width : height;
  sc->shadow_dx = 0.012 * scale;
  sc->shadow_dy = 0.018 * scale;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, seed);
  make_shapes(sc, &rng, scale);
  make_floor(sc, &rng);
  make_light(sc, &rng);
  sc->noise_seed = ((uint64_t)dlcc_rng_u32(&rng) << 32) | dlcc_rng_u32(&rng);
  /* last, so that a longer clip from the same seed starts with the same frames */
  dlcc_demo_simulate(&rng, width, height, animals, frames, sc->poses);
  *scene = sc;
  return DLCC_OK;
}

void dlcc_demo_scene_free(dlcc_demo_scene *scene) {
  if (!scene) return;
  free(scene->shapes);
  free(scene->poses);
  free(scene->floor);
  free(scene->light);
  free(scene->work);
  free(scene);
}

void dlcc_demo_scene_keypoints(const dlcc_demo_scene *scene, int frame, double *xy) {
  for (int k = 0; k < scene->animals; k++) {
    animal_geometry g;
    make_geometry(scene, frame, k, &g);
    const double *parts[DLCC_DEMO_PARTS] = {g.nose, g.ear[0], g.ear[1], g.tailbase};
    for (int j = 0; j < DLCC_DEMO_PARTS; j++) {
      xy[(k * DLCC_DEMO_PARTS + j) * 2] = parts[j][0];
      xy[(k * DLCC_DEMO_PARTS + j) * 2 + 1] = parts[j][1];
    }
  }
}

bool dlcc_demo_scene_covers(const dlcc_demo_scene *scene, int frame, int animal, double x, double y) {
  animal_geometry g;
  make_geometry(scene, frame, animal, &g);
  return geometry_covers(&scene->shapes[animal], &g, x, y);
}

/* Roughly normal noise (mean 0, deviation 1) from the four bytes of one draw (Irwin-Hall): the exact
 * shape does not matter for sensor noise, and log/cos per pixel would dominate the frame's cost. */
static double cheap_normal(dlcc_rng *rng) {
  uint32_t bits = dlcc_rng_u32(rng);
  int sum = (int)(bits & 0xff) + (int)((bits >> 8) & 0xff) + (int)((bits >> 16) & 0xff) + (int)(bits >> 24);
  return (sum - 510) / 147.8;
}

/* Light (with a little flicker) and sensor noise: per pixel a grey component and a smaller colour one. */
static void expose(const dlcc_demo_scene *sc, int frame, dlcc_image *img) {
  dlcc_rng noise;
  dlcc_rng_seed(&noise, sc->noise_seed + (uint64_t)frame);
  double gain = 1 + 0.012 * dlcc_rng_normal(&noise);
  size_t pixels = (size_t)sc->width * sc->height;
  for (size_t i = 0; i < pixels; i++) {
    double light = sc->light[i] * gain, grey = 2.5 * cheap_normal(&noise);
    uint32_t bits = dlcc_rng_u32(&noise);
    for (int c = 0; c < 3; c++) {
      double colour_noise = ((bits >> (8 * c)) & 0xff) / 255.0 * 3 - 1.5;
      double v = sc->work[3 * i + c] * light + grey + colour_noise;
      img->rgb[3 * i + c] = (uint8_t)(clampd(v, 0, 255) + 0.5);
    }
  }
}

void dlcc_demo_scene_render(dlcc_demo_scene *scene, int frame, dlcc_image *img, uint8_t *mask) {
  size_t pixels = (size_t)scene->width * scene->height;
  memcpy(scene->work, scene->floor, pixels * 3 * sizeof *scene->work);
  if (mask) memset(mask, 0, pixels);
  for (int k = 0; k < scene->animals; k++) {
    animal_geometry g;
    make_geometry(scene, frame, k, &g);
    draw_animal(scene, k, &g, mask);
  }
  expose(scene, frame, img);
}
