/* The box and ellipse trackers of DeepLabCut (SORTBox, SORTEllipse) and the tracklet store.
 * Each tracker is a linear Kalman filter with the state, noise and covariance DeepLabCut gives it
 * (filterpy's KalmanFilter: predict x = Fx, P = FPF' + Q; update with the Joseph form). */
#include "track/trackers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/assignment.h"

/* ---- Tracklet store ------------------------------------------------------------------------- */

void dlcc_tracklet_set_init(dlcc_tracklet_set *s, int num_joints) {
  *s = (dlcc_tracklet_set){0};
  s->num_joints = num_joints;
}

void dlcc_tracklet_set_free(dlcc_tracklet_set *s) {
  for (size_t i = 0; i < s->count; i++) {
    free(s->items[i].frames);
    free(s->items[i].poses);
  }
  free(s->items);
  free(s->slot_of_id);
  int num_joints = s->num_joints;
  dlcc_tracklet_set_init(s, num_joints);
}

const dlcc_tracklet *dlcc_tracklet_set_find(const dlcc_tracklet_set *s, int id) {
  if (id < 0 || (size_t)id >= s->id_capacity || s->slot_of_id[id] < 0) return NULL;
  return &s->items[s->slot_of_id[id]];
}

dlcc_status dlcc_tracklet_set_append(dlcc_tracklet_set *s, int id, int frame, const double *pose, dlcc_error *err) {
  if (id < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "tracklet id %d is negative", id);
  if ((size_t)id >= s->id_capacity) {
    size_t cap = s->id_capacity ? s->id_capacity : 16;
    while (cap <= (size_t)id) cap *= 2;
    int *slots = realloc(s->slot_of_id, cap * sizeof *slots);
    if (!slots) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracklets)");
    for (size_t k = s->id_capacity; k < cap; k++) slots[k] = -1;
    s->slot_of_id = slots;
    s->id_capacity = cap;
  }
  if (s->slot_of_id[id] < 0) {
    if (s->count == s->capacity) {
      size_t cap = s->capacity ? 2 * s->capacity : 16;
      dlcc_tracklet *items = realloc(s->items, cap * sizeof *items);
      if (!items) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracklets)");
      s->items = items;
      s->capacity = cap;
    }
    s->items[s->count] = (dlcc_tracklet){.id = id};
    s->slot_of_id[id] = (int)s->count++;
  }
  dlcc_tracklet *t = &s->items[s->slot_of_id[id]];
  if (t->length > 0 && frame <= t->frames[t->length - 1])
    return dlcc_fail(err, DLCC_ERR_INVALID, "tracklet %d: frame %d does not follow its last frame %d", id, frame,
                     t->frames[t->length - 1]);
  size_t per_pose = (size_t)s->num_joints * 3;
  if (t->length == t->capacity) {
    size_t cap = t->capacity ? 2 * t->capacity : 32;
    int *frames = realloc(t->frames, cap * sizeof *frames);
    if (!frames) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracklets)");
    t->frames = frames;
    double *poses = realloc(t->poses, cap * per_pose * sizeof *poses);
    if (!poses) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracklets)");
    t->poses = poses;
    t->capacity = cap;
  }
  t->frames[t->length] = frame;
  memcpy(t->poses + t->length * per_pose, pose, per_pose * sizeof *pose);
  t->length++;
  return DLCC_OK;
}

/* ---- Shapes ----------------------------------------------------------------------------------- */

static bool joint_used(const unsigned char *use_joint, int j) {
  return !use_joint || use_joint[j];
}

