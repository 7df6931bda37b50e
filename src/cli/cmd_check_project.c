/* `dlcc check-project CONFIG`: reads a DeepLabCut project as it is and says what it holds (body parts,
 * individuals, videos, labeled images, labels per part) and what is wrong with it. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/verbs.h"
#include "dataset/labeled_data.h"
#include "project/config.h"
#include "util/fileio.h"

static const char *const VERB = "check-project";

static void print_help(void) {
  printf("usage: dlcc check-project CONFIG\n\n"
         "Reads config.yaml and every labeled-data folder it names, checks them against each other\n"
         "(body parts, scorer, individuals, images on disk) and prints a summary. Exits with 1 when\n"
         "something would stop create-training-dataset.\n");
}

static void print_list(const char *label, char *const *items, size_t n) {
  printf("%-14s", label);
  for (size_t i = 0; i < n; i++) printf("%s%s", i ? ", " : "", items[i]);
  printf("%s\n", n ? "" : "(none)");
}

static void print_label_counts(const dlcc_labeled_data *data) {
  const dlcc_label_table *t = &data->table;
  printf("labels per body part (of %zu images):\n", t->n_rows);
  for (size_t c = 0; c < t->n_columns; c++) {
    size_t n = 0;
    for (size_t r = 0; r < t->n_rows; r++) n += !isnan(t->values[dlcc_label_index(t, r, c, 0)]);
    if (t->columns[c].individual) printf("  %-12s %-16s %zu\n", t->columns[c].individual, t->columns[c].bodypart, n);
    else printf("  %-16s %zu\n", t->columns[c].bodypart, n);
  }
}

int cli_check_project(int argc, char **argv) {
  static const struct option options[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    if (c == 'h') {
      print_help();
      return CLI_OK;
    }
    return cli_option_error(VERB, c, argv);
  }
  if (optind != argc - 1) return cli_usage_error(VERB, "give exactly one CONFIG (the project's config.yaml)");
  dlcc_project_config cfg;
  dlcc_error err;
  if (dlcc_config_load(argv[optind], &cfg, &err)) return cli_report_error(VERB, &err);
  printf("project       %s\n", cfg.root);
  printf("task          %s, scorer %s, date %s, iteration %d\n", cfg.task, cfg.scorer, cfg.date, cfg.iteration);
  if (cfg.multianimal) {
    printf("kind          multi-animal%s\n", cfg.identity ? " (with identity)" : "");
    print_list("individuals", cfg.individuals, cfg.n_individuals);
    print_list("body parts", cfg.multianimalbodyparts, cfg.n_multianimalbodyparts);
    print_list("unique parts", cfg.uniquebodyparts, cfg.n_uniquebodyparts);
  } else {
    printf("kind          single animal\n");
    print_list("body parts", cfg.bodyparts, cfg.n_bodyparts);
  }
  for (size_t i = 0; i < cfg.n_video_sets; i++) {
    char *video = dlcc_path_join(cfg.root, cfg.video_sets[i].path);
    printf("video         %s%s\n", cfg.video_sets[i].path, video && dlcc_path_is_file(video) ? "" : "  (not found)");
    free(video);
  }
  dlcc_labeled_data data;
  dlcc_notes notes = {0};
  dlcc_status st = dlcc_labeled_data_collect(&cfg, &data, &notes, &err);
  cli_print_notes(&notes);
  dlcc_notes_free(&notes);
  int rc = CLI_OK;
  if (st) {
    rc = cli_report_error(VERB, &err);
  } else {
    printf("labeled       %zu images (%zu listed but missing on disk)\n", data.table.n_rows, data.n_missing_images);
    print_label_counts(&data);
    dlcc_labeled_data_free(&data);
  }
  dlcc_config_free(&cfg);
  return rc;
}
