/* `dlcc make-demo-project`: writes the demo scene as a DeepLabCut project: config.yaml (DeepLabCut's
 * template, single- or multi-animal), the video, labeled frames with CollectedData_dlcc.csv, and a
 * ground-truth table of every part on every frame. config.yaml comes last, so a failed run never
 * leaves something that looks like a finished project. */
#include "demo/demo_project.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/render.h"
#include "image/image.h"
#include "project/labels.h"
#include "util/fileio.h"
#include "video/video.h"

#define DEMO_TASK "demo"
#define DEMO_SCORER "dlcc"
#define DEMO_DATE "Jan1" /* fixed, so that a seed always gives the same bytes */
#define DEMO_VIDEO "demo"

void dlcc_demo_options_default(dlcc_demo_options *opt) {
  *opt = (dlcc_demo_options){.animals = 1, .frames = 300, .labeled = 60, .seed = 42, .width = 320, .height = 256,
                             .fps = 30};
}

static dlcc_status check_options(const dlcc_demo_options *opt, dlcc_error *err) {
  if (opt->animals < 1 || opt->animals > DLCC_DEMO_MAX_ANIMALS)
    return dlcc_fail(err, DLCC_ERR_INVALID, "--animals %d: choose 1 to %d", opt->animals, DLCC_DEMO_MAX_ANIMALS);
  if (opt->frames < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "--frames %d: choose at least 1", opt->frames);
  if (opt->labeled < 1 || opt->labeled > opt->frames)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "--labeled %d with --frames %d: the labeled frames are taken from the video, so choose "
                     "--labeled between 1 and --frames",
                     opt->labeled, opt->frames);
  if (opt->width < 32 || opt->height < 32 || opt->width > 8192 || opt->height > 8192 || opt->width % 2 ||
      opt->height % 2)
    return dlcc_fail(err, DLCC_ERR_INVALID,
                     "demo video size %dx%d: width and height must be even, from 32 to 8192 pixels", opt->width,
                     opt->height);
  if (opt->fps < 1 || opt->fps > 1000)
    return dlcc_fail(err, DLCC_ERR_INVALID, "demo video frame rate %d: choose 1 to 1000", opt->fps);
  return DLCC_OK;
}

/* Creates dir and the project's folders; refuses a folder that already holds a project. */
static dlcc_status make_folders(const char *dir, dlcc_error *err) {
  char *config = dlcc_path_join(dir, "config.yaml");
  if (!config) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  bool exists = dlcc_path_is_file(config) || dlcc_path_is_dir(config);
  dlcc_status st = exists ? dlcc_fail(err, DLCC_ERR_INVALID,
                                      "%s already exists: make-demo-project never overwrites a project; choose a "
                                      "new or empty folder",
                                      config)
                          : DLCC_OK;
  free(config);
  const char *sub[] = {"videos", "labeled-data/" DEMO_VIDEO, "ground-truth"};
  for (size_t i = 0; i < 3 && !st; i++) {
    char *path = dlcc_path_join(dir, sub[i]);
    st = path ? dlcc_mkdirs(path, err) : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    free(path);
  }
  return st;
}

/* DeepLabCut names extracted frames img<frame>.png, zero-padded to the frame count's digits; dlcc
 * pads to at least 4 like most DeepLabCut projects (img0000.png). */
static int frame_digits(int frames) {
  int digits = 1;
  for (int n = frames - 1; n >= 10; n /= 10) digits++;
  return digits < 4 ? 4 : digits;
}

/* The k-th of `labeled` frames spread evenly over the video, starting with frame 0. */
static int labeled_frame(int k, int labeled, int frames) { return (int)((long long)k * frames / labeled); }

/* ---- tables ---- */

/* Column names shared by the label table and the ground truth: animal-major, then body part. */
typedef struct table_columns {
  size_t n;
  char **individuals;  /* NULL for a single animal */
  char **bodyparts;    /* not owned */
  char **owned;        /* "animal1".. */
} table_columns;

static void free_columns(table_columns *c, int animals) {
  for (int k = 0; c->owned && k < animals; k++) free(c->owned[k]);
  free(c->owned);
  free(c->individuals);
  free(c->bodyparts);
  *c = (table_columns){0};
}

