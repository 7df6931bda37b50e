/* Tests of src/track (the assignment solver has tests/test_assignment.c): the shapes' IoU, ellipse
 * fit and similarity on hand-computed cases, the box and ellipse trackers on synthetic trajectories (a
 * crossing, an animal missing for some frames, a spurious detection, min_hits), and the stitcher
 * (tracklets broken at a crossing, residuals, the fallback when DeepLabCut's flow has no solution). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "track/stitch.h"
#include "track/trackers.h"

#define assert_double_equal(actual, expected, tolerance) \
  assert_double_near((actual), (expected), (tolerance), __FILE__, __LINE__)
static void assert_double_near(double actual, double expected, double tolerance, const char *file, int line) {
  if (!(fabs(actual - expected) <= tolerance))
    fail_msg("%s:%d: %.17g, want %.17g (tolerance %g)", file, line, actual, expected, tolerance);
}

/* ---- Shapes ----------------------------------------------------------------------------------- */

static void test_box_iou(void **state) {
  (void)state;
  /* Overlap 5 x 5 = 25, union 100 + 100 - 25 = 175: 1/7. */
  dlcc_box a = {0, 0, 10, 10}, b = {5, 5, 15, 15};
  assert_double_equal(dlcc_box_iou(&a, &b), 25.0 / 175.0, 1e-15);
  /* Inside: 4 x 4 = 16 over 100 + 16 - 16 = 100. */
  dlcc_box c = {2, 2, 6, 6};
  assert_double_equal(dlcc_box_iou(&a, &c), 0.16, 1e-15);
  /* Touching edges: no area in common. */
  dlcc_box d = {10, 0, 20, 10};
  assert_double_equal(dlcc_box_iou(&a, &d), 0, 0);
  /* Two points: DeepLabCut divides 0 by 0; 0 here. */
  dlcc_box p = {1, 1, 1, 1};
  assert_double_equal(dlcc_box_iou(&p, &p), 0, 0);
  assert_double_equal(dlcc_box_iou(&a, &a), 1, 0);

  /* The box of (1, 2), (4, 8) and a missing joint; with slack 10 on every side. */
  const double pose[9] = {1, 2, 0.9, NAN, NAN, NAN, 4, 8, 0.5};
  dlcc_box box;
  assert_true(dlcc_box_from_pose(pose, 3, NULL, 0, &box));
  assert_double_equal(box.x1, 1, 0);
  assert_double_equal(box.y1, 2, 0);
  assert_double_equal(box.x2, 4, 0);
  assert_double_equal(box.y2, 8, 0);
  assert_true(dlcc_box_from_pose(pose, 3, NULL, 10, &box));
  assert_double_equal(box.x1, -9, 0);
  assert_double_equal(box.y2, 18, 0);
  /* Only joint 2 used. */
  const unsigned char use[3] = {0, 0, 1};
  assert_true(dlcc_box_from_pose(pose, 3, use, 0, &box));
  assert_double_equal(box.x1, 4, 0);
  assert_double_equal(box.x2, 4, 0);
  const unsigned char none[3] = {0, 1, 0};
  assert_false(dlcc_box_from_pose(pose, 3, none, 0, &box));
}

