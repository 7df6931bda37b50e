/* `dlcc convert-detections2tracklets CONFIG VIDEO... [--shuffle K] [--trainingsetindex I] [--snapshot N]
 * [--track-method box|ellipse] [--destfolder D] [--overwrite] [--ignore-bodyparts A,B] [--max-age N]
 * [--min-hits N] [--iou-threshold T] [--boundingboxslack PX]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/verbs.h"
#include "track/track_video.h"
#include "track/tracklets_file.h"

static const char *const VERB = "convert-detections2tracklets";

static void print_help(void) {
  printf(
      "usage: dlcc convert-detections2tracklets CONFIG VIDEO... [--shuffle K] [--trainingsetindex I] [--snapshot N]\n"
      "                                         [--track-method box|ellipse] [--destfolder D] [--overwrite]\n"
      "                                         [--ignore-bodyparts A,B] [--max-age N] [--min-hits N]\n"
      "                                         [--iou-threshold T] [--boundingboxslack PX]\n\n"
      "Links the animals that the analysis of a multi-animal video assembled in each frame into tracklets, as\n"
      "DeepLabCut's convert_detections2tracklets does: reads <video><scorer>_assemblies.json (written by\n"
      "dlcc analyze-videos next to the video, or in --destfolder), follows the animals from frame to frame with\n"
      "the ellipse or box tracker (Kalman filters matched by ellipse similarity or box IoU) and writes\n"
      "  <video><scorer>_el.json   (ellipse; _bx.json for box)  the tracklets, for dlcc stitch-tracklets\n"
      "The scorer is that of the shuffle's analysis found next to the video (DLC_<net>_<Task><date>shuffle<k>_<N>);\n"
      "with several (other snapshots), config.yaml's snapshotindex or --snapshot chooses. The tracker settings\n"
      "come from the model's test/inference_cfg.yaml when it is there (max_age, min_hits, iou_threshold,\n"
      "boundingboxslack; DeepLabCut's defaults 1, 1, 0.6, 0 otherwise); the options below override them.\n"
      "An existing tracklets file is kept unless --overwrite is given.\n\n"
      "  CONFIG                   the project's config.yaml (or its folder)\n"
      "  VIDEO...                 one or more analysed videos\n"
      "  --shuffle K              shuffle number (default 1)\n"
      "  --trainingsetindex I     which TrainingFraction of config.yaml, counted from 0 (default 0)\n"
      "  --snapshot N             use the analysis made with snapshot-N when there are several\n"
      "  --track-method M         ellipse or box (default: config.yaml's default_track_method, else ellipse)\n"
      "  --destfolder D           where the analysis was written (default: next to each video)\n"
      "  --overwrite              compute the tracklets again when the file exists\n"
      "  --ignore-bodyparts A,B   body parts the trackers' shapes leave out (the tracklets keep them)\n"
      "  --max-age N              frames a lost tracker may be matched again (inference_cfg max_age)\n"
      "  --min-hits N             matches before a tracker reports its animal (min_hits)\n"
      "  --iou-threshold T        least similarity (ellipse) or IoU (box) of a match, 0 to 1 (iou_threshold)\n"
      "  --boundingboxslack PX    pixels added around each box (boundingboxslack)\n");
}

typedef struct convert_args {
  const char *config;
  char **videos;
  int n_videos;
  dlcc_convert_options opt;
  char **ignore;
  size_t n_ignore;
} convert_args;

/* 0 when the arguments are good, -1 after --help, else the exit code. */
static int parse_args(int argc, char **argv, convert_args *a) {
  static const struct option options[] = {{"shuffle", required_argument, 0, 'k'},
                                          {"trainingsetindex", required_argument, 0, 't'},
                                          {"snapshot", required_argument, 0, 's'},
                                          {"track-method", required_argument, 0, 'm'},
                                          {"destfolder", required_argument, 0, 'd'},
                                          {"overwrite", no_argument, 0, 'o'},
                                          {"ignore-bodyparts", required_argument, 0, 'i'},
                                          {"max-age", required_argument, 0, 'A'},
                                          {"min-hits", required_argument, 0, 'H'},
                                          {"iou-threshold", required_argument, 0, 'T'},
                                          {"boundingboxslack", required_argument, 0, 'B'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
  *a = (convert_args){0};
  dlcc_convert_options_init(&a->opt);
  long v;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    int shared = cli_parse_track_target(VERB, c, optarg, &a->opt.target, &a->opt.track_method);
    if (shared < 0) return CLI_USAGE;
    if (shared) continue;
    switch (c) {
      case 'o': a->opt.overwrite = true; break;
      case 'i':
        cli_free_names(a->ignore, a->n_ignore);
        if (!cli_split_names(VERB, "ignore-bodyparts", optarg, &a->ignore, &a->n_ignore)) return CLI_USAGE;
        break;
      case 'A':
        if (!cli_parse_int(VERB, "max-age", optarg, 0, 1000000, &v)) return CLI_USAGE;
        a->opt.max_age = (int)v;
        break;
      case 'H':
        if (!cli_parse_int(VERB, "min-hits", optarg, 0, 1000000, &v)) return CLI_USAGE;
        a->opt.min_hits = (int)v;
        break;
      case 'T':
        if (!cli_parse_double(VERB, "iou-threshold", optarg, 0, 1, &a->opt.iou_threshold)) return CLI_USAGE;
        break;
      case 'B':
        if (!cli_parse_double(VERB, "boundingboxslack", optarg, -1e6, 1e6, &a->opt.boundingboxslack)) return CLI_USAGE;
        break;
      case 'h': print_help(); return -1;
      default: return cli_option_error(VERB, c, argv);
    }
  }
  a->opt.ignore_bodyparts = a->ignore;
  a->opt.n_ignore = a->n_ignore;
  if (argc - optind < 2) return cli_usage_error(VERB, "give CONFIG (the project's config.yaml) and at least one VIDEO");
  a->config = argv[optind];
  a->videos = argv + optind + 1;
  a->n_videos = argc - optind - 1;
  return 0;
}

static bool convert_one(const dlcc_project_config *cfg, const char *video, const convert_args *a) {
  dlcc_convert_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_status st = dlcc_convert_detections2tracklets(cfg, video, &a->opt, &res, &notes, &err);
  cli_print_notes(&notes);
  dlcc_notes_free(&notes);
  if (st) {
    cli_report_error(VERB, &err);
  } else if (res.kept_existing) {
    printf("%s: tracklets already computed, kept (--overwrite computes them again)\n  %s\n", video,
           res.tracklets_path);
  } else {
    const dlcc_tracker_params *p = &res.params;
    printf("%s: %ld frames, animals in %ld of them (%.2f per such frame, at most %d); %zu tracklets\n", video,
           res.frames, res.frames_with_animals,
           res.frames_with_animals ? (double)res.detections / (double)res.frames_with_animals : 0.0, res.most_animals,
           res.n_tracklets);
    printf("  %s tracker: max_age %d, min_hits %d, iou_threshold %g", dlcc_track_method_name(p->method), p->max_age,
           p->min_hits, p->iou_threshold);
    if (p->method == DLCC_TRACK_BOX) printf(", boundingboxslack %g", p->box_slack);
    printf(" (%s)\n", res.inference_cfg_path ? res.inference_cfg_path : "DeepLabCut's defaults: no inference_cfg.yaml");
    if (res.single_frames >= 0) printf("  unique body parts found in %ld frames\n", res.single_frames);
    printf("  %s\n", res.tracklets_path);
  }
  fflush(stdout);
  dlcc_convert_result_free(&res);
  return st == DLCC_OK;
}

int cli_convert_detections2tracklets(int argc, char **argv) {
  convert_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) {
    cli_free_names(a.ignore, a.n_ignore);
    return rc < 0 ? CLI_OK : rc;
  }
  dlcc_project_config cfg;
  dlcc_error err;
  if (dlcc_config_load(a.config, &cfg, &err)) {
    cli_free_names(a.ignore, a.n_ignore);
    return cli_report_error(VERB, &err);
  }
  int failed = 0;
  for (int i = 0; i < a.n_videos; i++) failed += !convert_one(&cfg, a.videos[i], &a);
  if (failed && a.n_videos > 1) fprintf(stderr, "dlcc %s: %d of %d videos failed\n", VERB, failed, a.n_videos);
  if (!failed)
    printf("Next: dlcc stitch-tracklets %s VIDEO... --shuffle %d%s%s%s%s joins the tracklets into one track per "
           "animal\n", a.config, a.opt.target.shuffle, a.opt.track_method ? " --track-method " : "",
           a.opt.track_method ? a.opt.track_method : "", a.opt.target.dest_folder ? " --destfolder " : "",
           a.opt.target.dest_folder ? a.opt.target.dest_folder : "");
  dlcc_config_free(&cfg);
  cli_free_names(a.ignore, a.n_ignore);
  return failed ? CLI_FAILED : CLI_OK;
}
