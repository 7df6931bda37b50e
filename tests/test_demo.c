/* Tests of src/demo: the rendered scene (labels on the drawn parts, plausible steady bodies, animals
 * that meet, determinism) and the generated DeepLabCut project (files, bytes, labels, video). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "demo/demo_project.h"
#include "demo/render.h"
#include "image/image.h"
#include "project/labels.h"
#include "testutil.h"
#include "util/fileio.h"
#include "video/video.h"

/* A small scene and its frames, rendered once per test. */
typedef struct rendered {
  dlcc_demo_scene *scene;
  int width, height, animals, frames;
  dlcc_image image;
  uint8_t *mask;
  double *xy;  /* animals x parts x 2 */
} rendered;

static void rendered_open(rendered *r, int width, int height, int animals, int frames, uint64_t seed) {
  dlcc_error err;
  *r = (rendered){.width = width, .height = height, .animals = animals, .frames = frames};
  if (dlcc_demo_scene_create(&r->scene, width, height, animals, frames, seed, &err)) fail_msg("%s", err.message);
  assert_int_equal(dlcc_image_alloc(&r->image, width, height, &err), DLCC_OK);
  r->mask = malloc((size_t)width * height);
  r->xy = malloc(sizeof *r->xy * animals * DLCC_DEMO_PARTS * 2);
  assert_non_null(r->mask);
  assert_non_null(r->xy);
}

static void rendered_frame(rendered *r, int frame) {
  dlcc_demo_scene_render(r->scene, frame, &r->image, r->mask);
  dlcc_demo_scene_keypoints(r->scene, frame, r->xy);
}

static void rendered_close(rendered *r) {
  dlcc_demo_scene_free(r->scene);
  dlcc_image_free(&r->image);
  free(r->mask);
  free(r->xy);
}

static bool inside_image(const rendered *r, double x, double y) {
  return x >= 0 && y >= 0 && x <= r->width - 1 && y <= r->height - 1;
}

static const uint8_t *pixel_at(const rendered *r, double x, double y) {
  return &r->image.rgb[3 * ((size_t)lround(y) * r->width + (size_t)lround(x))];
}

static uint8_t mask_at(const rendered *r, double x, double y) {
  return r->mask[(size_t)lround(y) * r->width + (size_t)lround(x)];
}

static void test_every_keypoint_lies_on_its_animals_body(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 3, 40, 5);
  int checked = 0;
  for (int f = 0; f < r.frames; f++) {
    rendered_frame(&r, f);
    for (int k = 0; k < r.animals; k++)
      for (int j = 0; j < DLCC_DEMO_PARTS; j++) {
        double x = r.xy[(k * DLCC_DEMO_PARTS + j) * 2], y = r.xy[(k * DLCC_DEMO_PARTS + j) * 2 + 1];
        assert_true(dlcc_demo_scene_covers(r.scene, f, k, x, y));
        if (!inside_image(&r, x, y)) continue;
        /* on top at that pixel: this animal, or one drawn later over it */
        assert_true(mask_at(&r, x, y) >= k + 1);
        checked++;
      }
  }
  assert_true(checked > 0.9 * r.frames * r.animals * DLCC_DEMO_PARTS);
  rendered_close(&r);
}

/* Unoccluded snouts and ears are pink, tail bases dark fur, the floor light. */
static void test_keypoint_pixels_show_the_part_colours(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 2, 30, 11);
  int pink = 0, pink_total = 0, dark = 0, dark_total = 0;
  double floor_sum = 0, floor_n = 0;
  for (int f = 0; f < r.frames; f++) {
    rendered_frame(&r, f);
    for (int k = 0; k < r.animals; k++)
      for (int j = 0; j < DLCC_DEMO_PARTS; j++) {
        double x = r.xy[(k * DLCC_DEMO_PARTS + j) * 2], y = r.xy[(k * DLCC_DEMO_PARTS + j) * 2 + 1];
        if (!inside_image(&r, x, y) || mask_at(&r, x, y) != k + 1) continue;
        const uint8_t *p = pixel_at(&r, x, y);
        if (j == 3) dark_total++, dark += p[0] + p[1] + p[2] < 3 * 100;
        else pink_total++, pink += p[0] > p[1] + 20;
      }
    for (size_t i = 0; i < (size_t)r.width * r.height; i++)
      if (!r.mask[i]) floor_sum += r.image.rgb[3 * i + 1], floor_n++;
  }
  assert_true(pink_total > 100 && pink > 0.9 * pink_total);
  assert_true(dark_total > 30 && dark > 0.9 * dark_total);
  assert_true(floor_sum / floor_n > 140);
  rendered_close(&r);
}