static void test_ellipse_fit(void **state) {
  (void)state;
  /* DeepLabCut's test points (-2, 0), (2, 0), (0, 1), (0, -1): mean (0, 0); sample covariance
   * (n - 1 = 3): var x = (4 + 4) / 3 = 8/3, var y = (1 + 1) / 3 = 2/3, cov 0. sd = 2: width =
   * 2 * 2 * sqrt(8/3) = 6.5319726..., height = 4 sqrt(2/3) = 3.2659863..., theta = 0. */
  const double flat[12] = {-2, 0, 1, 2, 0, 1, 0, 1, 1, 0, -1, 1};
  dlcc_ellipse e;
  assert_true(dlcc_ellipse_fit(flat, 4, NULL, 2, &e));
  assert_double_equal(e.x, 0, 0);
  assert_double_equal(e.y, 0, 0);
  assert_double_equal(e.width, 4 * sqrt(8.0 / 3), 1e-12);
  assert_double_equal(e.height, 4 * sqrt(2.0 / 3), 1e-12);
  assert_double_equal(e.theta, 0, 0);
  /* The same turned by 90 degrees: the major axis along y, theta = pi/2. */
  const double tall[12] = {0, -2, 1, 0, 2, 1, 1, 0, 1, -1, 0, 1};
  assert_true(dlcc_ellipse_fit(tall, 4, NULL, 2, &e));
  assert_double_equal(e.theta, M_PI / 2, 1e-15);
  assert_double_equal(e.width, 4 * sqrt(8.0 / 3), 1e-12);
  /* (-2, -2), (2, 2), (-1, 1), (1, -1): var x = var y = (4 + 4 + 1 + 1) / 3 = 10/3, cov =
   * (4 + 4 - 1 - 1) / 3 = 2; eigenvalues 10/3 +- 2 = 16/3 and 4/3 along the diagonals, so theta =
   * pi/4, width = 4 sqrt(16/3) = 9.2376..., height = 4 sqrt(4/3) = 4.6188... Offset by (10, 20), and
   * a fifth joint missing. */
  const double diagonal[15] = {8, 18, 1, 12, 22, 1, 9, 21, 1, 11, 19, 1, NAN, NAN, NAN};
  assert_true(dlcc_ellipse_fit(diagonal, 5, NULL, 2, &e));
  assert_double_equal(e.x, 10, 1e-12);
  assert_double_equal(e.y, 20, 1e-12);
  assert_double_equal(e.theta, M_PI / 4, 1e-12);
  assert_double_equal(e.width, 4 * sqrt(16.0 / 3), 1e-12);
  assert_double_equal(e.height, 4 * sqrt(4.0 / 3), 1e-12);
  /* sd = 1 halves the axes. */
  assert_true(dlcc_ellipse_fit(diagonal, 5, NULL, 1, &e));
  assert_double_equal(e.width, 2 * sqrt(16.0 / 3), 1e-12);
  /* Fewer than three points (joint 3 left out, joint 4 missing): no ellipse. */
  const unsigned char use[5] = {1, 1, 1, 0, 1};
  assert_true(dlcc_ellipse_fit(diagonal, 5, use, 2, &e));
  const unsigned char two[5] = {1, 1, 0, 0, 1};
  assert_false(dlcc_ellipse_fit(diagonal, 5, two, 2, &e));
}

static void test_ellipse_similarity(void **state) {
  (void)state;
  dlcc_ellipse a = {0, 0, 4, 2, 0};
  /* Itself: 0.8 + 0.2 = 1 (DeepLabCut's test). */
  assert_double_equal(dlcc_ellipse_similarity(&a, &a), 1, 0);
  /* Centres 1 apart, longest axis 4: c = 1 - 1/4 = 0.75; |cos(pi/3)| = 0.5:
   * 0.8 * 0.75 + 0.2 * 0.5 * 0.75 = 0.6 + 0.075 = 0.675. */
  dlcc_ellipse b = {1, 0, 4, 2, M_PI / 3};
  assert_double_equal(dlcc_ellipse_similarity(&a, &b), 0.675, 1e-15);
  /* Centres (3, 4) apart = 5, longest axis 10 (b's): c = 0.5; perpendicular: 0.8 * 0.5 = 0.4. */
  dlcc_ellipse c = {3, 4, 10, 1, M_PI / 2};
  assert_double_equal(dlcc_ellipse_similarity(&a, &c), 0.4, 1e-15);
  /* Farther than the longest axis: 0. */
  dlcc_ellipse d = {5, 0, 4, 2, 0};
  assert_double_equal(dlcc_ellipse_similarity(&a, &d), 0, 0);
  /* Two points (all axes 0): the longest axis counts as 1; centres 0.5 apart: c = 0.5, aligned:
   * 0.8 * 0.5 + 0.2 * 0.5 = 0.5. */
  dlcc_ellipse p = {0, 0, 0, 0, 0}, q = {0.5, 0, 0, 0, 0};
  assert_double_equal(dlcc_ellipse_similarity(&p, &q), 0.5, 1e-15);
}

/* ---- Trackers --------------------------------------------------------------------------------- */

/* A 24 x 12 body of five joints around its centre (its ellipse: var x = 4 * 144 / 4 = 144, var y =
 * 36, so 48 x 24, theta 0). */
#define NJ 5
static const double body[NJ][2] = {{-12, -6}, {12, -6}, {12, 6}, {-12, 6}, {0, 0}};

static void put_animal(double *pose, double cx, double cy) {
  for (int j = 0; j < NJ; j++) {
    pose[3 * j] = cx + body[j][0];
    pose[3 * j + 1] = cy + body[j][1];
    pose[3 * j + 2] = 0.9;
  }
}

