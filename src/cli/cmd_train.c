/* `dlcc train CONFIG [--shuffle K] [--trainingsetindex I] [--max-iters N] [--display-iters D]
 * [--save-iters S] [--seed S] [--threads T] [--workers W] [--resume]`: the progress bar (or plain
 * lines when stderr is not a terminal), Ctrl-C turned into the library's stop flag, the summary. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/verbs.h"
#include "train/trainer.h"

static const char *const VERB = "train";

/* The shell's convention for a program stopped by SIGINT. */
enum { EXIT_INTERRUPTED = 130 };

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int signo) {
  (void)signo;
  static const char message[] = "\nstopping after this iteration and saving a snapshot (Ctrl-C again quits at once)\n";
  stop_requested = 1;
  ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
  (void)ignored;
}

/* SA_RESETHAND: a second Ctrl-C gets the default action, for a user who cannot wait. */
static void install_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static void print_help(void) {
  printf(
      "usage: dlcc train CONFIG [--shuffle K] [--trainingsetindex I] [--max-iters N] [--display-iters D]\n"
      "                  [--save-iters S] [--seed S] [--threads T] [--workers W] [--resume]\n"
      "                  [--precision P]\n\n"
      "Trains the shuffle's network as DeepLabCut's TensorFlow engine does, with the hyperparameters of\n"
      "  dlc-models/iteration-<i>/<Task><date>-trainset<pct>shuffle<k>/train/pose_cfg.yaml\n"
      "(written by create-training-dataset): batches of batch_size frames scaled by global_scale and the\n"
      "scale jitter, rotated and mirrored; the optimizer and multi_step learning rates; iterations 0 to\n"
      "multi_step's last. Multi-animal shuffles train as DeepLabCut's maDLC does: crops of crop_size x\n"
      "global_scale x jitter (crop_sampling, max_shift), fliplr with symmetric_pairs, rotation; score\n"
      "maps of every animal (and identity channels), locref and part affinity fields (limb loss).\n"
      "Every display_iters a line goes to the screen, train/log.txt and train/learning_stats.csv\n"
      "(iteration, loss, rate, as DeepLabCut writes it; maDLC: each loss); every\n"
      "save_iters and at the end a snapshot train/snapshot-<iteration>.safetensors is written (at most\n"
      "max_snapshots_to_keep are kept). Ctrl-C finishes the iteration, saves a snapshot and stops;\n"
      "--resume continues from the newest snapshot as if training had never stopped.\n\n"
      "  CONFIG               the project's config.yaml (or its folder)\n"
      "  --shuffle K          shuffle number (default 1)\n"
      "  --trainingsetindex I which TrainingFraction of config.yaml, from 0 (default 0)\n"
      "  --max-iters N        stop after iteration N (default: multi_step's last iteration)\n"
      "  --display-iters D    log every D iterations (default: pose_cfg's display_iters)\n"
      "  --save-iters S       snapshot every S iterations (default: pose_cfg's save_iters)\n"
      "  --seed S             seed of the initial weights and of the batches (default: the shuffle number)\n"
      "  --threads T          compute threads (default: one per core)\n"
      "  --workers W          threads preparing batches (default %d)\n"
      "  --resume             continue from the newest snapshot in the train folder\n"
      "  --precision P        activations in f32 (default), bf16, or auto (bf16 where the CPU computes it\n"
      "                       natively: AVX512-BF16 or AMX); weights, optimizer and snapshots stay f32\n",
      DLCC_TRAIN_DEFAULT_WORKERS);
}

/* ---- progress ---- */

typedef struct screen {
  bool terminal;          /* stderr is a terminal: a bar redrawn in place */
  bool bar_shown;
  double last_draw;
  size_t notes_printed;   /* notes are printed as they come: at the start, then the rest at the end */
} screen;

