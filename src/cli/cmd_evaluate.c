/* `dlcc evaluate CONFIG [--shuffle K] [--trainingsetindex I] [--snapshot N] [--plot] [--precision P]`. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/progress.h"
#include "cli/verbs.h"
#include "eval/evaluate.h"
#include "util/fileio.h"

static const char *const VERB = "evaluate";

static void print_help(void) {
  printf(
      "usage: dlcc evaluate CONFIG [--shuffle K] [--trainingsetindex I] [--snapshot N] [--plot]\n"
      "                     [--precision P]\n\n"
      "Predicts every labeled image of the shuffle's merged CollectedData at its native size with a trained\n"
      "snapshot, and reports DeepLabCut's train and test errors (mean distance to the labels in pixels), with\n"
      "and without config.yaml's pcutoff, per body part and overall. Writes, as DeepLabCut's\n"
      "evaluate_network does:\n"
      "  evaluation-results/iteration-<i>/CombinedEvaluation-results.csv          one row per evaluated snapshot\n"
      "  evaluation-results/iteration-<i>/<Task><date>-trainset<pct>shuffle<k>/\n"
      "      <scorer>-results.csv, <scorer>-keypoint-results.csv (per body part),\n"
      "      <scorer>-snapshot-<N>.csv (the predictions), LabeledImages_<scorer>_snapshot-<N>/ (--plot)\n"
      "Evaluating a snapshot again replaces its rows.\n\n"
      "Multi-animal projects are evaluated as DeepLabCut's TensorFlow evaluate_multianimal: the errors are\n"
      "those of the detections (each label takes the nearest free peak of its body part, whatever the\n"
      "individual); the individuals are assembled with the shuffle's test/inference_cfg.yaml, and mAP / mAR\n"
      "over OKS 0.50:0.95 (individuals matched by optimal OKS assignment per image) go into four more\n"
      "columns (train mAP, train mAR, test mAP, test mAR, in percent). Also printed: the error of the\n"
      "assembled individuals (matched to labeled ones by greedy OKS, as DeepLabCut 3's rmse). Extra files:\n"
      "dist_<N>.csv (DeepLabCut's per-label distances and scores) and <scorer>-snapshot-<N>-assemblies.csv;\n"
      "--plot draws the assembled individuals.\n\n"
      "  CONFIG               the project's config.yaml (or its folder)\n"
      "  --shuffle K          shuffle number (default 1)\n"
      "  --trainingsetindex I which TrainingFraction of config.yaml, counted from 0 (default 0)\n"
      "  --snapshot N         the snapshot of iteration N (train/snapshot-N.safetensors); default:\n"
      "                       config.yaml's snapshotindex (-1 the last, k the k-th from 0, all: every one)\n"
      "  --plot               also draw labels (+) and predictions (dot, x below pcutoff) on each image\n"
      "                       (multi-animal: the assembled individuals)\n"
      CLI_PRECISION_HELP);
}

typedef struct evaluate_args {
  const char *config;
  dlcc_model_options model;
  bool plot;
} evaluate_args;

/* 0 when the arguments are good, else the exit code. */
static int parse_args(int argc, char **argv, evaluate_args *a) {
  static const struct option options[] = {{"shuffle", required_argument, 0, 'k'},
                                          {"trainingsetindex", required_argument, 0, 't'},
                                          {"snapshot", required_argument, 0, 's'},
                                          {"plot", no_argument, 0, 'p'},
                                          {"precision", required_argument, 0, 'P'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
  *a = (evaluate_args){.model = {.shuffle = 1, .snapshot_iteration = DLCC_MODEL_SNAPSHOT_FROM_CONFIG}};
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
      case 's':
        if (!cli_parse_int(VERB, "snapshot", optarg, 0, 1000000000000L, &v)) return CLI_USAGE;
        a->model.snapshot_iteration = v;
        break;
      case 'p': a->plot = true; break;
      case 'P':
        if (!cli_parse_precision(VERB, optarg, &a->model.precision)) return CLI_USAGE;
        break;
      case 'h': print_help(); return -1;
      default: return cli_option_error(VERB, c, argv);
    }
  }
  if (optind != argc - 1) return cli_usage_error(VERB, "give exactly one CONFIG (the project's config.yaml)");
  a->config = argv[optind];
  return 0;
}

/* One line of the summary: a label and up to 4 numbers with 2 decimals ("-" when nothing counted). */
static void print_summary_line(const char *label, const double *v, int n) {
  printf("%-46s", label);
  for (int i = 0; i < n; i++) {
    if (isnan(v[i])) printf("%8s", "-");
    else printf("%8.2f", dlcc_eval_round2(v[i]));
  }
  printf("\n");
}