static dlcc_tracker *make_tracker(dlcc_track_method method, int max_age, int min_hits) {
  dlcc_tracker_params p;
  dlcc_tracker_params_default(&p, method);
  assert_int_equal(p.max_age, 1);
  assert_int_equal(p.min_hits, 1);
  assert_double_equal(p.iou_threshold, 0.6, 0);
  p.max_age = max_age;
  p.min_hits = min_hits;
  dlcc_tracker *t;
  dlcc_error err;
  assert_int_equal(dlcc_tracker_create(&p, NJ, NULL, &t, &err), DLCC_OK);
  return t;
}

/* Two animals crossing: A at (20 + 4f, 100) going right, B at (180 - 4f, 106) going left, both
 * centred at x = 100 on frame 20, their boxes then overlapping by 24 x 6 (IoU 144 / 432 = 1/3).
 * The animals are listed in swapped order on odd frames. Each keeps one tracklet of all 40 frames
 * (DeepLabCut's SORTBox and SORTEllipse give the same ids: 0 for A, 1 for B). */
static void crossing(dlcc_track_method method) {
  dlcc_tracker *t = make_tracker(method, 1, 1);
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  dlcc_error err;
  for (int f = 0; f < 40; f++) {
    double animals[2 * NJ * 3];
    int a = f % 2, b = 1 - a, ids[2];
    put_animal(animals + a * NJ * 3, 20 + 4 * f, 100);
    put_animal(animals + b * NJ * 3, 180 - 4 * f, 106);
    assert_int_equal(dlcc_tracker_step(t, f, animals, 2, &set, ids, &err), DLCC_OK);
    assert_int_equal(ids[a], 0);
    assert_int_equal(ids[b], 1);
  }
  assert_int_equal(set.count, 2);
  /* Frame 0 reports the newest tracker first, so tracklet 1 is met first (DeepLabCut's dict order). */
  assert_int_equal(set.items[0].id, 1);
  for (int id = 0; id < 2; id++) {
    const dlcc_tracklet *tr = dlcc_tracklet_set_find(&set, id);
    assert_non_null(tr);
    assert_int_equal(tr->length, 40);
    assert_int_equal(tr->frames[39], 39);
    /* Frame 25's pose of joint 4 (the centre): A at x = 120, B at x = 80. */
    assert_double_equal(tr->poses[(25 * NJ + 4) * 3], id == 0 ? 120 : 80, 0);
  }
  assert_int_equal(dlcc_tracker_ids_used(t), 2);
  dlcc_tracker_free(t);
  dlcc_tracklet_set_free(&set);
}

static void test_box_crossing(void **state) {
  (void)state;
  crossing(DLCC_TRACK_BOX);
}

static void test_ellipse_crossing(void **state) {
  (void)state;
  crossing(DLCC_TRACK_ELLIPSE);
}

/* A at (50 + 2f, 50), B at (300, 200 + f); B is missing on frame 10 (one frame) and on frames 20-22
 * (three). max_age 1 lets a tracker go one frame unmatched: B resumes its tracklet after frame 10
 * but starts a new one after frame 22, whose first frame (23) is not reported (a new tracker is
 * reported from its second match on, min_hits = 1, after the first min_hits frames). max_age 3
 * bridges both gaps. DeepLabCut's SORTBox and SORTEllipse give the same ids. */
static void disappearing(dlcc_track_method method) {
  for (int max_age = 1; max_age <= 3; max_age += 2) {
    dlcc_tracker *t = make_tracker(method, max_age, 1);
    dlcc_tracklet_set set;
    dlcc_tracklet_set_init(&set, NJ);
    dlcc_error err;
    for (int f = 0; f < 30; f++) {
      bool b_here = f != 10 && (f < 20 || f > 22);
      double animals[2 * NJ * 3];
      int ids[2];
      put_animal(animals, 50 + 2 * f, 50);
      if (b_here) put_animal(animals + NJ * 3, 300, 200 + f);
      assert_int_equal(dlcc_tracker_step(t, f, animals, b_here ? 2 : 1, &set, ids, &err), DLCC_OK);
      assert_int_equal(ids[0], 0);
      if (!b_here) continue;
      if (max_age == 1 && f == 23)
        assert_int_equal(ids[1], -1);
      else
        assert_int_equal(ids[1], max_age == 1 && f > 22 ? 2 : 1);
    }
    assert_int_equal(dlcc_tracklet_set_find(&set, 0)->length, 30);
    if (max_age == 1) {
      assert_int_equal(set.count, 3);
      assert_int_equal(dlcc_tracklet_set_find(&set, 1)->length, 19);   /* 0-9, 11-19 */
      assert_int_equal(dlcc_tracklet_set_find(&set, 2)->length, 6);    /* 24-29 */
      assert_int_equal(dlcc_tracklet_set_find(&set, 2)->frames[0], 24);
    } else {
      assert_int_equal(set.count, 2);
      assert_int_equal(dlcc_tracklet_set_find(&set, 1)->length, 26);
    }
    dlcc_tracker_free(t);
    dlcc_tracklet_set_free(&set);
  }
}