bool dlcc_box_from_pose(const double *pose, int num_joints, const unsigned char *use_joint, double slack,
                        dlcc_box *box) {
  double x1 = INFINITY, y1 = INFINITY, x2 = -INFINITY, y2 = -INFINITY;
  bool any_x = false, any_y = false;
  for (int j = 0; j < num_joints; j++) {
    if (!joint_used(use_joint, j)) continue;
    double x = pose[3 * j], y = pose[3 * j + 1];
    if (!isnan(x)) {
      any_x = true;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
    }
    if (!isnan(y)) {
      any_y = true;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
  }
  if (!any_x || !any_y || !isfinite(x1) || !isfinite(x2) || !isfinite(y1) || !isfinite(y2)) return false;
  *box = (dlcc_box){x1 - slack, y1 - slack, x2 + slack, y2 + slack};
  return true;
}

double dlcc_box_iou(const dlcc_box *a, const dlcc_box *b) {
  double x1 = fmax(a->x1, b->x1), y1 = fmax(a->y1, b->y1);
  double x2 = fmin(a->x2, b->x2), y2 = fmin(a->y2, b->y2);
  double w = fmax(0.0, x2 - x1), h = fmax(0.0, y2 - y1);
  double inter = w * h;
  double denom = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
  if (denom == 0 || isnan(denom)) return 0;
  return inter / denom;
}

bool dlcc_ellipse_fit(const double *pose, int num_joints, const unsigned char *use_joint, double sd,
                      dlcc_ellipse *e) {
  int n = 0;
  double sx = 0, sy = 0;
  for (int j = 0; j < num_joints; j++) {
    double x = pose[3 * j], y = pose[3 * j + 1];
    if (!joint_used(use_joint, j) || !isfinite(x) || !isfinite(y)) continue;
    n++;
    sx += x;
    sy += y;
  }
  if (n < 3) return false;
  double mx = sx / n, my = sy / n;
  double cxx = 0, cxy = 0, cyy = 0;
  for (int j = 0; j < num_joints; j++) {
    double x = pose[3 * j], y = pose[3 * j + 1];
    if (!joint_used(use_joint, j) || !isfinite(x) || !isfinite(y)) continue;
    double dx = x - mx, dy = y - my;
    cxx += dx * dx;
    cxy += dx * dy;
    cyy += dy * dy;
  }
  cxx /= n - 1;
  cxy /= n - 1;
  cyy /= n - 1;
  /* Eigenvalues of the 2x2 symmetric covariance; the major axis's angle is half the angle of
   * (cxx - cyy, 2 cxy). With cxy = 0 LAPACK's eigh returns the axis vectors, so an isotropic spread
   * gets the y axis (pi/2) as its major axis: kept here. */
  double half_trace = 0.5 * (cxx + cyy);
  double radius = hypot(0.5 * (cxx - cyy), cxy);
  double major = half_trace + radius, minor = half_trace - radius;
  double theta;
  if (cxy == 0)
    theta = cxx > cyy ? 0.0 : M_PI / 2;
  else
    theta = 0.5 * atan2(2 * cxy, cxx - cyy);
  if (theta < 0) theta += M_PI;
  if (theta >= M_PI) theta -= M_PI;
  dlcc_ellipse out = {mx, my, 2 * sd * sqrt(major), 2 * sd * sqrt(minor), theta};
  if (isnan(out.x) || isnan(out.y) || isnan(out.width) || isnan(out.height) || isnan(out.theta)) return false;
  *e = out;
  return true;
}

double dlcc_ellipse_similarity(const dlcc_ellipse *a, const dlcc_ellipse *b) {
  double longest = fmax(fmax(a->height, a->width), fmax(b->height, b->width));
  if (longest == 0) longest = 1;
  double dist = sqrt((a->x - b->x) * (a->x - b->x) + (a->y - b->y) * (a->y - b->y));
  double closeness = 1 - fmin(dist / longest, 1.0);
  double alignment = fabs(cos(a->theta - b->theta));
  return 0.8 * closeness + 0.2 * alignment * closeness;
}

/* ---- Kalman filter ---------------------------------------------------------------------------- */

#define KF_MAX_X 10
#define KF_MAX_Z 5

/* The model shared by all trackers of one kind. Measurements are the first dim_z state entries
 * (H = [I 0] for both of DeepLabCut's trackers). */
typedef struct kf_model {
  int dim_x, dim_z;
  double F[KF_MAX_X * KF_MAX_X];
  double Q[KF_MAX_X * KF_MAX_X];
  double R[KF_MAX_Z * KF_MAX_Z];
  double P0[KF_MAX_X * KF_MAX_X];   /* covariance of a new tracker */
} kf_model;

/* out (r x c) = a (r x k) * b (k x c); out must not alias a or b. */
static void mat_mul(const double *a, const double *b, int r, int k, int c, double *out) {
  for (int i = 0; i < r; i++)
    for (int j = 0; j < c; j++) {
      double s = 0;
      for (int l = 0; l < k; l++) s += a[i * k + l] * b[l * c + j];
      out[i * c + j] = s;
    }
}

static void mat_transpose(const double *a, int r, int c, double *out) {
  for (int i = 0; i < r; i++)
    for (int j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
}

/* Inverts the n x n matrix a into inv by Gauss-Jordan elimination with partial pivoting; false when
 * singular. a is destroyed. */
static bool mat_invert(double *a, int n, double *inv) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) inv[i * n + j] = i == j;
  for (int col = 0; col < n; col++) {
    int pivot = col;
    for (int r = col + 1; r < n; r++)
      if (fabs(a[r * n + col]) > fabs(a[pivot * n + col])) pivot = r;
    if (a[pivot * n + col] == 0 || isnan(a[pivot * n + col])) return false;
    if (pivot != col)
      for (int j = 0; j < n; j++) {
        double t = a[col * n + j];
        a[col * n + j] = a[pivot * n + j];
        a[pivot * n + j] = t;
        t = inv[col * n + j];
        inv[col * n + j] = inv[pivot * n + j];
        inv[pivot * n + j] = t;
      }
    double d = a[col * n + col];
    for (int j = 0; j < n; j++) {
      a[col * n + j] /= d;
      inv[col * n + j] /= d;
    }
    for (int r = 0; r < n; r++) {
      if (r == col || a[r * n + col] == 0) continue;
      double f = a[r * n + col];
      for (int j = 0; j < n; j++) {
        a[r * n + j] -= f * a[col * n + j];
        inv[r * n + j] -= f * inv[col * n + j];
      }
    }
  }
  return true;
}

