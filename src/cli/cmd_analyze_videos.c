/* `dlcc analyze-videos CONFIG VIDEO... [--shuffle K] [--trainingsetindex I] [--batch-size B] [--snapshot N]
 * [--destfolder D] [--precision P]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/progress.h"
#include "cli/verbs.h"
#include "infer/analyze_video.h"
#include "track/track_video.h"
#include "track/tracklets_file.h"
#include "util/fileio.h"

static const char *const VERB = "analyze-videos";

static void print_help(void) {
  printf(
      "usage: dlcc analyze-videos CONFIG VIDEO... [--shuffle K] [--trainingsetindex I] [--batch-size B]\n"
      "                           [--snapshot N] [--destfolder D] [--precision P]\n\n"
      "Decodes each video (any format FFmpeg reads), predicts every frame with a trained single-animal network\n"
      "and writes, next to the video (or in --destfolder), as DeepLabCut does:\n"
      "  <video><scorer>.csv         x, y, likelihood per body part, one row per decoded frame\n"
      "  <video><scorer>_meta.json   fps, frame count, frame size, cropping, snapshot, date\n"
      "The scorer is DLC_<net>_<Task><date>shuffle<k>_<iteration>. With config.yaml's cropping: true, frames\n"
      "are cut to x1..x2, y1..y2 and the coordinates are relative to that box (as DeepLabCut writes them).\n"
      "A video that cannot be decoded to the end is an error naming the last good frame; the frames analysed\n"
      "up to there are kept in <video><scorer>.partial.csv.\n\n"
      "  CONFIG               the project's config.yaml (or its folder)\n"
      "  VIDEO...             one or more video files\n"
      "  --shuffle K          shuffle number (default 1)\n"
      "  --trainingsetindex I which TrainingFraction of config.yaml, counted from 0 (default 0)\n"
      "  --batch-size B       frames per forward pass (default: config.yaml's batch_size)\n"
      "  --snapshot N         the snapshot of iteration N (train/snapshot-N.safetensors); default:\n"
      "                       config.yaml's snapshotindex (-1 the last, k the k-th from 0; all: the last)\n"
      "  --destfolder D       write the outputs into folder D instead of next to each video\n"
      CLI_PRECISION_HELP);
}

typedef struct analyze_args {
  const char *config;
  char **videos;
  int n_videos;
  dlcc_model_options model;
  int batch_size;            /* 0: config.yaml's */
  const char *destfolder;
} analyze_args;

