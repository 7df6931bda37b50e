/* `dlcc stitch-tracklets CONFIG VIDEO... [--shuffle K] [--trainingsetindex I] [--snapshot N]
 * [--track-method box|ellipse] [--n-tracks N] [--animal-names A,B] [--min-length L]
 * [--split-tracklets | --no-split] [--no-prestitch] [--max-gap G] [--destfolder D]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/verbs.h"
#include "track/track_video.h"
#include "track/tracklets_file.h"

static const char *const VERB = "stitch-tracklets";

static void print_help(void) {
  printf(
      "usage: dlcc stitch-tracklets CONFIG VIDEO... [--shuffle K] [--trainingsetindex I] [--snapshot N]\n"
      "                             [--track-method box|ellipse] [--n-tracks N] [--animal-names A,B]\n"
      "                             [--min-length L] [--split-tracklets | --no-split] [--no-prestitch]\n"
      "                             [--max-gap G] [--destfolder D]\n\n"
      "Joins the tracklets of a multi-animal video (<video><scorer>_el.json from dlcc convert-detections2tracklets)\n"
      "into one track per animal, as DeepLabCut's stitch_tracklets does (a minimum-cost flow over the tracklets,\n"
      "short ones put back afterwards), and writes next to the video (or in --destfolder):\n"
      "  <video><scorer>_el.csv   (_bx.csv for box)  DeepLabCut's tracks table: header rows scorer, individuals,\n"
      "                           bodyparts, coords; x, y, likelihood per body part of each animal; one row per\n"
      "                           analysed frame (numbered from 0), empty cells where an animal was not found;\n"
      "                           unique body parts under the individual \"single\"\n"
      "The tracks are named after config.yaml's individuals in order (ind1, ind2... when --n-tracks is larger).\n"
      "A note on stderr says when fewer animals than tracks were found.\n\n"
      "  CONFIG                 the project's config.yaml (or its folder)\n"
      "  VIDEO...               one or more videos with tracklets\n"
      "  --shuffle K            shuffle number (default 1)\n"
      "  --trainingsetindex I   which TrainingFraction of config.yaml, counted from 0 (default 0)\n"
      "  --snapshot N           use the analysis made with snapshot-N when there are several\n"
      "  --track-method M       which tracklets: ellipse or box (default: config.yaml's default_track_method)\n"
      "  --n-tracks N           tracks to build (default: the number of individuals)\n"
      "  --animal-names A,B     the tracks' names (default: config.yaml's individuals)\n"
      "  --min-length L         tracklets shorter than L frames are added last (default 10, at least 3)\n"
      "  --split-tracklets      cut tracklets where a frame is missing (the default)\n"
      "  --no-split             keep them whole (when the tracker's identities can be trusted across gaps)\n"
      "  --no-prestitch         do not chain the short tracklets together before adding them\n"
      "  --max-gap G            the longest gap, in frames, that a link may bridge (default: automatic)\n"
      "  --destfolder D         where the analysis and tracklets were written (default: next to each video)\n");
}

typedef struct stitch_args {
  const char *config;
  char **videos;
  int n_videos;
  dlcc_stitch_options opt;
  char **names;
  size_t n_names;
} stitch_args;

/* 0 when the arguments are good, -1 after --help, else the exit code. */
static int parse_args(int argc, char **argv, stitch_args *a) {
  static const struct option options[] = {{"shuffle", required_argument, 0, 'k'},
                                          {"trainingsetindex", required_argument, 0, 't'},
                                          {"snapshot", required_argument, 0, 's'},
                                          {"track-method", required_argument, 0, 'm'},
                                          {"n-tracks", required_argument, 0, 'n'},
                                          {"animal-names", required_argument, 0, 'a'},
                                          {"min-length", required_argument, 0, 'l'},
                                          {"split-tracklets", no_argument, 0, 'S'},
                                          {"no-split", no_argument, 0, 'N'},
                                          {"no-split-tracklets", no_argument, 0, 'N'},
                                          {"no-prestitch", no_argument, 0, 'P'},
                                          {"max-gap", required_argument, 0, 'g'},
                                          {"destfolder", required_argument, 0, 'd'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
  *a = (stitch_args){0};
  dlcc_stitch_options_init(&a->opt);
  long v;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    int shared = cli_parse_track_target(VERB, c, optarg, &a->opt.target, &a->opt.track_method);
    if (shared < 0) return CLI_USAGE;
    if (shared) continue;
    switch (c) {
      case 'n':
        if (!cli_parse_int(VERB, "n-tracks", optarg, 1, 10000, &v)) return CLI_USAGE;
        a->opt.n_tracks = (int)v;
        break;
      case 'a':
        cli_free_names(a->names, a->n_names);
        if (!cli_split_names(VERB, "animal-names", optarg, &a->names, &a->n_names)) return CLI_USAGE;
        break;
      case 'l':
        if (!cli_parse_int(VERB, "min-length", optarg, 3, 1000000000, &v)) return CLI_USAGE;
        a->opt.min_length = (int)v;
        break;
      case 'S': a->opt.split_tracklets = true; break;
      case 'N': a->opt.split_tracklets = false; break;
      case 'P': a->opt.prestitch_residuals = false; break;
      case 'g':
        if (!cli_parse_int(VERB, "max-gap", optarg, 1, 1000000000, &v)) return CLI_USAGE;
        a->opt.max_gap = (int)v;
        break;
      case 'h': print_help(); return -1;
      default: return cli_option_error(VERB, c, argv);
    }
  }
  a->opt.animal_names = a->names;
  a->opt.n_animal_names = a->n_names;
  if (argc - optind < 2) return cli_usage_error(VERB, "give CONFIG (the project's config.yaml) and at least one VIDEO");
  a->config = argv[optind];
  a->videos = argv + optind + 1;
  a->n_videos = argc - optind - 1;
  return 0;
}

static bool stitch_one(const dlcc_project_config *cfg, const char *video, const stitch_args *a) {
  dlcc_stitch_result res;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_status st = dlcc_stitch_video_tracklets(cfg, video, &a->opt, &res, &notes, &err);
  if (st) {
    cli_print_notes(&notes);
    cli_report_error(VERB, &err);
  } else {
    printf("%s: %d of %d tracks found over %ld frames (", video, res.n_found, res.n_tracks, res.frames);
    for (int k = 0; k < res.n_tracks; k++)
      printf("%s%s %ld frames", k ? ", " : "", res.track_names[k], res.track_frames[k]);
    if (res.single_frames >= 0) printf(", single %ld frames", res.single_frames);
    const dlcc_tracks *s = &res.summary;
    printf(")\n  %d tracklets of at least %d frames, max_gap %d; %d of %d shorter ones put back\n", s->n_tracklets,
           a->opt.min_length, s->max_gap, s->n_residuals_placed, s->n_residuals);
    printf("  %s\n", res.csv_path);
    fflush(stdout);
    cli_print_notes(&notes);
  }
  fflush(stdout);
  dlcc_notes_free(&notes);
  dlcc_stitch_result_free(&res);
  return st == DLCC_OK;
}

int cli_stitch_tracklets(int argc, char **argv) {
  stitch_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) {
    cli_free_names(a.names, a.n_names);
    return rc < 0 ? CLI_OK : rc;
  }
  dlcc_project_config cfg;
  dlcc_error err;
  if (dlcc_config_load(a.config, &cfg, &err)) {
    cli_free_names(a.names, a.n_names);
    return cli_report_error(VERB, &err);
  }
  int failed = 0;
  for (int i = 0; i < a.n_videos; i++) failed += !stitch_one(&cfg, a.videos[i], &a);
  if (failed && a.n_videos > 1) fprintf(stderr, "dlcc %s: %d of %d videos failed\n", VERB, failed, a.n_videos);
  dlcc_config_free(&cfg);
  cli_free_names(a.names, a.n_names);
  return failed ? CLI_FAILED : CLI_OK;
}
