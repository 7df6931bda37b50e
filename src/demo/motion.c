/* Trajectories of the demo animals: an Ornstein-Uhlenbeck walk in heading and speed, switching between
 * exploring, pausing and approaching another animal, turned along the walls when they reach one. All
 * lengths scale with the image's smaller side, so a small test image moves like a large one. */
#include "demo/motion.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>

#include "demo/render.h"

typedef enum { EXPLORE, PAUSE, APPROACH } walk_mode;

/* Per-animal state that is not part of the pose. */
typedef struct walker {
  double speed;    /* pixels per frame */
  double omega;    /* heading change per frame, radians */
  walk_mode mode;
  int mode_left;   /* frames until the next mode is drawn */
} walker;

/* The arena in pixels: centres stay within [margin, size - margin]; walls repel from `soft` inwards. */
typedef struct arena {
  double width, height, scale;  /* scale: the image's smaller side */
  double margin, soft;
  bool social;                  /* several animals: approaches happen */
} arena;

static const double PI = 3.14159265358979323846;

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static double wrap_angle(double a) {
  while (a > PI) a -= 2 * PI;
  while (a < -PI) a += 2 * PI;
  return a;
}

static int uniform_int(dlcc_rng *rng, int lo, int hi) {
  return lo + (int)dlcc_rng_below(rng, (uint32_t)(hi - lo + 1));
}

static void draw_mode(walker *w, dlcc_rng *rng, const arena *a) {
  double r = dlcc_rng_uniform(rng);
  if (a->social && r < 0.35) {
    w->mode = APPROACH;
    w->mode_left = uniform_int(rng, 40, 120);
  } else if (r > 0.75) {
    w->mode = PAUSE;
    w->mode_left = uniform_int(rng, 10, 40);
  } else {
    w->mode = EXPLORE;
    w->mode_left = uniform_int(rng, 30, 120);
  }
}

static double mode_speed(walk_mode mode, double scale) {
  return mode == PAUSE ? 0.0003 * scale : mode == APPROACH ? 0.011 * scale : 0.008 * scale;
}

/* Starting poses spread over the middle of the arena, apart from each other when there is room. */
static void place_animals(dlcc_rng *rng, const arena *a, int animals, dlcc_demo_pose *poses) {
  for (int k = 0; k < animals; k++) {
    dlcc_demo_pose *p = &poses[k];
    for (int attempt = 0; attempt < 100; attempt++) {
      p->x = a->width * (0.2 + 0.6 * dlcc_rng_uniform(rng));
      p->y = a->height * (0.2 + 0.6 * dlcc_rng_uniform(rng));
      bool apart = true;
      for (int j = 0; j < k; j++)
        apart &= hypot(p->x - poses[j].x, p->y - poses[j].y) > 0.3 * a->scale;
      if (apart) break;
    }
    p->heading = wrap_angle(2 * PI * dlcc_rng_uniform(rng));
    p->bend = 0;
    p->head_yaw = 0;
    p->tail_phase = 2 * PI * dlcc_rng_uniform(rng);
  }
}

/* Near a wall, mice follow it (thigmotaxis): the heading along the wall closest to the current one,
 * tilted a little inwards. Gain 0 when no wall is ahead. */
