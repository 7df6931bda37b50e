/* `dlcc create-training-dataset CONFIG [--shuffle K] [--net-type T] [--seed S] [--paf-graph G]`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/verbs.h"
#include "dataset/training_set.h"
#include "project/layout.h"

static const char *const VERB = "create-training-dataset";

static void print_help(void) {
  printf(
      "usage: dlcc create-training-dataset CONFIG [--shuffle K] [--net-type T] [--seed S] [--paf-graph G]\n\n"
      "Merges the labels of every labeled-data folder that config.yaml's video_sets names, splits the\n"
      "images for each TrainingFraction (train = int(n x fraction), after a seeded permutation), and writes\n"
      "  training-datasets/iteration-<i>/UnaugmentedDataSet_<Task><date>/   training set, split, merged labels\n"
      "  dlc-models/iteration-<i>/<Task><date>-trainset<pct>shuffle<k>/train|test/pose_cfg.yaml\n"
      "Images listed in a CSV but missing on disk, and images that the input-size bounds rule out, are\n"
      "named. A shuffle that already has snapshots is never overwritten.\n\n"
      "  CONFIG          the project's config.yaml (or its folder)\n"
      "  --shuffle K     shuffle number (default 1)\n"
      "  --net-type T    network (default: config.yaml's default_net_type): %s\n"
      "  --seed S        permutation seed (default: the shuffle number, so shuffles differ)\n"
      "  --paf-graph G   multi-animal only: 'full' (all pairs of body parts, default) or 'skeleton'\n",
      dlcc_layout_net_types_list());
}

int cli_create_training_dataset(int argc, char **argv) {
  static const struct option options[] = {{"shuffle", required_argument, 0, 'k'},
                                          {"net-type", required_argument, 0, 'n'},
                                          {"seed", required_argument, 0, 's'},
                                          {"paf-graph", required_argument, 0, 'g'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
  dlcc_training_set_options opt = {.shuffle = 1};
  long shuffle = 1;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    switch (c) {
      case 'k':
        if (!cli_parse_int(VERB, "shuffle", optarg, 1, 100000, &shuffle)) return CLI_USAGE;
        opt.shuffle = (int)shuffle;
        break;
      case 'n': opt.net_type = optarg; break;
      case 's':
        if (!cli_parse_u64(VERB, "seed", optarg, &opt.seed)) return CLI_USAGE;
        opt.seed_given = true;
        break;
      case 'g':
        if (strcmp(optarg, "full") && strcmp(optarg, "skeleton"))
          return cli_usage_error(VERB, "--paf-graph is 'full' or 'skeleton'");
        opt.paf_graph_skeleton = !strcmp(optarg, "skeleton");
        break;
      case 'h': print_help(); return CLI_OK;
      default: return cli_option_error(VERB, c, argv);
    }
  }
  if (optind != argc - 1) return cli_usage_error(VERB, "give exactly one CONFIG (the project's config.yaml)");

  dlcc_training_set_result result;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_status st = dlcc_training_set_create(argv[optind], &opt, &result, &notes, &err);
  cli_print_notes(&notes);
  dlcc_notes_free(&notes);
  if (st) return cli_report_error(VERB, &err);
  printf("Shuffle %d: %zu labeled images", opt.shuffle, result.n_images);
  if (result.n_unusable) printf(" (%zu never fit the input-size bounds, see the notes)", result.n_unusable);
  printf("\n");
  for (size_t i = 0; i < result.n_splits; i++) {
    const dlcc_training_split *s = &result.splits[i];
    printf("  TrainingFraction %g: %zu train / %zu test images\n", s->fraction, s->n_train, s->n_test);
    printf("    training set: %s\n", s->dataset_file);
    printf("    pose_cfg:     %s/train/pose_cfg.yaml\n", s->model_dir);
  }
  dlcc_training_set_result_free(&result);
  return CLI_OK;
}