static void test_box_disappearing(void **state) {
  (void)state;
  disappearing(DLCC_TRACK_BOX);
}

static void test_ellipse_disappearing(void **state) {
  (void)state;
  disappearing(DLCC_TRACK_ELLIPSE);
}

/* Frames without any animal (none given, or only empty poses) are skipped as DeepLabCut skips frames
 * without assemblies: the tracker does not age, so a lone animal gone for 5 frames keeps its id
 * even with max_age 1. */
static void test_empty_frames_skipped(void **state) {
  (void)state;
  dlcc_tracker *t = make_tracker(DLCC_TRACK_ELLIPSE, 1, 1);
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  dlcc_error err;
  double empty[NJ * 3];
  for (int k = 0; k < NJ * 3; k++) empty[k] = NAN;
  for (int f = 0; f < 20; f++) {
    double animal[NJ * 3];
    int id = 7;
    put_animal(animal, 100 + f, 100);
    if (f >= 5 && f < 10)
      assert_int_equal(dlcc_tracker_step(t, f, f % 2 ? empty : animal, f % 2 ? 1 : 0, &set, &id, &err), DLCC_OK);
    else
      assert_int_equal(dlcc_tracker_step(t, f, animal, 1, &set, &id, &err), DLCC_OK);
    assert_int_equal(id, f >= 5 && f < 10 ? (f % 2 ? -1 : 7) : 0);
  }
  assert_int_equal(set.count, 1);
  assert_int_equal(set.items[0].length, 15);
  assert_int_equal(dlcc_tracker_ids_used(t), 1);
  /* Frames must increase. */
  double animal[NJ * 3];
  put_animal(animal, 0, 0);
  assert_int_equal(dlcc_tracker_step(t, 19, animal, 1, &set, NULL, &err), DLCC_ERR_INVALID);
  dlcc_tracker_free(t);
  dlcc_tracklet_set_free(&set);
}

/* A spurious detection on frame 7 only, far from the two animals: it starts a tracker (id 2 is used)
 * that is never reported, and that is retired once unmatched for more than max_age frames (as in
 * DeepLabCut's trackers). */
static void spurious(dlcc_track_method method) {
  dlcc_tracker *t = make_tracker(method, 1, 1);
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  dlcc_error err;
  for (int f = 0; f < 15; f++) {
    double animals[3 * NJ * 3];
    int ids[3];
    put_animal(animals, 50 + f, 50);
    put_animal(animals + NJ * 3, 200, 50 + f);
    int n = 2;
    if (f == 7) put_animal(animals + 2 * NJ * 3, 400, 400), n = 3;
    assert_int_equal(dlcc_tracker_step(t, f, animals, n, &set, ids, &err), DLCC_OK);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 1);
    if (n == 3) assert_int_equal(ids[2], -1);
    /* Live: 3 on frames 7 and 8 (unmatched once is allowed), 2 again from frame 9. */
    assert_int_equal(dlcc_tracker_live_count(t), f == 7 || f == 8 ? 3 : 2);
  }
  assert_int_equal(set.count, 2);
  assert_null(dlcc_tracklet_set_find(&set, 2));
  assert_int_equal(dlcc_tracker_ids_used(t), 3);
  dlcc_tracker_free(t);
  dlcc_tracklet_set_free(&set);
}

static void test_box_spurious(void **state) {
  (void)state;
  spurious(DLCC_TRACK_BOX);
}

static void test_ellipse_spurious(void **state) {
  (void)state;
  spurious(DLCC_TRACK_ELLIPSE);
}

/* min_hits 3: during the first 3 frames new trackers are reported at once; later a new animal
 * (from frame 5) is reported once its tracker has 3 consecutive matches: frame 5 starts it, frames
 * 6, 7 and 8 bring its hit streak to 1, 2, 3, so it is first reported on frame 8. */
