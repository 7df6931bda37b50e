/* `dlcc make-demo-project DIR [--animals N] [--frames F] [--labeled L] [--seed S]`. */
#include <getopt.h>
#include <stdio.h>

#include "cli/verbs.h"
#include "demo/demo_project.h"

static const char *const VERB = "make-demo-project";

static void print_help(const dlcc_demo_options *d) {
  printf(
      "usage: dlcc make-demo-project DIR [--animals N] [--frames F] [--labeled L] [--seed S]\n\n"
      "Writes a complete DeepLabCut project into DIR, generated from a seed (same seed, same bytes, but for\n"
      "config.yaml's project_path, which names DIR):\n"
      "config.yaml, videos/demo.mp4 (rendered animals with snout, ears and tail base moving on a textured,\n"
      "unevenly lit arena with sensor noise), labeled-data/demo/ with L labeled frames and their\n"
      "CollectedData CSV, and ground-truth/demo_all_frames.csv with every body part on every frame.\n"
      "One animal gives a single-animal project; two or more a multi-animal (maDLC) one.\n\n"
      "  --animals N   animals (default %d)\n"
      "  --frames F    video frames (default %d)\n"
      "  --labeled L   labeled frames, spread evenly over the video (default %d)\n"
      "  --seed S      random seed (default %llu)\n",
      d->animals, d->frames, d->labeled, (unsigned long long)d->seed);
}

int cli_make_demo_project(int argc, char **argv) {
  static const struct option options[] = {{"animals", required_argument, 0, 'a'},
                                          {"frames", required_argument, 0, 'f'},
                                          {"labeled", required_argument, 0, 'l'},
                                          {"seed", required_argument, 0, 's'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
  dlcc_demo_options opt;
  dlcc_demo_options_default(&opt);
  long v;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    switch (c) {
      case 'a':
        if (!cli_parse_int(VERB, "animals", optarg, 1, 20, &v)) return CLI_USAGE;
        opt.animals = (int)v;
        break;
      case 'f':
        if (!cli_parse_int(VERB, "frames", optarg, 1, 1000000, &v)) return CLI_USAGE;
        opt.frames = (int)v;
        break;
      case 'l':
        if (!cli_parse_int(VERB, "labeled", optarg, 1, 1000000, &v)) return CLI_USAGE;
        opt.labeled = (int)v;
        break;
      case 's':
        if (!cli_parse_u64(VERB, "seed", optarg, &opt.seed)) return CLI_USAGE;
        break;
      case 'h': print_help(&opt); return CLI_OK;
      default: return cli_option_error(VERB, c, argv);
    }
  }
  if (optind != argc - 1 || !argv[optind][0])
    return cli_usage_error(VERB, "give exactly one DIR (the project folder to create)");
  dlcc_error err;
  if (dlcc_demo_project_write(argv[optind], &opt, &err)) return cli_report_error(VERB, &err);
  printf("Wrote a %s project to %s: %d animal%s, %d frames (%dx%d, %d fps), %d labeled frames, seed %llu.\n",
         opt.animals > 1 ? "multi-animal" : "single-animal", argv[optind], opt.animals, opt.animals > 1 ? "s" : "",
         opt.frames, opt.width, opt.height, opt.fps, opt.labeled, (unsigned long long)opt.seed);
  return CLI_OK;
}