static void kf_predict(const kf_model *m, double *x, double *P) {
  int n = m->dim_x;
  double fx[KF_MAX_X], fp[KF_MAX_X * KF_MAX_X], ft[KF_MAX_X * KF_MAX_X];
  mat_mul(m->F, x, n, n, 1, fx);
  memcpy(x, fx, (size_t)n * sizeof *x);
  mat_mul(m->F, P, n, n, n, fp);
  mat_transpose(m->F, n, n, ft);
  mat_mul(fp, ft, n, n, n, P);
  for (int k = 0; k < n * n; k++) P[k] += m->Q[k];
}

/* The update of filterpy's KalmanFilter: y = z - Hx, S = HPH' + R, K = PH'S^-1, x += Ky,
 * P = (I - KH) P (I - KH)' + KRK'. A singular S (never with DeepLabCut's R) leaves P and x as NaN,
 * which removes the tracker at its next prediction. */
static void kf_update(const kf_model *m, double *x, double *P, const double *z) {
  int n = m->dim_x, nz = m->dim_z;
  double H[KF_MAX_Z * KF_MAX_X] = {0};
  for (int i = 0; i < nz; i++) H[i * n + i] = 1;
  double Ht[KF_MAX_X * KF_MAX_Z], PHt[KF_MAX_X * KF_MAX_Z], S[KF_MAX_Z * KF_MAX_Z], Sinv[KF_MAX_Z * KF_MAX_Z];
  mat_transpose(H, nz, n, Ht);
  mat_mul(P, Ht, n, n, nz, PHt);
  mat_mul(H, PHt, nz, n, nz, S);
  for (int k = 0; k < nz * nz; k++) S[k] += m->R[k];
  if (!mat_invert(S, nz, Sinv)) {
    for (int k = 0; k < n; k++) x[k] = NAN;
    return;
  }
  double K[KF_MAX_X * KF_MAX_Z];
  mat_mul(PHt, Sinv, n, nz, nz, K);
  double y[KF_MAX_Z];
  for (int i = 0; i < nz; i++) y[i] = z[i] - x[i];
  double ky[KF_MAX_X];
  mat_mul(K, y, n, nz, 1, ky);
  for (int i = 0; i < n; i++) x[i] += ky[i];
  double ikh[KF_MAX_X * KF_MAX_X], kh[KF_MAX_X * KF_MAX_X];
  mat_mul(K, H, n, nz, n, kh);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) ikh[i * n + j] = (i == j) - kh[i * n + j];
  double tmp[KF_MAX_X * KF_MAX_X], ikht[KF_MAX_X * KF_MAX_X], joseph[KF_MAX_X * KF_MAX_X];
  mat_mul(ikh, P, n, n, n, tmp);
  mat_transpose(ikh, n, n, ikht);
  mat_mul(tmp, ikht, n, n, n, joseph);
  double kr[KF_MAX_X * KF_MAX_Z], kt[KF_MAX_Z * KF_MAX_X], krk[KF_MAX_X * KF_MAX_X];
  mat_mul(K, m->R, n, nz, nz, kr);
  mat_transpose(K, n, nz, kt);
  mat_mul(kr, kt, n, nz, n, krk);
  for (int k = 0; k < n * n; k++) P[k] = joseph[k] + krk[k];
}