static void test_min_hits(void **state) {
  (void)state;
  dlcc_tracker *t = make_tracker(DLCC_TRACK_BOX, 1, 3);
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  dlcc_error err;
  for (int f = 0; f < 12; f++) {
    double animals[2 * NJ * 3];
    int ids[2];
    put_animal(animals, 50 + f, 50);
    put_animal(animals + NJ * 3, 300, 300 + f);
    int n = f >= 5 ? 2 : 1;
    assert_int_equal(dlcc_tracker_step(t, f, animals, n, &set, ids, &err), DLCC_OK);
    /* A: new on frame 0 (reported: first frames), then matched: hit streak 1, 2 on frames 1, 2
     * (still within the first 3 frames), 3 from frame 3. */
    assert_int_equal(ids[0], 0);
    if (n == 2) assert_int_equal(ids[1], f >= 8 ? 1 : -1);
  }
  assert_int_equal(dlcc_tracklet_set_find(&set, 1)->length, 4);
  dlcc_tracker_free(t);
  dlcc_tracklet_set_free(&set);
}

/* Ellipses need three joints: an animal with two is not a detection (its tracklet id stays -1), and
 * use_joint restricts the shape to some joints while the tracklet keeps the whole pose. */
static void test_tracker_joints(void **state) {
  (void)state;
  dlcc_tracker_params p;
  dlcc_tracker_params_default(&p, DLCC_TRACK_ELLIPSE);
  const unsigned char use[NJ] = {1, 1, 1, 0, 0};
  dlcc_tracker *t;
  dlcc_error err;
  assert_int_equal(dlcc_tracker_create(&p, NJ, use, &t, &err), DLCC_OK);
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  double animals[2 * NJ * 3];
  put_animal(animals, 50, 50);
  put_animal(animals + NJ * 3, 200, 200);
  animals[NJ * 3 + 0] = animals[NJ * 3 + 1] = NAN;   /* B: joint 0 missing: 2 used joints left */
  int ids[2];
  assert_int_equal(dlcc_tracker_step(t, 0, animals, 2, &set, ids, &err), DLCC_OK);
  assert_int_equal(ids[0], 0);
  assert_int_equal(ids[1], -1);
  assert_double_equal(set.items[0].poses[3 * 4], 50, 0);   /* the unused centre joint is kept */
  dlcc_tracker_free(t);
  dlcc_tracklet_set_free(&set);
  /* Bad parameters. */
  p.ellipse_sd = 0;
  assert_int_equal(dlcc_tracker_create(&p, NJ, NULL, &t, &err), DLCC_ERR_INVALID);
  dlcc_tracker_params_default(&p, DLCC_TRACK_BOX);
  assert_int_equal(dlcc_tracker_create(&p, 0, NULL, &t, &err), DLCC_ERR_INVALID);
}

/* ---- Stitching -------------------------------------------------------------------------------- */

/* Appends frames [from, to] of an animal at (x0 + vx f, y) to tracklet id. */
static void add_run(dlcc_tracklet_set *set, int id, int from, int to, double x0, double vx, double y) {
  dlcc_error err;
  for (int f = from; f <= to; f++) {
    double pose[NJ * 3];
    put_animal(pose, x0 + vx * f, y);
    assert_int_equal(dlcc_tracklet_set_append(set, id, f, pose, &err), DLCC_OK);
  }
}

/* Whether track k holds the animal at (x0 + vx f, y) on frame f (its centre joint), or is empty. */
static void assert_track_at(const dlcc_tracks *t, int k, int f, double x0, double vx, double y) {
  const double *pose = dlcc_tracks_pose(t, k, f);
  if (isnan(x0)) {
    for (int j = 0; j < NJ * 3; j++)
      if (!isnan(pose[j])) fail_msg("track %d frame %d: want no pose, got joint value %g", k, f, pose[j]);
    return;
  }
  if (pose[3 * 4] != x0 + vx * f || pose[3 * 4 + 1] != y)
    fail_msg("track %d frame %d: centre (%g, %g), want (%g, %g)", k, f, pose[3 * 4], pose[3 * 4 + 1], x0 + vx * f, y);
}