/* 0 when the arguments are good, -1 after --help, else the exit code. */
static int parse_args(int argc, char **argv, analyze_args *a) {
  static const struct option options[] = {{"shuffle", required_argument, 0, 'k'},
                                          {"trainingsetindex", required_argument, 0, 't'},
                                          {"batch-size", required_argument, 0, 'b'},
                                          {"snapshot", required_argument, 0, 's'},
                                          {"destfolder", required_argument, 0, 'd'},
                                          {"precision", required_argument, 0, 'P'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
  *a = (analyze_args){.model = {.shuffle = 1, .snapshot_iteration = DLCC_MODEL_SNAPSHOT_FROM_CONFIG}};
  long v;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    switch (c) {
      case 'k':
        if (!cli_parse_int(VERB, "shuffle", optarg, 1, 100000, &v)) return CLI_USAGE;
        a->model.shuffle = (int)v;
        break;
      case 't':
        if (!cli_parse_int(VERB, "trainingsetindex", optarg, 0, 1000, &v)) return CLI_USAGE;
        a->model.trainingsetindex = (int)v;
        break;
      case 'b':
        if (!cli_parse_int(VERB, "batch-size", optarg, 1, 4096, &v)) return CLI_USAGE;
        a->batch_size = (int)v;
        break;
      case 's':
        if (!cli_parse_int(VERB, "snapshot", optarg, 0, 1000000000000L, &v)) return CLI_USAGE;
        a->model.snapshot_iteration = v;
        break;
      case 'd': a->destfolder = optarg; break;
      case 'P':
        if (!cli_parse_precision(VERB, optarg, &a->model.precision)) return CLI_USAGE;
        break;
      case 'h': print_help(); return -1;
      default: return cli_option_error(VERB, c, argv);
    }
  }
  if (argc - optind < 2) return cli_usage_error(VERB, "give CONFIG (the project's config.yaml) and at least one VIDEO");
  a->config = argv[optind];
  a->videos = argv + optind + 1;
  a->n_videos = argc - optind - 1;
  return 0;
}

/* Multi-animal, as DeepLabCut's analyze_videos with auto_track: the assembled individuals tracked from
 * frame to frame into tracklets, then stitched into one track per individual, the CSV (the same work
 * as convert-detections2tracklets and stitch-tracklets, which can redo it with other settings). */
static dlcc_status track_analysed_video(const dlcc_model *m, const dlcc_project_config *cfg, const char *video,
                                        const char *meta_path, const analyze_args *a) {
  char *scorer = dlcc_model_scorer(m, cfg);
  dlcc_track_target target = {.shuffle = m->shuffle, .trainingsetindex = a->model.trainingsetindex,
                              .snapshot = -1, .dest_folder = a->destfolder, .scorer = scorer};
  dlcc_convert_options convert;
  dlcc_convert_options_init(&convert);
  convert.target = target;
  convert.overwrite = true; /* the assemblies were just written again */
  dlcc_stitch_options stitch;
  dlcc_stitch_options_init(&stitch);
  stitch.target = target;
  dlcc_convert_result tracked = {0};
  dlcc_stitch_result stitched = {0};
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_status st = scorer ? DLCC_OK : dlcc_fail(&err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = dlcc_convert_detections2tracklets(cfg, video, &convert, &tracked, &notes, &err);
  if (!st) st = dlcc_stitch_video_tracklets(cfg, video, &stitch, &stitched, &notes, &err);
  if (!st)
    st = dlcc_analysis_meta_add_tracking(meta_path, tracked.n_tracklets, stitched.n_found, stitched.n_tracks,
                                         stitched.csv_path, &err);
  cli_print_notes(&notes);
  if (st) cli_report_error(VERB, &err);
  else {
    printf("  %zu tracklets (%s tracker); %d of %d tracks found\n  %s\n  %s\n", tracked.n_tracklets,
           dlcc_track_method_name(tracked.params.method), stitched.n_found, stitched.n_tracks, stitched.csv_path,
           meta_path);
  }
  dlcc_convert_result_free(&tracked);
  dlcc_stitch_result_free(&stitched);
  dlcc_notes_free(&notes);
  free(scorer);
  return st;
}

/* Analyses one video, printing where its output went; false when it failed (message printed). */
static bool analyze_one(dlcc_model *m, dlcc_nn_engine *e, const dlcc_project_config *cfg, const char *video,
                        const analyze_args *a) {
  char *name = dlcc_path_basename(video);
  cli_progress progress;
  cli_progress_init(&progress, name ? name : video, "frames");
  dlcc_analyze_options opt = {.dest_folder = a->destfolder,
                              .batch_size = a->batch_size ? a->batch_size : cfg->batch_size,
                              .progress = cli_progress_update,
                              .user = &progress};
  dlcc_analyze_result res;
  dlcc_error err;
  dlcc_status st = dlcc_analyze_video(m, e, cfg, video, &opt, &res, &err);
  cli_progress_end(&progress);
  if (st) cli_report_error(VERB, &err);
  else if (res.assemblies_path) {
    double frames = res.frames > 0 ? (double)res.frames : 1;
    printf("%s: %ld frames (%dx%d) in %.1f s, %.1f frames/s\n", video, res.frames, res.video.width, res.video.height,
           res.seconds, res.seconds > 0 ? (double)res.frames / res.seconds : 0.0);
    printf("  per frame: %.1f candidate body parts, %.2f individuals assembled; %ld of %ld frames with one or more\n"
           "  %s\n", (double)res.detections / frames, (double)res.animals / frames, res.frames_with_animals,
           res.frames, res.assemblies_path);
    st = track_analysed_video(m, cfg, video, res.meta_path, a);
  } else
    printf("%s: %ld frames (%dx%d) in %.1f s, %.1f frames/s\n  %s\n  %s\n", video, res.frames, res.video.width,
           res.video.height, res.seconds, res.seconds > 0 ? (double)res.frames / res.seconds : 0.0, res.csv_path,
           res.meta_path);
  fflush(stdout);
  dlcc_analyze_result_free(&res);
  free(name);
  return st == DLCC_OK;
}

static int analyze_all(dlcc_model *m, const dlcc_project_config *cfg, const analyze_args *a) {
  dlcc_nn_engine *engine = NULL;
  dlcc_error err;
  if (dlcc_nn_engine_create(&engine, 0, &err)) return cli_report_error(VERB, &err);
  char *scorer = dlcc_model_scorer(m, cfg);
  printf("Analysing %d video%s with snapshot-%ld of shuffle %d (%s), batch size %d, %s\n", a->n_videos,
         a->n_videos == 1 ? "" : "s", dlcc_model_iteration(m), m->shuffle, scorer ? scorer : "?",
         a->batch_size ? a->batch_size : cfg->batch_size, dlcc_nn_dtype_name(m->net->desc.dtype));
  fflush(stdout);
  free(scorer);
  int failed = 0;
  for (int i = 0; i < a->n_videos; i++) failed += !analyze_one(m, engine, cfg, a->videos[i], a);
  dlcc_nn_engine_free(engine);
  if (failed && a->n_videos > 1) fprintf(stderr, "dlcc %s: %d of %d videos failed\n", VERB, failed, a->n_videos);
  return failed ? CLI_FAILED : CLI_OK;
}

int cli_analyze_videos(int argc, char **argv) {
  analyze_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? CLI_OK : rc;
  dlcc_project_config cfg;
  dlcc_error err;
  if (dlcc_config_load(a.config, &cfg, &err)) return cli_report_error(VERB, &err);
  dlcc_model model;
  dlcc_notes notes = {0};
  dlcc_status st = dlcc_analysis_model_open(&model, &cfg, &a.model, &notes, &err);
  cli_print_notes(&notes);
  dlcc_notes_free(&notes);
  rc = st ? cli_report_error(VERB, &err) : analyze_all(&model, &cfg, &a);
  dlcc_model_close(&model);
  dlcc_config_free(&cfg);
  return rc;
}