static void test_snout_to_tailbase_is_plausible_and_steady(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 200, 160, 2, 120, 3);
  for (int k = 0; k < r.animals; k++) {
    double lo = INFINITY, hi = 0;
    for (int f = 0; f < r.frames; f++) {
      dlcc_demo_scene_keypoints(r.scene, f, r.xy);
      const double *snout = &r.xy[k * DLCC_DEMO_PARTS * 2], *tail = &r.xy[(k * DLCC_DEMO_PARTS + 3) * 2];
      double d = hypot(snout[0] - tail[0], snout[1] - tail[1]);
      lo = fmin(lo, d), hi = fmax(hi, d);
    }
    /* a mouse is about a fifth of the arena's smaller side (openfield: ~100 px of 480) */
    assert_true(lo > 0.15 * 160 && hi < 0.25 * 160);
    assert_true(hi / lo < 1.15);
  }
  rendered_close(&r);
}

/* No jumps from frame to frame, yet the animals travel and turn. */
static void test_animals_move_smoothly_and_explore(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 1, 150, 8);
  double prev[8], path = 0, max_step = 0, min_x = INFINITY, max_x = -INFINITY;
  for (int f = 0; f < r.frames; f++) {
    dlcc_demo_scene_keypoints(r.scene, f, r.xy);
    if (f > 0) {
      double step = hypot(r.xy[6] - prev[6], r.xy[7] - prev[7]);
      path += step;
      max_step = fmax(max_step, step);
    }
    min_x = fmin(min_x, r.xy[6]), max_x = fmax(max_x, r.xy[6]);
    memcpy(prev, r.xy, sizeof prev);
  }
  assert_true(max_step < 0.05 * 128);
  assert_true(path > 0.5 * 128);
  assert_true(max_x - min_x > 0.2 * 160);
  rendered_close(&r);
}

/* Several animals: some frame shows a pixel covered by two bodies (the later one on top). */
static void test_animals_touch_in_a_multi_animal_scene(void **state) {
  (void)state;
  rendered r;
  rendered_open(&r, 160, 128, 3, 60, 42);
  int touching_frames = 0;
  for (int f = 0; f < r.frames; f++) {
    rendered_frame(&r, f);
    bool touch = false;
    for (int y = 0; y < r.height && !touch; y++)
      for (int x = 0; x < r.width && !touch; x++) {
        int top = r.mask[(size_t)y * r.width + x] - 1;
        for (int k = 0; k < top && !touch; k++) touch = dlcc_demo_scene_covers(r.scene, f, k, x, y);
      }
    touching_frames += touch;
  }
  assert_true(touching_frames >= 3);
  rendered_close(&r);
}

static void test_rendering_is_reproducible_per_frame(void **state) {
  (void)state;
  rendered a, b, c;
  rendered_open(&a, 96, 64, 2, 10, 9);
  rendered_open(&b, 96, 64, 2, 10, 9);
  rendered_open(&c, 96, 64, 2, 10, 10);
  size_t bytes = (size_t)96 * 64 * 3;
  rendered_frame(&b, 7);  /* order of rendering does not matter */
  rendered_frame(&a, 5);
  rendered_frame(&b, 5);
  rendered_frame(&c, 5);
  assert_memory_equal(a.image.rgb, b.image.rgb, bytes);
  assert_memory_not_equal(a.image.rgb, c.image.rgb, bytes);
  uint8_t *frame5 = malloc(bytes);
  memcpy(frame5, a.image.rgb, bytes);
  rendered_frame(&a, 6);
  assert_memory_not_equal(frame5, a.image.rgb, bytes);  /* at least the sensor noise changes */
  free(frame5);
  rendered_close(&a);
  rendered_close(&b);
  rendered_close(&c);
}