static double wall_steer(const arena *a, const dlcc_demo_pose *p, double *gain) {
  double ahead = 0.08 * a->scale;
  double ax = p->x + ahead * cos(p->heading), ay = p->y + ahead * sin(p->heading);
  /* how far the look-ahead point lies beyond each wall's soft limit: left, top, right, bottom */
  double beyond[4] = {a->soft - ax, a->soft - ay, ax - (a->width - a->soft), ay - (a->height - a->soft)};
  static const double inward[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
  int wall = 0;
  for (int i = 1; i < 4; i++)
    if (beyond[i] > beyond[wall]) wall = i;
  *gain = beyond[wall] > 0 ? 0.12 : 0;
  double along = wall % 2 == 0 ? (sin(p->heading) >= 0 ? PI / 2 : -PI / 2) : (cos(p->heading) >= 0 ? 0 : PI);
  return atan2(sin(along) + 0.25 * inward[wall][1], cos(along) + 0.25 * inward[wall][0]);
}

/* Heading towards the nearest other animal; ends the approach once their bodies meet. */
static double approach_steer(walker *w, dlcc_rng *rng, const arena *a, const dlcc_demo_pose *prev,
                             int animals, int self, double *gain) {
  int nearest = -1;
  double best = INFINITY;
  for (int j = 0; j < animals; j++) {
    double d = hypot(prev[j].x - prev[self].x, prev[j].y - prev[self].y);
    if (j != self && d < best) best = d, nearest = j;
  }
  *gain = 0;
  if (nearest < 0) return 0;
  if (best < 0.12 * a->scale) {  /* touching: carry on (often across the other animal) */
    w->mode = EXPLORE;
    w->mode_left = uniform_int(rng, 20, 60);
    return 0;
  }
  *gain = 0.07;
  return atan2(prev[nearest].y - prev[self].y, prev[nearest].x - prev[self].x);
}

static void step_walker(walker *w, dlcc_rng *rng, const arena *a, const dlcc_demo_pose *prev, int animals,
                        int self, dlcc_demo_pose *next) {
  const dlcc_demo_pose *p = &prev[self];
  if (--w->mode_left <= 0) draw_mode(w, rng, a);
  w->speed += 0.1 * (mode_speed(w->mode, a->scale) - w->speed) + 0.0008 * a->scale * dlcc_rng_normal(rng);
  w->speed = clampd(w->speed, 0, 0.02 * a->scale);
  w->omega = 0.92 * w->omega + 0.015 * dlcc_rng_normal(rng);
  double gain, target = wall_steer(a, p, &gain);
  if (gain == 0 && w->mode == APPROACH) target = approach_steer(w, rng, a, prev, animals, self, &gain);
  w->omega = clampd(w->omega + gain * wrap_angle(target - p->heading), -0.12, 0.12);

  *next = *p;
  next->heading = wrap_angle(p->heading + w->omega);
  next->x = clampd(p->x + w->speed * cos(next->heading), a->margin, a->width - a->margin);
  next->y = clampd(p->y + w->speed * sin(next->heading), a->margin, a->height - a->margin);
  next->bend = 0.8 * p->bend + 0.2 * clampd(5 * w->omega, -0.4, 0.4);
  double scan = w->mode == PAUSE ? 0.05 : 0.02;
  next->head_yaw = clampd(0.85 * p->head_yaw + 0.4 * w->omega + scan * dlcc_rng_normal(rng), -0.5, 0.5);
  next->tail_phase = fmod(p->tail_phase + 0.12 + 0.6 * w->speed / (0.01 * a->scale), 2 * PI);
}

void dlcc_demo_simulate(dlcc_rng *rng, int width, int height, int animals, int frames, dlcc_demo_pose *poses) {
  arena a = {.width = width, .height = height, .scale = width < height ? width : height};
  a.margin = 0.02 * a.scale;
  a.soft = 0.07 * a.scale;
  a.social = animals > 1;
  walker w[DLCC_DEMO_MAX_ANIMALS];
  assert(animals >= 1 && animals <= DLCC_DEMO_MAX_ANIMALS);
  place_animals(rng, &a, animals, poses);
  for (int k = 0; k < animals; k++) {
    w[k] = (walker){.speed = mode_speed(EXPLORE, a.scale)};
    draw_mode(&w[k], rng, &a);
    if (a.social && k > 0) w[k].mode = APPROACH;  /* the first encounter comes early in short clips */
  }
  for (int f = 1; f < frames; f++)
    for (int k = 0; k < animals; k++)
      step_walker(&w[k], rng, &a, &poses[(size_t)(f - 1) * animals], animals, k, &poses[(size_t)f * animals + k]);
}