static void set_diag(double *a, int n, const double *diag) {
  memset(a, 0, (size_t)n * (size_t)n * sizeof *a);
  for (int i = 0; i < n; i++) a[i * n + i] = diag[i];
}

/* BoxTracker: state (cx, cy, s = area, r = aspect w/h, vx, vy, vs); the aspect has no velocity.
 * R = diag(1, 1, 10, 10); P0 = 10 diag(1, 1, 1, 1, 1000, 1000, 1000); Q = diag(1, 1, 1, 1, 0.01,
 * 0.01, 0.0001). */
static void box_model(kf_model *m) {
  *m = (kf_model){.dim_x = 7, .dim_z = 4};
  static const double r[4] = {1, 1, 10, 10};
  static const double p0[7] = {10, 10, 10, 10, 10000, 10000, 10000};
  static const double q[7] = {1, 1, 1, 1, 0.01, 0.01, 0.0001};
  set_diag(m->F, 7, (const double[7]){1, 1, 1, 1, 1, 1, 1});
  m->F[0 * 7 + 4] = m->F[1 * 7 + 5] = m->F[2 * 7 + 6] = 1;
  set_diag(m->R, 4, r);
  set_diag(m->P0, 7, p0);
  set_diag(m->Q, 7, q);
}

/* EllipseTracker: filterpy's kinematic_kf(5, order 1, order_by_dim=False): state (x, y, width,
 * height, theta, and their five velocities), F = [[I, I], [0, I]]. R = diag(1, 1, 10, 10, 10);
 * P0 = 10 diag(1 x5, 1000 x5); Q = diag(1 x5, 0.01 x5). */
static void ellipse_model(kf_model *m) {
  *m = (kf_model){.dim_x = 10, .dim_z = 5};
  static const double r[5] = {1, 1, 10, 10, 10};
  static const double p0[10] = {10, 10, 10, 10, 10, 10000, 10000, 10000, 10000, 10000};
  static const double q[10] = {1, 1, 1, 1, 1, 0.01, 0.01, 0.01, 0.01, 0.01};
  static const double ones[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  set_diag(m->F, 10, ones);
  for (int i = 0; i < 5; i++) m->F[i * 10 + 5 + i] = 1;
  set_diag(m->R, 5, r);
  set_diag(m->P0, 10, p0);
  set_diag(m->Q, 10, q);
}

/* convert_bbox_to_z: centre, area, aspect (w / h: inf or NaN for a box of zero height, as numpy
 * gives; such a tracker's state turns NaN and it is dropped at its next prediction). */
static void box_to_z(const dlcc_box *b, double *z) {
  double w = b->x2 - b->x1, h = b->y2 - b->y1;
  z[0] = b->x1 + w / 2.0;
  z[1] = b->y1 + h / 2.0;
  z[2] = w * h;
  z[3] = w / h;
}

/* convert_x_to_bbox. */
static dlcc_box box_from_state(const double *x) {
  double w = sqrt(x[2] * x[3]);
  double h = x[2] / w;
  return (dlcc_box){x[0] - w / 2.0, x[1] - h / 2.0, x[0] + w / 2.0, x[1] + h / 2.0};
}

/* ---- Trackers --------------------------------------------------------------------------------- */

typedef struct target {
  int id;
  int time_since_update, hits, hit_streak, age;
  int animal;             /* the animal matched or started from in this frame, -1 when none */
  double x[KF_MAX_X];
  double P[KF_MAX_X * KF_MAX_X];
} target;

typedef struct detection {
  int animal;
  double z[KF_MAX_Z];     /* box: x1, y1, x2, y2 for IoU; ellipse: its five parameters */
} detection;

struct dlcc_tracker {
  dlcc_tracker_params params;
  int num_joints;
  unsigned char *use_joint;   /* NULL: all */
  kf_model model;
  int n_frames;               /* frames tracked (skipped frames do not count), SORT's frame_count */
  int next_id;
  int last_frame;
  bool any_frame;

  target *targets;
  int n_targets, cap_targets;
  detection *dets;
  int cap_dets;
  double *shapes;             /* per target its predicted shape (5 values) */
  double *cost;               /* dets x targets, negated similarity */
  size_t cap_cost;
  int *det_to_target, *unmatched;
  unsigned char *target_matched;
  dlcc_assignment assignment;
};

void dlcc_tracker_params_default(dlcc_tracker_params *p, dlcc_track_method method) {
  *p = (dlcc_tracker_params){
      .method = method, .max_age = 1, .min_hits = 1, .iou_threshold = 0.6, .box_slack = 0, .ellipse_sd = 2};
}

dlcc_status dlcc_tracker_create(const dlcc_tracker_params *p, int num_joints, const unsigned char *use_joint,
                                dlcc_tracker **out, dlcc_error *err) {
  *out = NULL;
  if (p->method != DLCC_TRACK_BOX && p->method != DLCC_TRACK_ELLIPSE)
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "tracker: unknown track method %d (box and ellipse are supported)",
                     (int)p->method);
  if (num_joints < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "tracker: num_joints is %d, must be >= 1", num_joints);
  if (p->max_age < 0 || p->min_hits < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "tracker: max_age (%d) and min_hits (%d) must be >= 0", p->max_age,
                     p->min_hits);
  if (!isfinite(p->iou_threshold) || !isfinite(p->box_slack) || !(p->ellipse_sd > 0))
    return dlcc_fail(err, DLCC_ERR_INVALID, "tracker: iou_threshold and boundingboxslack must be numbers and the "
                                            "ellipse's sd > 0");
  dlcc_tracker *t = calloc(1, sizeof *t);
  if (!t) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
  t->params = *p;
  t->num_joints = num_joints;
  if (use_joint) {
    t->use_joint = malloc((size_t)num_joints);
    if (!t->use_joint) {
      free(t);
      return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    }
    memcpy(t->use_joint, use_joint, (size_t)num_joints);
  }
  if (p->method == DLCC_TRACK_BOX)
    box_model(&t->model);
  else
    ellipse_model(&t->model);
  dlcc_assignment_init(&t->assignment);
  *out = t;
  return DLCC_OK;
}