static void test_scene_rejects_bad_sizes(void **state) {
  (void)state;
  dlcc_demo_scene *scene;
  dlcc_error err;
  assert_int_equal(dlcc_demo_scene_create(&scene, 16, 64, 1, 10, 1, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "16x64");
  assert_null(scene);
  assert_int_equal(dlcc_demo_scene_create(&scene, 64, 64, 0, 10, 1, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "choose 1 to 32");
}


/* ---- the project ---- */

static dlcc_demo_options small_options(int animals, int frames, int labeled, uint64_t seed) {
  dlcc_demo_options opt;
  dlcc_demo_options_default(&opt);
  opt.animals = animals;
  opt.frames = frames;
  opt.labeled = labeled;
  opt.seed = seed;
  opt.width = 128;
  opt.height = 96;
  return opt;
}

static char *project_file(const char *dir, const char *name) {
  char *path = dlcc_path_join(dir, name);
  assert_non_null(path);
  return path;
}

static void write_project(const char *dir, const dlcc_demo_options *opt) {
  dlcc_error err;
  if (dlcc_demo_project_write(dir, opt, &err)) fail_msg("%s", err.message);
}

/* The scalar under a top-level key of a YAML document (parsed with libyaml, so the text must be
 * valid YAML); NULL when the key is missing or holds a list or map. Caller frees. */
static char *yaml_top_scalar(const char *text, const char *key) {
  yaml_parser_t parser;
  yaml_event_t event;
  assert_true(yaml_parser_initialize(&parser));
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  int depth = 0;
  bool is_key = true, want = false, done = false;
  char *found = NULL;
  while (!done) {
    if (!yaml_parser_parse(&parser, &event)) fail_msg("invalid YAML: %s (line %zu)", parser.problem, parser.problem_mark.line + 1);
    switch (event.type) {
      case YAML_MAPPING_START_EVENT:
      case YAML_SEQUENCE_START_EVENT:
        if (depth == 1 && !is_key) is_key = true, want = false;
        depth++;
        break;
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT:
        depth--;
        break;
      case YAML_SCALAR_EVENT:
        if (depth != 1) break;
        if (!is_key && want && !found) found = strdup((const char *)event.data.scalar.value);
        if (is_key) want = !strcmp((const char *)event.data.scalar.value, key);
        is_key = !is_key;
        break;
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      default:
        break;
    }
    yaml_event_delete(&event);
  }
  yaml_parser_delete(&parser);
  return found;
}

static void assert_yaml_value(const char *text, const char *key, const char *expected) {
  char *value = yaml_top_scalar(text, key);
  if (!value) fail_msg("config.yaml has no scalar %s", key);
  assert_string_equal(value, expected);
  free(value);
}

static void assert_files_exist(const char *dir, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char *path = project_file(dir, names[i]);
    if (!dlcc_path_is_file(path)) fail_msg("missing %s", path);
    free(path);
  }
}

/* Every cell of a table equals the scene's keypoint on that row's frame, or is NaN exactly when the
 * keypoint lies outside the image; returns how many cells were outside. */
static int assert_table_matches_scene(const dlcc_label_table *t, const dlcc_demo_options *opt, const int *row_frames) {
  dlcc_demo_scene *scene;
  dlcc_error err;
  assert_int_equal(dlcc_demo_scene_create(&scene, opt->width, opt->height, opt->animals, opt->frames, opt->seed, &err), DLCC_OK);
  double *xy = malloc(sizeof *xy * opt->animals * DLCC_DEMO_PARTS * 2);
  int outside = 0;
  assert_int_equal(t->n_columns, (size_t)opt->animals * DLCC_DEMO_PARTS);
  for (size_t row = 0; row < t->n_rows; row++) {
    dlcc_demo_scene_keypoints(scene, row_frames[row], xy);
    for (size_t col = 0; col < t->n_columns; col++) {
      double x = xy[2 * col], y = xy[2 * col + 1];
      double tx = t->values[dlcc_label_index(t, row, col, 0)], ty = t->values[dlcc_label_index(t, row, col, 1)];
      if (x < 0 || y < 0 || x > opt->width - 1 || y > opt->height - 1) {
        assert_true(isnan(tx) && isnan(ty));
        outside++;
      } else {
        assert_true(tx == x && ty == y);  /* written as Python's repr: reads back exactly */
      }
    }
  }
  free(xy);
  dlcc_demo_scene_free(scene);
  return outside;
}

static void assert_columns(const dlcc_label_table *t, int animals) {
  for (int k = 0; k < animals; k++)
    for (int j = 0; j < DLCC_DEMO_PARTS; j++) {
      const dlcc_label_column *c = &t->columns[k * DLCC_DEMO_PARTS + j];
      assert_string_equal(c->bodypart, dlcc_demo_bodyparts[j]);
      if (animals == 1) {
        assert_null(c->individual);
      } else {
        char name[32];
        snprintf(name, sizeof name, "animal%d", k + 1);
        assert_string_equal(c->individual, name);
      }
    }
}

static void assert_collected_data(const char *dir, const dlcc_demo_options *opt, const int *labeled_frames) {
  char *path = project_file(dir, "labeled-data/demo/CollectedData_dlcc.csv");
  dlcc_label_table t;
  dlcc_error err;
  if (dlcc_labels_read(path, &t, &err)) fail_msg("%s", err.message);
  assert_string_equal(t.scorer, "dlcc");
  assert_int_equal(t.multianimal, opt->animals > 1);
  assert_int_equal(t.n_coords, 2);
  assert_int_equal(t.n_rows, (size_t)opt->labeled);
  for (int i = 0; i < opt->labeled; i++) {
    char name[64];
    snprintf(name, sizeof name, "labeled-data/demo/img%04d.png", labeled_frames[i]);
    assert_string_equal(t.row_names[i], name);
  }
  assert_columns(&t, opt->animals);
  assert_table_matches_scene(&t, opt, labeled_frames);
  dlcc_labels_free(&t);
  free(path);
}

static int assert_ground_truth(const char *dir, const dlcc_demo_options *opt) {
  char *path = project_file(dir, "ground-truth/demo_all_frames.csv");
  dlcc_label_table t;
  dlcc_error err;
  if (dlcc_labels_read(path, &t, &err)) fail_msg("%s", err.message);
  assert_int_equal(t.n_rows, (size_t)opt->frames);
  assert_int_equal(t.multianimal, opt->animals > 1);
  int *frames = malloc(sizeof *frames * opt->frames);
  for (int f = 0; f < opt->frames; f++) {
    char name[32];
    snprintf(name, sizeof name, "%d", f);
    assert_string_equal(t.row_names[f], name);
    frames[f] = f;
  }
  assert_columns(&t, opt->animals);
  int outside = assert_table_matches_scene(&t, opt, frames);
  free(frames);
  dlcc_labels_free(&t);
  free(path);
  return outside;
}

/* The labeled PNGs hold exactly the rendered frames. */
static void assert_pngs_are_rendered_frames(const char *dir, const dlcc_demo_options *opt, const int *labeled_frames) {
  rendered r;
  rendered_open(&r, opt->width, opt->height, opt->animals, opt->frames, opt->seed);
  for (int i = 0; i < opt->labeled; i++) {
    char name[64];
    snprintf(name, sizeof name, "labeled-data/demo/img%04d.png", labeled_frames[i]);
    char *path = project_file(dir, name);
    dlcc_image png;
    dlcc_error err;
    if (dlcc_image_load(path, &png, &err)) fail_msg("%s", err.message);
    rendered_frame(&r, labeled_frames[i]);
    assert_int_equal(png.width, opt->width);
    assert_memory_equal(png.rgb, r.image.rgb, (size_t)opt->width * opt->height * 3);
    dlcc_image_free(&png);
    free(path);
  }
  rendered_close(&r);
}

/* Mean absolute difference of 4x4-block averages: blind to sensor noise and to what compression
 * smooths, sensitive to where the animals are. */
static double block_difference(const dlcc_image *a, const dlcc_image *b) {
  double sum = 0;
  int blocks = 0;
  for (int by = 0; by + 4 <= a->height; by += 4)
    for (int bx = 0; bx + 4 <= a->width; bx += 4, blocks++)
      for (int c = 0; c < 3; c++) {
        int d = 0;
        for (int y = by; y < by + 4; y++)
          for (int x = bx; x < bx + 4; x++) {
            size_t i = 3 * ((size_t)y * a->width + x) + c;
            d += (int)a->rgb[i] - (int)b->rgb[i];
          }
        sum += fabs(d / 16.0);
      }
  return sum / (3.0 * blocks);
}

/* The video decodes to every frame, in order: each close to its rendered frame (lossy compression),
 * closer than to the one three frames away. */
static void assert_video_holds_the_frames(const char *dir, const dlcc_demo_options *opt) {
  char *path = project_file(dir, "videos/demo.mp4");
  dlcc_video_reader *reader;
  dlcc_video_info info;
  dlcc_error err;
  if (dlcc_video_reader_open(&reader, path, &info, &err)) fail_msg("%s", err.message);
  assert_int_equal(info.width, opt->width);
  assert_int_equal(info.height, opt->height);
  assert_true(fabs(info.fps - opt->fps) < 1e-9);
  rendered r;
  rendered_open(&r, opt->width, opt->height, opt->animals, opt->frames, opt->seed);
  dlcc_image frame = {0};
  bool done = false;
  int decoded = 0;
  while (true) {
    if (dlcc_video_reader_next(reader, &frame, &done, &err)) fail_msg("%s", err.message);
    if (done) break;
    assert_true(decoded < opt->frames);
    rendered_frame(&r, decoded + 3 < opt->frames ? decoded + 3 : decoded - 3);
    double to_neighbour = block_difference(&frame, &r.image);
    rendered_frame(&r, decoded++);
    double to_own = block_difference(&frame, &r.image);
    assert_true(to_own < 2 && to_own < to_neighbour);
  }
  assert_int_equal(decoded, opt->frames);
  dlcc_image_free(&frame);
  dlcc_video_reader_close(reader);
  rendered_close(&r);
  free(path);
}

static void test_single_animal_project_is_a_deeplabcut_project(void **state) {
  (void)state;
  char *dir = test_tempdir("demo1");
  dlcc_demo_options opt = small_options(1, 24, 6, 4);
  write_project(dir, &opt);
  const char *files[] = {"config.yaml", "videos/demo.mp4", "labeled-data/demo/CollectedData_dlcc.csv",
                         "labeled-data/demo/img0000.png", "labeled-data/demo/img0004.png",
                         "labeled-data/demo/img0020.png", "ground-truth/demo_all_frames.csv"};
  assert_files_exist(dir, files, sizeof files / sizeof *files);
  char *config_path = project_file(dir, "config.yaml");
  char *config = test_read_file(config_path, NULL);
  assert_yaml_value(config, "Task", "demo");
  assert_yaml_value(config, "scorer", "dlcc");
  assert_yaml_value(config, "date", "Jan1");
  assert_yaml_value(config, "multianimalproject", "false");
  assert_yaml_value(config, "project_path", dir);
  assert_yaml_value(config, "default_net_type", "resnet_50");
  assert_yaml_value(config, "iteration", "0");
  assert_yaml_value(config, "pcutoff", "0.6");
  assert_yaml_value(config, "batch_size", "8");
  assert_contains(config, "\nbodyparts:\n- snout\n- leftear\n- rightear\n- tailbase\n");
  assert_contains(config, "\nvideo_sets:\n  videos/demo.mp4:\n    crop: 0, 128, 0, 96\n");
  assert_contains(config, "\nTrainingFraction:\n- 0.95\n");
  assert_contains(config, "\nskeleton:\n- - snout\n  - leftear\n");
  const int labeled[] = {0, 4, 8, 12, 16, 20};
  assert_collected_data(dir, &opt, labeled);
  assert_ground_truth(dir, &opt);
  assert_pngs_are_rendered_frames(dir, &opt, labeled);
  assert_video_holds_the_frames(dir, &opt);
  free(config);
  free(config_path);
  test_rmtree(dir);
  free(dir);
}

static void test_three_animal_project_is_a_multi_animal_project(void **state) {
  (void)state;
  char *dir = test_tempdir("demo3");
  dlcc_demo_options opt = small_options(3, 20, 5, 42);
  write_project(dir, &opt);
  char *config_path = project_file(dir, "config.yaml");
  char *config = test_read_file(config_path, NULL);
  assert_yaml_value(config, "multianimalproject", "true");
  assert_yaml_value(config, "identity", "false");
  assert_yaml_value(config, "bodyparts", "MULTI!");
  assert_yaml_value(config, "default_net_type", "dlcrnet_ms5");
  assert_contains(config, "\nindividuals:\n- animal1\n- animal2\n- animal3\nuniquebodyparts: []\n"
                          "multianimalbodyparts:\n- snout\n- leftear\n- rightear\n- tailbase\n");
  char *csv_path = project_file(dir, "labeled-data/demo/CollectedData_dlcc.csv");
  char *csv = test_read_file(csv_path, NULL);
  assert_true(!strncmp(csv, "scorer,dlcc,dlcc,", 17));
  assert_contains(csv, "\nindividuals,animal1,animal1,animal1,animal1,animal1,animal1,animal1,animal1,animal2,");
  assert_contains(csv, "\nbodyparts,snout,snout,leftear,leftear,rightear,rightear,tailbase,tailbase,snout,");
  assert_contains(csv, "\ncoords,x,y,x,y,");
  const int labeled[] = {0, 4, 8, 12, 16};
  assert_collected_data(dir, &opt, labeled);
  assert_ground_truth(dir, &opt);
  assert_pngs_are_rendered_frames(dir, &opt, labeled);
  free(csv);
  free(csv_path);
  free(config);
  free(config_path);
  test_rmtree(dir);
  free(dir);
}

static const char *const PROJECT_FILES[] = {
    "config.yaml", "videos/demo.mp4", "labeled-data/demo/CollectedData_dlcc.csv", "labeled-data/demo/img0000.png",
    "labeled-data/demo/img0003.png", "ground-truth/demo_all_frames.csv"};
enum { N_PROJECT_FILES = sizeof PROJECT_FILES / sizeof *PROJECT_FILES };

/* Whether each project file of dir a has the same bytes as in dir b. */
static void compare_projects(const char *a, const char *b, bool same[N_PROJECT_FILES]) {
  for (int i = 0; i < N_PROJECT_FILES; i++) {
    char *pa = project_file(a, PROJECT_FILES[i]), *pb = project_file(b, PROJECT_FILES[i]);
    size_t la, lb;
    char *da = test_read_file(pa, &la), *db = test_read_file(pb, &lb);
    same[i] = la == lb && !memcmp(da, db, la);
    free(da);
    free(db);
    free(pa);
    free(pb);
  }
}

/* Written twice at the same place (project_path is in config.yaml), moving the first aside. */
static void test_same_seed_gives_the_same_bytes(void **state) {
  (void)state;
  char *root = test_tempdir("demoseed");
  char *dir = project_file(root, "p"), *first = project_file(root, "first"), *other = project_file(root, "other");
  dlcc_demo_options opt = small_options(2, 9, 3, 17);
  write_project(dir, &opt);
  assert_int_equal(rename(dir, first), 0);
  write_project(dir, &opt);
  bool same[N_PROJECT_FILES];
  compare_projects(first, dir, same);
  for (int i = 0; i < N_PROJECT_FILES; i++)
    if (!same[i]) fail_msg("%s differs between two runs with the same seed", PROJECT_FILES[i]);
  assert_int_equal(rename(dir, other), 0);
  opt.seed = 18;
  write_project(dir, &opt);
  compare_projects(first, dir, same);
  assert_true(same[0]);  /* config.yaml does not depend on the seed */
  for (int i = 1; i < N_PROJECT_FILES; i++)
    if (same[i]) fail_msg("%s is the same with another seed", PROJECT_FILES[i]);
  test_rmtree(root);
  free(dir);
  free(first);
  free(other);
  free(root);
}

/* A seed whose animal pokes its snout or an ear out of view: those cells are empty. */
static void test_parts_outside_the_image_are_missing_labels(void **state) {
  (void)state;
  dlcc_demo_options opt = small_options(1, 60, 60, 0);
  opt.width = 96;
  opt.height = 64;
  int outside = 0;
  for (uint64_t seed = 1; seed <= 60 && !outside; seed++) {
    dlcc_demo_scene *scene;
    dlcc_error err;
    assert_int_equal(dlcc_demo_scene_create(&scene, opt.width, opt.height, 1, opt.frames, seed, &err), DLCC_OK);
    double xy[2 * DLCC_DEMO_PARTS];
    for (int f = 0; f < opt.frames; f++) {
      dlcc_demo_scene_keypoints(scene, f, xy);
      for (int j = 0; j < DLCC_DEMO_PARTS; j++)
        outside += xy[2 * j] < 0 || xy[2 * j + 1] < 0 || xy[2 * j] > opt.width - 1 || xy[2 * j + 1] > opt.height - 1;
    }
    dlcc_demo_scene_free(scene);
    opt.seed = seed;
  }
  assert_true(outside > 0);
  char *dir = test_tempdir("demoout");
  write_project(dir, &opt);
  int frames[60];
  for (int f = 0; f < 60; f++) frames[f] = f;
  assert_collected_data(dir, &opt, frames);
  assert_int_equal(assert_ground_truth(dir, &opt), outside);
  test_rmtree(dir);
  free(dir);
}

static void test_existing_project_is_never_overwritten(void **state) {
  (void)state;
  char *dir = test_tempdir("demoexists");
  char *config = test_write_file(dir, "config.yaml", "Task: mine\n");
  dlcc_demo_options opt = small_options(1, 4, 2, 1);
  dlcc_error err;
  assert_int_equal(dlcc_demo_project_write(dir, &opt, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, config);
  assert_contains(err.message, "already exists");
  assert_contains(err.message, "never overwrites");
  char *text = test_read_file(config, NULL);
  assert_string_equal(text, "Task: mine\n");
  char *videos = project_file(dir, "videos");
  assert_false(dlcc_path_is_dir(videos));
  free(videos);
  free(text);
  free(config);
  test_rmtree(dir);
  free(dir);
}

static void test_more_labeled_than_frames_names_both_options(void **state) {
  (void)state;
  char *root = test_tempdir("demolabeled");
  char *dir = project_file(root, "p");
  dlcc_demo_options opt = small_options(1, 5, 10, 1);
  dlcc_error err;
  assert_int_equal(dlcc_demo_project_write(dir, &opt, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "--labeled 10 with --frames 5");
  assert_false(dlcc_path_is_dir(dir));  /* checked before anything is created */
  opt = small_options(0, 5, 1, 1);
  assert_int_equal(dlcc_demo_project_write(dir, &opt, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "--animals 0");
  opt = small_options(1, 5, 1, 1);
  opt.width = 127;
  assert_int_equal(dlcc_demo_project_write(dir, &opt, &err), DLCC_ERR_INVALID);
  assert_contains(err.message, "127x96");
  assert_contains(err.message, "even");
  test_rmtree(root);
  free(dir);
  free(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_keypoint_lies_on_its_animals_body),
      cmocka_unit_test(test_keypoint_pixels_show_the_part_colours),
      cmocka_unit_test(test_snout_to_tailbase_is_plausible_and_steady),
      cmocka_unit_test(test_animals_move_smoothly_and_explore),
      cmocka_unit_test(test_animals_touch_in_a_multi_animal_scene),
      cmocka_unit_test(test_rendering_is_reproducible_per_frame),
      cmocka_unit_test(test_scene_rejects_bad_sizes),
      cmocka_unit_test(test_single_animal_project_is_a_deeplabcut_project),
      cmocka_unit_test(test_three_animal_project_is_a_multi_animal_project),
      cmocka_unit_test(test_same_seed_gives_the_same_bytes),
      cmocka_unit_test(test_parts_outside_the_image_are_missing_labels),
      cmocka_unit_test(test_existing_project_is_never_overwritten),
      cmocka_unit_test(test_more_labeled_than_frames_names_both_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