/* A goes right along y = 100 (x = 20 + 4f), B left along y = 140 (x = 180 - 4f); they pass each
 * other at frame 20, where tracking broke: frames 18-22 are missing and after the crossing the
 * tracklets' ids are unrelated to before. Links (automatic max_gap: the smallest positive gap from
 * each tracklet is 23 - 17 = 6, so int(1.5 x 6) = 9) join frame 17 to frame 23 and cost int(100 x
 * the distance between the centroids): A(17) = (88, 100) to A(23) = (112, 100): 24 -> 2400;
 * A(17) to B(23) = (88, 140): 40 -> 3999 (DeepLabCut's likelihood-weighted centroids round 40 to
 * 39.99999999999999); B(17) = (112, 140) to A(23): 3999; B(17) to B(23): 2400. The least cost pairs A
 * with A and B with B (4800 against 7998); DeepLabCut's TrackletStitcher gives these tracks. */
static void build_crossing(dlcc_tracklet_set *set) {
  dlcc_tracklet_set_init(set, NJ);
  add_run(set, 0, 0, 17, 20, 4, 100);    /* A before */
  add_run(set, 1, 0, 17, 180, -4, 140);  /* B before */
  add_run(set, 2, 23, 59, 180, -4, 140); /* B after */
  add_run(set, 3, 23, 59, 20, 4, 100);   /* A after */
}

static void test_stitch_crossing(void **state) {
  (void)state;
  dlcc_tracklet_set set;
  build_crossing(&set);
  dlcc_stitch_params p;
  dlcc_stitch_params_default(&p, 2);
  assert_int_equal(p.min_length, 10);
  dlcc_tracks out;
  dlcc_error err;
  assert_int_equal(dlcc_stitch(&set, 64, &p, &out, &err), DLCC_OK);
  assert_int_equal(out.n_found, 2);
  assert_int_equal(out.max_gap, 9);
  assert_int_equal(out.n_tracklets, 4);
  assert_false(out.used_fallback);
  /* Tracks in the order of their first tracklet (by start, then as given): A first. */
  for (int f = 0; f < 64; f++) {
    bool seen = f <= 17 || (f >= 23 && f <= 59);
    assert_track_at(&out, 0, f, seen ? 20 : NAN, 4, 100);
    assert_track_at(&out, 1, f, seen ? 180 : NAN, -4, 140);
  }
  dlcc_tracks_free(&out);

  /* max_gap 3 forbids every link: four tracklets cannot make two tracks, DeepLabCut's flow has no
   * solution (and its fallback gives up: "Could not reconstruct 2 tracks"); dlcc's fallback (links
   * across any gap, the most frames covered, then the least cost) finds the same tracks. */
  p.max_gap = 3;
  assert_int_equal(dlcc_stitch(&set, 64, &p, &out, &err), DLCC_OK);
  assert_true(out.used_fallback);
  assert_int_equal(out.n_left_out, 0);
  for (int f = 0; f < 64; f += 7) {
    bool seen = f <= 17 || (f >= 23 && f <= 59);
    assert_track_at(&out, 0, f, seen ? 20 : NAN, 4, 100);
    assert_track_at(&out, 1, f, seen ? 180 : NAN, -4, 140);
  }
  dlcc_tracks_free(&out);
  dlcc_tracklet_set_free(&set);
}

/* Residuals: A's frames 19-20 (2 frames, below min_length) fit in the hole of both tracks; the track
 * whose centroid next to the hole is nearest takes it: the residual starts 2 frames after the hole's
 * left edge (<= 3), so that edge alone counts: A(17) = (88, 100) to A(19) = (96, 100): 8, against
 * B(17) = (112, 140): sqrt(16^2 + 40^2) = 43.1. A one-frame spurious tracklet on frame 40 is dropped,
 * and B's frames 61-63 (after the end of both tracks, 3 frames) fit both tracks: it would need a hole,
 * so it stays out. */