static double monotonic_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void format_duration(double seconds, char *buf, size_t size) {
  long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
  if (s >= 3600) snprintf(buf, size, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
  else if (s >= 60) snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
  else snprintf(buf, size, "%lds", s);
}

static int terminal_width(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

static void clear_bar(screen *s) {
  if (s->bar_shown) fputs("\r\033[K", stderr);
  s->bar_shown = false;
}

static void draw_bar(screen *s, const dlcc_train_progress *p) {
  double done = (double)(p->iteration - p->first_iteration + 1);
  double total = (double)(p->last_iteration - p->first_iteration + 1);
  char eta[32], text[160];
  format_duration(p->eta_s, eta, sizeof eta);
  int n = snprintf(text, sizeof text, " %ld/%ld %3.0f%% loss %.4f %.2f img/s ETA %s", p->iteration,
                   p->last_iteration, 100.0 * done / total, p->losses.total, p->images_per_s, eta);
  int width = terminal_width() - 3 - (n > 0 ? n : 0);
  if (width > 40) width = 40;
  char bar[48] = "";
  if (width > 0) {
    int filled = (int)(width * done / total);
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
  }
  fprintf(stderr, "\r\033[K%s%s%s%s", width > 0 ? "[" : "", bar, width > 0 ? "]" : "", text);
  fflush(stderr);
  s->bar_shown = true;
}

static void print_new_notes(screen *s, const dlcc_notes *notes) {
  for (; s->notes_printed < notes->count; s->notes_printed++)
    fprintf(stderr, "note: %s\n", notes->lines[s->notes_printed]);
}

static void print_started(screen *s, const dlcc_train_progress *p) {
  print_new_notes(s, p->notes);
  fprintf(stderr, "Training %s (%s) in %s: iterations %ld to %ld\n", p->net_type, p->precision, p->train_dir,
          p->first_iteration, p->last_iteration);
}

static void on_progress(const dlcc_train_progress *p, void *user) {
  screen *s = user;
  switch (p->event) {
  case DLCC_TRAIN_STARTED: print_started(s, p); break;
  case DLCC_TRAIN_ITERATION:
    if (s->terminal && (monotonic_s() - s->last_draw > 0.25 || p->iteration == p->last_iteration)) {
      draw_bar(s, p);
      s->last_draw = monotonic_s();
    }
    break;
  case DLCC_TRAIN_DISPLAY:
    clear_bar(s);
    fprintf(stderr, "%s\n", p->log_line);
    break;
  case DLCC_TRAIN_SNAPSHOT:
    clear_bar(s);
    fprintf(stderr, "saved %s\n", p->snapshot);
    break;
  }
}

/* ---- the verb ---- */

static void print_summary(const dlcc_train_result *r) {
  char wall[32];
  format_duration(r->wall_s, wall, sizeof wall);
  if (r->iterations > 0)
    printf("Trained iterations %ld to %ld (%ld iterations) in %s: %.2f images/s\n", r->first_iteration,
           r->last_iteration, r->iterations, wall, r->images_per_s);
  if (r->snapshot) printf("Snapshot: %s\n", r->snapshot);
  if (r->train_dir && r->iterations > 0) printf("Log: %s/log.txt\n", r->train_dir);
}

/* Parses one option into opt; returns CLI_OK or the exit code to stop with. */
static int parse_option(int c, dlcc_train_options *opt, char **argv) {
  long v;
  switch (c) {
  case 'k': if (!cli_parse_int(VERB, "shuffle", optarg, 1, 100000, &v)) return CLI_USAGE; opt->shuffle = (int)v; break;
  case 'i':
    if (!cli_parse_int(VERB, "trainingsetindex", optarg, 0, 1000, &v)) return CLI_USAGE;
    opt->trainingsetindex = (int)v;
    break;
  case 'n': if (!cli_parse_int(VERB, "max-iters", optarg, 1, 1000000000L, &opt->max_iters)) return CLI_USAGE; break;
  case 'd': if (!cli_parse_int(VERB, "display-iters", optarg, 1, 1000000000L, &opt->display_iters)) return CLI_USAGE; break;
  case 'v': if (!cli_parse_int(VERB, "save-iters", optarg, 1, 1000000000L, &opt->save_iters)) return CLI_USAGE; break;
  case 's':
    if (!cli_parse_u64(VERB, "seed", optarg, &opt->seed)) return CLI_USAGE;
    opt->seed_given = true;
    break;
  case 't': if (!cli_parse_int(VERB, "threads", optarg, 1, 4096, &v)) return CLI_USAGE; opt->threads = (int)v; break;
  case 'w': if (!cli_parse_int(VERB, "workers", optarg, 1, 256, &v)) return CLI_USAGE; opt->workers = (int)v; break;
  case 'r': opt->resume = true; break;
  case 'P': if (!cli_parse_precision(VERB, optarg, &opt->precision)) return CLI_USAGE; break;
  default: return cli_option_error(VERB, c, argv);
  }
  return CLI_OK;
}

int cli_train(int argc, char **argv) {
  static const struct option options[] = {{"shuffle", required_argument, 0, 'k'},
                                          {"trainingsetindex", required_argument, 0, 'i'},
                                          {"max-iters", required_argument, 0, 'n'},
                                          {"display-iters", required_argument, 0, 'd'},
                                          {"save-iters", required_argument, 0, 'v'},
                                          {"seed", required_argument, 0, 's'},
                                          {"threads", required_argument, 0, 't'},
                                          {"workers", required_argument, 0, 'w'},
                                          {"resume", no_argument, 0, 'r'},
                                          {"precision", required_argument, 0, 'P'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
  dlcc_train_options opt;
  dlcc_train_options_default(&opt);
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    if (c == 'h') {
      print_help();
      return CLI_OK;
    }
    int code = parse_option(c, &opt, argv);
    if (code != CLI_OK) return code;
  }
  if (optind != argc - 1) return cli_usage_error(VERB, "give exactly one CONFIG (the project's config.yaml)");

  screen s = {.terminal = isatty(STDERR_FILENO)};
  opt.config_path = argv[optind];
  opt.stop = &stop_requested;
  opt.progress = on_progress;
  opt.user = &s;
  install_handlers();
  dlcc_train_result result;
  dlcc_notes notes = {0};
  dlcc_error err;
  dlcc_status st = dlcc_train_run(&opt, &result, &notes, &err);
  clear_bar(&s);
  print_new_notes(&s, &notes);
  dlcc_notes_free(&notes);
  print_summary(&result);
  dlcc_train_result_free(&result);
  if (st == DLCC_ERR_INTERRUPTED) {
    fprintf(stderr, "dlcc %s: %s\n", VERB, err.message);
    return EXIT_INTERRUPTED;
  }
  return st ? cli_report_error(VERB, &err) : CLI_OK;
}