void dlcc_tracker_free(dlcc_tracker *t) {
  if (!t) return;
  free(t->use_joint);
  free(t->targets);
  free(t->dets);
  free(t->shapes);
  free(t->cost);
  free(t->det_to_target);
  free(t->unmatched);
  free(t->target_matched);
  dlcc_assignment_free(&t->assignment);
  free(t);
}

int dlcc_tracker_live_count(const dlcc_tracker *t) {
  return t->n_targets;
}

int dlcc_tracker_ids_used(const dlcc_tracker *t) {
  return t->next_id;
}

static dlcc_status reserve(dlcc_tracker *t, int n_dets, int n_targets, dlcc_error *err) {
  if (n_dets > t->cap_dets) {
    detection *d = realloc(t->dets, (size_t)n_dets * sizeof *d);
    if (!d) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    t->dets = d;
    int *a = realloc(t->det_to_target, (size_t)n_dets * sizeof *a);
    if (!a) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    t->det_to_target = a;
    int *u = realloc(t->unmatched, (size_t)n_dets * sizeof *u);
    if (!u) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    t->unmatched = u;
    t->cap_dets = n_dets;
  }
  if (n_targets > t->cap_targets) {
    target *g = realloc(t->targets, (size_t)n_targets * sizeof *g);
    if (!g) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    t->targets = g;
    double *s = realloc(t->shapes, (size_t)n_targets * 5 * sizeof *s);
    if (!s) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    t->shapes = s;
    unsigned char *m = realloc(t->target_matched, (size_t)n_targets);
    if (!m) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    t->target_matched = m;
    t->cap_targets = n_targets;
  }
  size_t cells = (size_t)n_dets * (size_t)n_targets;
  if (cells > t->cap_cost) {
    double *c = realloc(t->cost, cells * sizeof *c);
    if (!c) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (tracker)");
    t->cost = c;
    t->cap_cost = cells;
  }
  return DLCC_OK;
}

static bool pose_has_point(const double *pose, int num_joints) {
  for (int j = 0; j < num_joints; j++)
    if (!isnan(pose[3 * j]) && !isnan(pose[3 * j + 1])) return true;
  return false;
}