static void test_stitch_residuals(void **state) {
  (void)state;
  dlcc_tracklet_set set;
  build_crossing(&set);
  add_run(&set, 4, 19, 20, 20, 4, 100);
  add_run(&set, 5, 40, 40, 400, 0, 400);
  add_run(&set, 6, 61, 63, 180, -4, 140);
  dlcc_stitch_params p;
  dlcc_stitch_params_default(&p, 2);
  dlcc_tracks out;
  dlcc_error err;
  assert_int_equal(dlcc_stitch(&set, 64, &p, &out, &err), DLCC_OK);
  assert_false(out.used_fallback);
  assert_int_equal(out.n_residuals, 3);
  assert_int_equal(out.n_residuals_placed, 1);
  assert_track_at(&out, 0, 19, 20, 4, 100);
  assert_track_at(&out, 0, 20, 20, 4, 100);
  assert_track_at(&out, 1, 19, NAN, 0, 0);
  assert_track_at(&out, 0, 40, 20, 4, 100);
  assert_track_at(&out, 1, 40, 180, -4, 140);
  assert_track_at(&out, 1, 61, NAN, 0, 0);
  dlcc_tracks_free(&out);

  /* Without prestitching and with min_length 3, B's 61-63 is a tracklet of its own, to be chained after
   * A or B (both end on frame 59): from B(59) = (-56, 140) to B(61) = (-64, 140) is 8 px, from A(59) =
   * (256, 100) sqrt(320^2 + 40^2) = 322.5 px, so it goes to B (DeepLabCut: the same). */
  p.min_length = 3;
  p.prestitch_residuals = false;
  assert_int_equal(dlcc_stitch(&set, 64, &p, &out, &err), DLCC_OK);
  assert_int_equal(out.n_tracklets, 5);
  assert_track_at(&out, 1, 61, 180, -4, 140);
  assert_track_at(&out, 0, 61, NAN, 0, 0);
  dlcc_tracks_free(&out);
  dlcc_tracklet_set_free(&set);
}

/* More overlapping tracklets than tracks: a spurious 20-frame tracklet beside A and B (frames 10-29)
 * makes three at once, so no two paths cover everything; the fallback keeps the two chains that cover
 * the most frames (A and B, 60 each) and the spurious one, left out, fits no track. Fewer animals
 * than tracks: one animal and n_tracks 2 gives one track and an empty one. (DeepLabCut's own fallback
 * gives the same tracks in both cases.) */
static void test_stitch_fallback(void **state) {
  (void)state;
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  add_run(&set, 0, 0, 59, 20, 4, 100);
  add_run(&set, 1, 10, 29, 400, 0, 400);
  add_run(&set, 2, 0, 59, 180, -4, 140);
  dlcc_stitch_params p;
  dlcc_stitch_params_default(&p, 2);
  dlcc_tracks out;
  dlcc_error err;
  assert_int_equal(dlcc_stitch(&set, 60, &p, &out, &err), DLCC_OK);
  assert_true(out.used_fallback);
  assert_int_equal(out.n_left_out, 1);
  assert_int_equal(out.n_residuals_placed, 0);
  assert_int_equal(out.n_found, 2);
  for (int f = 0; f < 60; f++) {
    assert_track_at(&out, 0, f, 20, 4, 100);
    assert_track_at(&out, 1, f, 180, -4, 140);
  }
  dlcc_tracks_free(&out);
  dlcc_tracklet_set_free(&set);

  dlcc_tracklet_set_init(&set, NJ);
  add_run(&set, 9, 5, 30, 20, 4, 100);
  assert_int_equal(dlcc_stitch(&set, 40, &p, &out, &err), DLCC_OK);
  assert_true(out.used_fallback);
  assert_int_equal(out.n_found, 1);
  assert_track_at(&out, 0, 5, 20, 4, 100);
  assert_track_at(&out, 0, 4, NAN, 0, 0);
  for (int f = 0; f < 40; f++) assert_track_at(&out, 1, f, NAN, 0, 0);
  dlcc_tracks_free(&out);
  dlcc_tracklet_set_free(&set);
}

/* Frames whose joints are all NaN are dropped and split the tracklet; a gap splits it too (unless
 * split_tracklets is off); errors name what to change. */