static void print_multi_summary(const dlcc_snapshot_evaluation *s) {
  const dlcc_ma_eval_result *m = &s->ma;
  const dlcc_eval_means *d = &s->errors.overall, *a = &m->assembly;
  printf("Images scored (labeled, with a detection): %zu train, %zu test\n", m->n_scored_train, m->n_scored_test);
  printf("%-46s%8s%8s%8s%8s\n", "", "train", "test", "train", "test");
  printf("%-46s%8s%8s%8s%8s\n", "", "", "", "p>=cut", "p>=cut");
  print_summary_line("error (px), detection nearest to each label", (double[]){d->train, d->test, d->train_cutoff,
                                                                             d->test_cutoff}, 4);
  print_summary_line("error (px), assembled individuals (greedy OKS)", (double[]){a->train, a->test, a->train_cutoff,
                                                                                a->test_cutoff}, 4);
  print_summary_line("mAP (%), optimal OKS assignment", (double[]){100 * m->map_train.map, 100 * m->map_test.map}, 2);
  print_summary_line("mAR (%), optimal OKS assignment", (double[]){100 * m->map_train.mar, 100 * m->map_test.mar}, 2);
  printf("(pcutoff %g; mAP/mAR over OKS 0.50:0.95 of %zu train and %zu test labeled individuals; the results\n"
         "tables hold the detection errors, as DeepLabCut's TensorFlow engine reports them)\n",
         s->errors.pcutoff, m->map_train.n_truth, m->map_test.n_truth);
  if (s->dropped_individuals)
    printf("Note: %zu assembled individuals beyond the labeled individuals are not in %s\n", s->dropped_individuals,
           s->assemblies_path);
}

static void print_result(const dlcc_snapshot_evaluation *s) {
  if (s->multianimal) printf("Errors of the detections per body part (each label takes its nearest free detection):\n");
  char *table = dlcc_eval_format_table(&s->errors);
  if (table) printf("%s", table);
  free(table);
  if (s->multianimal) print_multi_summary(s);
  printf("Results: %s\n         %s\n         %s (per body part)\n         %s (%s)\n", s->combined_path,
         s->results_path, s->keypoint_path, s->predictions_path,
         s->multianimal ? "the detection matched with each label" : "predictions");
  if (s->multianimal)
    printf("         %s (distances and scores)\n         %s (assembled individuals)\n", s->dist_path,
           s->assemblies_path);
  if (s->plot_dir) printf("Plots:   %s/\n", s->plot_dir);
}

static int evaluate_all(dlcc_evaluation *ev, bool plot) {
  dlcc_nn_engine *engine = NULL;
  dlcc_error err;
  if (dlcc_nn_engine_create(&engine, 0, &err)) return cli_report_error(VERB, &err);
  int rc = CLI_OK;
  for (size_t k = 0; k < ev->model.n_selected && rc == CLI_OK; k++) {
    const dlcc_snapshot_file *snap = &ev->model.snapshots[ev->model.selected[k]];
    printf("Evaluating snapshot-%ld of shuffle %d on %zu labeled images (%zu train, %zu test)\n", snap->iteration,
           ev->model.shuffle, ev->labels.n_rows, ev->split.n_train, ev->split.n_test);
    fflush(stdout);
    cli_progress progress;
    cli_progress_init(&progress, "evaluate", "images");
    dlcc_snapshot_evaluation result;
    dlcc_status st = dlcc_evaluation_run(ev, engine, k, plot, cli_progress_update, &progress, &result, &err);
    cli_progress_end(&progress);
    if (st) rc = cli_report_error(VERB, &err);
    else print_result(&result);
    dlcc_snapshot_evaluation_free(&result);
  }
  dlcc_nn_engine_free(engine);
  return rc;
}

int cli_evaluate(int argc, char **argv) {
  evaluate_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? CLI_OK : rc;
  dlcc_project_config cfg;
  dlcc_error err;
  if (dlcc_config_load(a.config, &cfg, &err)) return cli_report_error(VERB, &err);
  dlcc_evaluation ev;
  dlcc_notes notes = {0};
  dlcc_status st = dlcc_evaluation_open(&ev, &cfg, &a.model, &notes, &err);
  cli_print_notes(&notes);
  dlcc_notes_free(&notes);
  rc = st ? cli_report_error(VERB, &err) : evaluate_all(&ev, a.plot);
  dlcc_evaluation_close(&ev);
  dlcc_config_free(&cfg);
  return rc;
}