/* The similarity of a detection and a tracker's predicted shape. The box tracker fills a float32
 * matrix in DeepLabCut, so its IoU is rounded to float before the threshold compares it. */
static double similarity(const dlcc_tracker *t, const detection *d, const double *shape) {
  if (t->params.method == DLCC_TRACK_BOX) {
    dlcc_box a = {d->z[0], d->z[1], d->z[2], d->z[3]}, b = {shape[0], shape[1], shape[2], shape[3]};
    return (double)(float)dlcc_box_iou(&a, &b);
  }
  dlcc_ellipse a = {d->z[0], d->z[1], d->z[2], d->z[3], d->z[4]};
  dlcc_ellipse b = {shape[0], shape[1], shape[2], shape[3], shape[4]};
  return dlcc_ellipse_similarity(&a, &b);
}

/* Predicts a target one frame ahead (BaseTracker.predict, with BoxTracker's guard against a negative
 * area) and writes its predicted shape; false when the shape has a NaN. */
static bool predict_target(const dlcc_tracker *t, target *g, double *shape) {
  if (t->params.method == DLCC_TRACK_BOX && g->x[6] + g->x[2] <= 0) g->x[6] *= 0.0;
  kf_predict(&t->model, g->x, g->P);
  g->age++;
  if (g->time_since_update > 0) g->hit_streak = 0;
  g->time_since_update++;
  int n_shape;
  if (t->params.method == DLCC_TRACK_BOX) {
    dlcc_box b = box_from_state(g->x);
    shape[0] = b.x1, shape[1] = b.y1, shape[2] = b.x2, shape[3] = b.y2;
    n_shape = 4;
  } else {
    for (int k = 0; k < 5; k++) shape[k] = g->x[k];
    n_shape = 5;
  }
  for (int k = 0; k < n_shape; k++)
    if (isnan(shape[k])) return false;
  return true;
}

static void measurement(const dlcc_tracker *t, const detection *d, double *z) {
  if (t->params.method == DLCC_TRACK_BOX) {
    dlcc_box b = {d->z[0], d->z[1], d->z[2], d->z[3]};
    box_to_z(&b, z);
  } else {
    for (int k = 0; k < 5; k++) z[k] = d->z[k];
  }
}