static void test_stitch_split_and_errors(void **state) {
  (void)state;
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  add_run(&set, 0, 0, 11, 20, 4, 100);
  double nan_pose[NJ * 3];
  for (int k = 0; k < NJ * 3; k++) nan_pose[k] = NAN;
  dlcc_error err;
  assert_int_equal(dlcc_tracklet_set_append(&set, 0, 12, nan_pose, &err), DLCC_OK);
  add_run(&set, 0, 13, 30, 20, 4, 100);
  add_run(&set, 0, 35, 50, 20, 4, 100);
  assert_int_equal(dlcc_tracklet_set_append(&set, 0, 50, nan_pose, &err), DLCC_ERR_INVALID);
  dlcc_stitch_params p;
  dlcc_stitch_params_default(&p, 1);
  dlcc_tracks out;
  assert_int_equal(dlcc_stitch(&set, 51, &p, &out, &err), DLCC_OK);
  assert_int_equal(out.n_tracklets, 3);   /* 0-11, 13-30, 35-50 */
  assert_int_equal(out.n_found, 1);
  assert_track_at(&out, 0, 12, NAN, 0, 0);
  assert_track_at(&out, 0, 13, 20, 4, 100);
  assert_track_at(&out, 0, 50, 20, 4, 100);
  dlcc_tracks_free(&out);
  p.split_tracklets = false;
  assert_int_equal(dlcc_stitch(&set, 51, &p, &out, &err), DLCC_OK);
  assert_int_equal(out.n_tracklets, 1);
  dlcc_tracks_free(&out);

  p.min_length = 2;
  assert_int_equal(dlcc_stitch(&set, 51, &p, &out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "min_length");
  p.min_length = 40;   /* the pieces are 12, 18 and 16 frames long */
  p.split_tracklets = true;
  assert_int_equal(dlcc_stitch(&set, 51, &p, &out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "no tracklet is at least min_length = 40 frames long");
  p.min_length = 10;
  assert_int_equal(dlcc_stitch(&set, 50, &p, &out, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "outside the video's 50 frames");
  p.n_tracks = 0;
  assert_int_equal(dlcc_stitch(&set, 51, &p, &out, &err), DLCC_ERR_INVALID);
  dlcc_tracklet_set_free(&set);
}

/* The whole chain on the crossing with both animals unseen on frames 18-22: those frames are skipped
 * by the tracker (no ageing), so after the gap its one-step prediction misses the 24 px jump, new
 * trackers start on frame 23 (reported from 24), and stitching joins the four tracklets into the two
 * animals. */
static void pipeline(dlcc_track_method method) {
  dlcc_tracker *t = make_tracker(method, 1, 1);
  dlcc_tracklet_set set;
  dlcc_tracklet_set_init(&set, NJ);
  dlcc_error err;
  for (int f = 0; f < 60; f++) {
    double animals[2 * NJ * 3];
    int a = f % 2, b = 1 - a;
    put_animal(animals + a * NJ * 3, 20 + 4 * f, 100);
    put_animal(animals + b * NJ * 3, 180 - 4 * f, 140);
    bool seen = f < 18 || f > 22;
    assert_int_equal(dlcc_tracker_step(t, f, animals, seen ? 2 : 0, &set, NULL, &err), DLCC_OK);
  }
  assert_int_equal(set.count, 4);
  dlcc_stitch_params p;
  dlcc_stitch_params_default(&p, 2);
  dlcc_tracks out;
  assert_int_equal(dlcc_stitch(&set, 60, &p, &out, &err), DLCC_OK);
  assert_false(out.used_fallback);
  /* Track 0 starts with the tracklet met first on frame 0, B's (newest first). */
  for (int f = 0; f < 60; f++) {
    bool seen = f < 18 || f > 23;
    assert_track_at(&out, 0, f, seen ? 180 : NAN, -4, 140);
    assert_track_at(&out, 1, f, seen ? 20 : NAN, 4, 100);
  }
  dlcc_tracks_free(&out);
  dlcc_tracker_free(t);
  dlcc_tracklet_set_free(&set);
}

static void test_box_pipeline(void **state) {
  (void)state;
  pipeline(DLCC_TRACK_BOX);
}

static void test_ellipse_pipeline(void **state) {
  (void)state;
  pipeline(DLCC_TRACK_ELLIPSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_box_iou),
      cmocka_unit_test(test_ellipse_fit),
      cmocka_unit_test(test_ellipse_similarity),
      cmocka_unit_test(test_box_crossing),
      cmocka_unit_test(test_ellipse_crossing),
      cmocka_unit_test(test_box_disappearing),
      cmocka_unit_test(test_ellipse_disappearing),
      cmocka_unit_test(test_empty_frames_skipped),
      cmocka_unit_test(test_box_spurious),
      cmocka_unit_test(test_ellipse_spurious),
      cmocka_unit_test(test_min_hits),
      cmocka_unit_test(test_tracker_joints),
      cmocka_unit_test(test_stitch_crossing),
      cmocka_unit_test(test_stitch_residuals),
      cmocka_unit_test(test_stitch_fallback),
      cmocka_unit_test(test_stitch_split_and_errors),
      cmocka_unit_test(test_box_pipeline),
      cmocka_unit_test(test_ellipse_pipeline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