static dlcc_status make_columns(table_columns *c, int animals, dlcc_error *err) {
  *c = (table_columns){.n = (size_t)animals * DLCC_DEMO_PARTS};
  c->bodyparts = calloc(c->n, sizeof *c->bodyparts);
  c->owned = calloc((size_t)animals, sizeof *c->owned);
  c->individuals = animals > 1 ? calloc(c->n, sizeof *c->individuals) : NULL;
  bool ok = c->bodyparts && c->owned && (animals == 1 || c->individuals);
  for (int k = 0; ok && k < animals; k++) {
    ok = (c->owned[k] = dlcc_strdupf("animal%d", k + 1)) != NULL;
    for (int j = 0; ok && j < DLCC_DEMO_PARTS; j++) {
      c->bodyparts[k * DLCC_DEMO_PARTS + j] = (char *)dlcc_demo_bodyparts[j];
      if (c->individuals) c->individuals[k * DLCC_DEMO_PARTS + j] = c->owned[k];
    }
  }
  if (!ok) {
    free_columns(c, animals);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  return DLCC_OK;
}

static void free_names(char **names, int n) {
  for (int i = 0; names && i < n; i++) free(names[i]);
  free(names);
}

/* Row names: "labeled-data/demo/img0012.png" for labels, "12" for the ground truth. */
static char **make_row_names(const dlcc_demo_options *opt, bool labels, int digits) {
  int n = labels ? opt->labeled : opt->frames;
  char **names = calloc((size_t)n, sizeof *names);
  for (int i = 0; names && i < n; i++) {
    names[i] = labels ? dlcc_strdupf("labeled-data/" DEMO_VIDEO "/img%0*d.png", digits,
                                     labeled_frame(i, opt->labeled, opt->frames))
                      : dlcc_strdupf("%d", i);
    if (!names[i]) {
      free_names(names, n);
      return NULL;
    }
  }
  return names;
}

static dlcc_status make_table(dlcc_label_table *t, const dlcc_demo_options *opt, const table_columns *c, bool labels,
                              int digits, dlcc_error *err) {
  char **rows = make_row_names(opt, labels, digits);
  if (!rows) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  int n_rows = labels ? opt->labeled : opt->frames;
  dlcc_status st = dlcc_labels_create(t, DEMO_SCORER, opt->animals > 1, 2, c->individuals, c->bodyparts, c->n, rows,
                                      (size_t)n_rows, err);
  free_names(rows, n_rows);
  return st;
}

/* A part outside the image is not visible: it stays NaN (missing), as a labeller would leave it. */
static void fill_row(dlcc_label_table *t, size_t row, const double *xy, int width, int height) {
  for (size_t col = 0; col < t->n_columns; col++) {
    double x = xy[2 * col], y = xy[2 * col + 1];
    if (x < 0 || y < 0 || x > width - 1 || y > height - 1) continue;
    t->values[dlcc_label_index(t, row, col, 0)] = x;
    t->values[dlcc_label_index(t, row, col, 1)] = y;
  }
}

/* ---- config.yaml ---- */

/* A YAML scalar: plain when it cannot be misread, double-quoted (with escapes) otherwise. */
static void append_yaml_string(dlcc_strbuf *sb, const char *s) {
  bool plain = *s != '\0';
  for (const char *p = s; *p; p++)
    plain &= (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr("/._-+~", *p) != NULL;
  if (plain) {
    dlcc_strbuf_append(sb, s);
    return;
  }
  dlcc_strbuf_append(sb, "\"");
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\') dlcc_strbuf_appendn(sb, "\\", 1);
    dlcc_strbuf_appendn(sb, p, 1);
  }
  dlcc_strbuf_append(sb, "\"");
}

static void append_list(dlcc_strbuf *sb, const char *key, const char *const *items, int n) {
  dlcc_strbuf_printf(sb, "%s:\n", key);
  for (int i = 0; i < n; i++) dlcc_strbuf_printf(sb, "- %s\n", items[i]);
}

static void append_animals(dlcc_strbuf *sb, const dlcc_demo_options *opt) {
  if (opt->animals == 1) {
    append_list(sb, "bodyparts", dlcc_demo_bodyparts, DLCC_DEMO_PARTS);
    return;
  }
  dlcc_strbuf_append(sb, "individuals:\n");
  for (int k = 0; k < opt->animals; k++) dlcc_strbuf_printf(sb, "- animal%d\n", k + 1);
  dlcc_strbuf_append(sb, "uniquebodyparts: []\n");
  append_list(sb, "multianimalbodyparts", dlcc_demo_bodyparts, DLCC_DEMO_PARTS);
  dlcc_strbuf_append(sb, "bodyparts: MULTI!\n");
}

static void append_header(dlcc_strbuf *sb, const char *project_path, const dlcc_demo_options *opt) {
  bool multi = opt->animals > 1;
  dlcc_strbuf_printf(sb,
                     "# Project definitions (do not edit)\nTask: " DEMO_TASK "\nscorer: " DEMO_SCORER
                     "\ndate: " DEMO_DATE "\nmultianimalproject: %s\nidentity:%s\n\n",
                     multi ? "true" : "false", multi ? " false" : "");
  dlcc_strbuf_append(sb, "# Project path (change when moving around)\nproject_path: ");
  append_yaml_string(sb, project_path);
  dlcc_strbuf_append(sb,
                     "\n\n# Default DeepLabCut engine to use for shuffle creation (either pytorch or tensorflow)\n"
                     "engine: tensorflow\n\n"
                     "# Annotation data set configuration (and individual video cropping parameters)\n");
  dlcc_strbuf_printf(sb, "video_sets:\n  videos/" DEMO_VIDEO ".mp4:\n    crop: 0, %d, 0, %d\n", opt->width,
                     opt->height);
  append_animals(sb, opt);
  dlcc_strbuf_printf(sb,
                     "\n# Fraction of video to start/stop when extracting frames for labeling/refinement\n"
                     "start: 0\nstop: 1\nnumframes2pick: %d\n\n",
                     opt->labeled);
}

static void append_settings(dlcc_strbuf *sb, const dlcc_demo_options *opt) {
  bool multi = opt->animals > 1;
  dlcc_strbuf_append(sb,
                     "# Plotting configuration\nskeleton:\n- - snout\n  - leftear\n- - snout\n  - rightear\n"
                     "- - leftear\n  - tailbase\n- - rightear\n  - tailbase\n"
                     "skeleton_color: black\npcutoff: 0.6\ndotsize: 6\nalphavalue: 0.7\ncolormap: rainbow\n\n");
  dlcc_strbuf_printf(sb,
                     "# Training,Evaluation and Analysis configuration\nTrainingFraction:\n- 0.95\niteration: 0\n"
                     "default_net_type: %s\ndefault_augmenter: %s\n%s"
                     "snapshotindex: -1\ndetector_snapshotindex: -1\nbatch_size: 8\ndetector_batch_size: 1\n\n",
                     multi ? "dlcrnet_ms5" : "resnet_50", multi ? "multi-animal-imgaug" : "default",
                     multi ? "default_track_method: ellipse\n" : "");
  dlcc_strbuf_printf(sb,
                     "# Cropping Parameters (for analysis and outlier frame detection)\ncropping: false\n"
                     "#if cropping is true for analysis, then set the values here:\nx1: 0\nx2: %d\ny1: 0\ny2: %d\n\n",
                     opt->width, opt->height);
  dlcc_strbuf_append(sb,
                     "# Refinement configuration (parameters from annotation dataset configuration also relevant "
                     "in this stage)\ncorner2move2:\n- 50\n- 50\nmove2corner: true\n\n"
                     "# Conversion tables to fine-tune SuperAnimal weights\nSuperAnimalConversionTables:\n");
}

/* The text DeepLabCut's create_new_project writes, with the demo's values. */
static dlcc_status write_config(const char *dir, const dlcc_demo_options *opt, dlcc_error *err) {
  char *project_path = dlcc_path_absolute(dir), *path = dlcc_path_join(dir, "config.yaml");
  dlcc_strbuf sb = {0};
  if (project_path && path) {
    append_header(&sb, project_path, opt);
    append_settings(&sb, opt);
  }
  dlcc_status st = !project_path || !path || sb.failed ? dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory")
                                                       : dlcc_file_write_atomic(path, sb.data, sb.len, err);
  dlcc_strbuf_free(&sb);
  free(project_path);
  free(path);
  return st;
}

/* ---- the frames ---- */

/* Everything the frame loop writes into. */
typedef struct demo_output {
  const char *dir;
  const dlcc_demo_options *opt;
  dlcc_demo_scene *scene;
  dlcc_image frame;
  double *xy;
  dlcc_video_writer *video;
  dlcc_label_table labels, truth;
  int digits;
} demo_output;

static dlcc_status save_labeled_frame(demo_output *out, int frame, dlcc_error *err) {
  char *path = dlcc_strdupf("%s/labeled-data/" DEMO_VIDEO "/img%0*d.png", out->dir, out->digits, frame);
  if (!path) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_status st = dlcc_image_save_png(path, &out->frame, err);
  free(path);
  return st;
}

static dlcc_status write_frames(demo_output *out, dlcc_error *err) {
  const dlcc_demo_options *opt = out->opt;
  int next_labeled = 0;
  for (int f = 0; f < opt->frames; f++) {
    dlcc_demo_scene_render(out->scene, f, &out->frame, NULL);
    dlcc_demo_scene_keypoints(out->scene, f, out->xy);
    fill_row(&out->truth, (size_t)f, out->xy, opt->width, opt->height);
    dlcc_status st = dlcc_video_writer_add(out->video, &out->frame, err);
    if (!st && next_labeled < opt->labeled && labeled_frame(next_labeled, opt->labeled, opt->frames) == f) {
      fill_row(&out->labels, (size_t)next_labeled++, out->xy, opt->width, opt->height);
      st = save_labeled_frame(out, f, err);
    }
    if (st) return st;
  }
  return DLCC_OK;
}

static dlcc_status open_output(demo_output *out, dlcc_error *err) {
  const dlcc_demo_options *opt = out->opt;
  dlcc_status st = dlcc_demo_scene_create(&out->scene, opt->width, opt->height, opt->animals, opt->frames,
                                          opt->seed, err);
  if (!st) st = dlcc_image_alloc(&out->frame, opt->width, opt->height, err);
  out->xy = calloc((size_t)opt->animals * DLCC_DEMO_PARTS * 2, sizeof *out->xy);
  if (!st && !out->xy) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  table_columns columns = {0};
  if (!st) st = make_columns(&columns, opt->animals, err);
  if (!st) st = make_table(&out->labels, opt, &columns, true, out->digits, err);
  if (!st) st = make_table(&out->truth, opt, &columns, false, out->digits, err);
  free_columns(&columns, opt->animals);
  if (st) return st;
  char *video = dlcc_path_join(out->dir, "videos/" DEMO_VIDEO ".mp4");
  if (!video) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  st = dlcc_video_writer_open(&out->video, video, opt->width, opt->height, opt->fps, err);
  free(video);
  return st;
}

static void close_output(demo_output *out) {
  if (out->video) dlcc_video_writer_abort(out->video);
  dlcc_demo_scene_free(out->scene);
  dlcc_image_free(&out->frame);
  free(out->xy);
  dlcc_labels_free(&out->labels);
  dlcc_labels_free(&out->truth);
}

static dlcc_status write_tables(demo_output *out, dlcc_error *err) {
  char *labels = dlcc_path_join(out->dir, "labeled-data/" DEMO_VIDEO "/CollectedData_" DEMO_SCORER ".csv");
  char *truth = dlcc_path_join(out->dir, "ground-truth/" DEMO_VIDEO "_all_frames.csv");
  dlcc_status st = labels && truth ? dlcc_labels_write(&out->labels, labels, err)
                                   : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = dlcc_labels_write(&out->truth, truth, err);
  free(labels);
  free(truth);
  return st;
}

dlcc_status dlcc_demo_project_write(const char *dir, const dlcc_demo_options *opt, dlcc_error *err) {
  dlcc_status st = check_options(opt, err);
  if (!st) st = make_folders(dir, err);
  if (st) return st;
  demo_output out = {.dir = dir, .opt = opt, .digits = frame_digits(opt->frames)};
  st = open_output(&out, err);
  if (!st) st = write_frames(&out, err);
  if (!st) {
    dlcc_video_writer *video = out.video;
    out.video = NULL;  /* closed (and freed) either way */
    st = dlcc_video_writer_close(video, err);
  }
  if (!st) st = write_tables(&out, err);
  if (!st) st = write_config(dir, opt, err);
  close_output(&out);
  return st;
}