dlcc_status dlcc_tracker_step(dlcc_tracker *t, int frame, const double *animals, int n_animals,
                              dlcc_tracklet_set *tracklets, int *tracklet_of_animal, dlcc_error *err) {
  if (n_animals < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "tracker: %d animals", n_animals);
  if (tracklets->num_joints != t->num_joints)
    return dlcc_fail(err, DLCC_ERR_INVALID, "tracker: the tracklet set holds poses of %d joints, the tracker %d",
                     tracklets->num_joints, t->num_joints);
  if (t->any_frame && frame <= t->last_frame)
    return dlcc_fail(err, DLCC_ERR_INVALID, "tracker: frame %d after frame %d (frames must increase)", frame,
                     t->last_frame);
  if (tracklet_of_animal)
    for (int a = 0; a < n_animals; a++) tracklet_of_animal[a] = -1;
  const int nj = t->num_joints;
  const size_t per_pose = (size_t)nj * 3;
  int n_present = 0;
  for (int a = 0; a < n_animals; a++) n_present += pose_has_point(animals + (size_t)a * per_pose, nj);
  if (n_present == 0) return DLCC_OK;
  t->any_frame = true;
  t->last_frame = frame;
  t->n_frames++;

  /* At most every detection starts a tracker: reserve for the worst case now. */
  dlcc_status st = reserve(t, n_animals, t->n_targets + n_animals, err);
  if (st) return st;

  /* Detections: the animals that make a shape, in animal order. */
  int n_dets = 0;
  for (int a = 0; a < n_animals; a++) {
    const double *pose = animals + (size_t)a * per_pose;
    if (!pose_has_point(pose, nj)) continue;
    detection *d = &t->dets[n_dets];
    d->animal = a;
    if (t->params.method == DLCC_TRACK_BOX) {
      dlcc_box b;
      if (!dlcc_box_from_pose(pose, nj, t->use_joint, t->params.box_slack, &b)) continue;
      d->z[0] = b.x1, d->z[1] = b.y1, d->z[2] = b.x2, d->z[3] = b.y2;
    } else {
      dlcc_ellipse e;
      if (!dlcc_ellipse_fit(pose, nj, t->use_joint, t->params.ellipse_sd, &e)) continue;
      d->z[0] = e.x, d->z[1] = e.y, d->z[2] = e.width, d->z[3] = e.height, d->z[4] = e.theta;
    }
    n_dets++;
  }

  /* Predict every tracker; those whose prediction is not a number are dropped. */
  int kept = 0;
  for (int g = 0; g < t->n_targets; g++) {
    if (!predict_target(t, &t->targets[g], &t->shapes[(size_t)kept * 5])) continue;
    if (kept != g) t->targets[kept] = t->targets[g];
    kept++;
  }
  t->n_targets = kept;
  const int n_targets = t->n_targets;

  /* Match: an optimal assignment maximising the summed similarity, then pairs below the threshold
   * are undone. Unmatched detections are listed as DeepLabCut lists them (left out by the
   * assignment first, then rejected by the threshold), which decides the ids of new trackers. */
  int n_unmatched = 0;
  for (int g = 0; g < n_targets; g++) t->target_matched[g] = 0;
  if (n_targets == 0) {
    for (int d = 0; d < n_dets; d++) t->det_to_target[d] = -1, t->unmatched[n_unmatched++] = d;
  } else {
    for (int d = 0; d < n_dets; d++)
      for (int g = 0; g < n_targets; g++)
        t->cost[(size_t)d * (size_t)n_targets + (size_t)g] = -similarity(t, &t->dets[d], &t->shapes[(size_t)g * 5]);
    st = dlcc_assignment_solve(&t->assignment, t->cost, n_dets, n_targets, false, t->det_to_target, err);
    if (st) return st;
    for (int d = 0; d < n_dets; d++)
      if (t->det_to_target[d] < 0) t->unmatched[n_unmatched++] = d;
    for (int d = 0; d < n_dets; d++) {
      int g = t->det_to_target[d];
      if (g < 0) continue;
      if (-t->cost[(size_t)d * (size_t)n_targets + (size_t)g] < t->params.iou_threshold) {
        t->det_to_target[d] = -1;
        t->unmatched[n_unmatched++] = d;
      } else {
        t->target_matched[g] = 1;
      }
    }
  }

  /* Update matched trackers. */
  for (int g = 0; g < n_targets; g++) t->targets[g].animal = -1;
  for (int d = 0; d < n_dets; d++) {
    int g = t->det_to_target[d];
    if (g < 0) continue;
    target *tg = &t->targets[g];
    double z[KF_MAX_Z];
    measurement(t, &t->dets[d], z);
    tg->time_since_update = 0;
    tg->hits++;
    tg->hit_streak++;
    kf_update(&t->model, tg->x, tg->P, z);
    tg->animal = t->dets[d].animal;
  }

  /* Start a tracker for each unmatched detection. */
  for (int k = 0; k < n_unmatched; k++) {
    const detection *d = &t->dets[t->unmatched[k]];
    target *tg = &t->targets[t->n_targets++];
    *tg = (target){.id = t->next_id++, .animal = d->animal};
    double z[KF_MAX_Z];
    measurement(t, d, z);
    for (int i = 0; i < t->model.dim_x; i++) tg->x[i] = i < t->model.dim_z ? z[i] : 0;
    memcpy(tg->P, t->model.P0, sizeof tg->P);
  }

  /* Report, newest tracker first (the order of SORT's output rows, which is also the order in which
   * DeepLabCut's dict of tracklets meets new ids), and retire trackers lost for more than max_age. */
  for (int g = t->n_targets - 1; g >= 0; g--) {
    target *tg = &t->targets[g];
    if (tg->time_since_update < 1 && (tg->hit_streak >= t->params.min_hits || t->n_frames <= t->params.min_hits) &&
        tg->animal >= 0) {
      st = dlcc_tracklet_set_append(tracklets, tg->id, frame, animals + (size_t)tg->animal * per_pose, err);
      if (st) return st;
      if (tracklet_of_animal) tracklet_of_animal[tg->animal] = tg->id;
    }
    if (tg->time_since_update > t->params.max_age) {
      memmove(&t->targets[g], &t->targets[g + 1], (size_t)(t->n_targets - g - 1) * sizeof *t->targets);
      t->n_targets--;
    }
  }
  return DLCC_OK;
}
