/* Times dlcc's network engine on one job (a DeepLabCut pose network, training step or inference, at
 * one batch size, input size and precision) for bench/engine.sh, which runs PyTorch on the same job
 * (bench/torch_engine.py) and prints both. Not a test: it measures, it checks nothing. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "nn/engine.h"
#include "nn/loss.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "util/rng.h"

/* DeepLabCut's defaults where a training step needs a number: openfield's 4 body parts, pose_cfg's
 * first multi_step learning rate and locref_loss_weight. */
#define BENCH_JOINTS 4
#define BENCH_LR 0.005
#define BENCH_LOCREF_WEIGHT 0.05

typedef struct bench_args {
  const char *net_type;
  bool train;
  dlcc_nn_dtype dtype;
  int batch, width, height, threads, warmup, iters;
  double min_seconds;
  unsigned long seed;
  bool cpu_info;
} bench_args;

/* Everything one iteration touches, allocated once so that the timed loop allocates nothing. */
typedef struct bench_job {
  dlcc_nn_engine *e;
  dlcc_nn_network *net;
  dlcc_nn_optimizer opt;
  bool opt_ready;
  int64_t dims[4];
  float *images;
  float *out[2], *target[2], *grad[2]; /* part_pred, locref */
  size_t count[2];
  dlcc_nn_loss_spec spec;
} bench_job;

static const char USAGE[] =
    "usage: bench_engine --cpu-info [--threads N]\n"
    "       bench_engine --net NET --mode train|infer [--dtype f32|bf16] --batch N --size WxH\n"
    "                    [--threads N] [--warmup N] [--iters N] [--min-seconds S] [--seed S]\n"
    "Prints one line: 'result img_per_s R mean_img_per_s M iters N seconds S others_cpu F maxrss_kib K'\n"
    "(R from the fastest iteration, F the share of the CPUs other processes used meanwhile).\n";

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool parse_args(int argc, char **argv, bench_args *a) {
  *a = (bench_args){.dtype = DLCC_NN_F32, .batch = 1, .warmup = 1, .iters = 3, .seed = 1};
  static const struct option opts[] = {
    {"net", required_argument, 0, 'n'},     {"mode", required_argument, 0, 'm'},
    {"dtype", required_argument, 0, 'd'},   {"batch", required_argument, 0, 'b'},
    {"size", required_argument, 0, 's'},    {"threads", required_argument, 0, 't'},
    {"warmup", required_argument, 0, 'w'},  {"iters", required_argument, 0, 'i'},
    {"min-seconds", required_argument, 0, 'S'}, {"seed", required_argument, 0, 'r'},
    {"cpu-info", no_argument, 0, 'c'},      {0, 0, 0, 0},
  };
  const char *mode = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
      case 'n': a->net_type = optarg; break;
      case 'm': mode = optarg; break;
      case 'd':
        if (strcmp(optarg, "f32") && strcmp(optarg, "bf16")) return false;
        a->dtype = strcmp(optarg, "bf16") ? DLCC_NN_F32 : DLCC_NN_BF16;
        break;
      case 'b': a->batch = atoi(optarg); break;
      case 's':
        if (sscanf(optarg, "%dx%d", &a->width, &a->height) != 2) return false;
        break;
      case 't': a->threads = atoi(optarg); break;
      case 'w': a->warmup = atoi(optarg); break;
      case 'i': a->iters = atoi(optarg); break;
      case 'S': a->min_seconds = atof(optarg); break;
      case 'r': a->seed = strtoul(optarg, NULL, 10); break;
      case 'c': a->cpu_info = true; break;
      default: return false;
    }
  }
  if (a->cpu_info) return optind == argc;
  if (!a->net_type || !mode || (strcmp(mode, "train") && strcmp(mode, "infer"))) return false;
  a->train = strcmp(mode, "train") == 0;
  return optind == argc && a->batch > 0 && a->width > 0 && a->height > 0 && a->warmup >= 0 && a->iters > 0 &&
         a->threads >= 0;
}

static float *alloc_floats(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

/* Random images (RGB 0..255) and, for training, random targets in DeepLabCut's form: binary score
 * maps (about one cell in ten positive) and unit-normal locref offsets. */
static dlcc_status job_data(bench_job *j, const bench_args *a, dlcc_rng *rng, dlcc_error *err) {
  size_t n = (size_t)a->batch * 3 * (size_t)a->width * (size_t)a->height;
  j->images = alloc_floats(n);
  if (!j->images) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for %zu input floats", n);
  for (size_t i = 0; i < n; i++) j->images[i] = (float)(255.0 * dlcc_rng_uniform(rng));
  const dlcc_nn_head heads[2] = {DLCC_NN_HEAD_PART, DLCC_NN_HEAD_LOCREF};
  for (int h = 0; h < 2; h++) {
    int64_t od[4];
    if (dlcc_nn_network_output_dims(j->net, heads[h], j->dims, od, err)) return err->status;
    j->count[h] = (size_t)(od[0] * od[1] * od[2] * od[3]);
    j->out[h] = alloc_floats(j->count[h]);
    j->target[h] = alloc_floats(j->count[h]);
    j->grad[h] = alloc_floats(j->count[h]);
    if (!j->out[h] || !j->target[h] || !j->grad[h]) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for heads");
    for (size_t i = 0; i < j->count[h]; i++)
      j->target[h][i] = h == 0 ? (dlcc_rng_uniform(rng) < 0.1 ? 1.0f : 0.0f) : (float)dlcc_rng_normal(rng);
  }
  j->spec = (dlcc_nn_loss_spec){.location_refinement = true, .locref_kind = DLCC_NN_LOSS_HUBER,
                                .locref_loss_weight = BENCH_LOCREF_WEIGHT};
  return DLCC_OK;
}

/* torchvision's zero_init_residual: each bottleneck's last batch-norm scale starts at 0. With frozen
 * batch norm and random weights (no ImageNet statistics) ResNet-50's activations otherwise grow
 * block after block until the first SGD step overflows; zeros cost oneDNN the same time as any
 * other value, so the step is timed as with real weights. torch_engine.py does the same. */
static void zero_init_residual(dlcc_nn_params *p) {
  const char *suffix = ".bn3.weight";
  size_t ls = strlen(suffix);
  for (size_t i = 0; i < p->count; i++) {
    const char *name = p->items[i].name;
    size_t ln = strlen(name);
    if (ln > ls && strcmp(name + ln - ls, suffix) == 0)
      memset(dlcc_nn_param_values(p, i), 0, p->items[i].count * sizeof(float));
  }
  dlcc_nn_params_changed(p);
}

static dlcc_status job_setup(bench_job *j, const bench_args *a, dlcc_error *err) {
  if (dlcc_nn_engine_create(&j->e, a->threads, err)) return err->status;
  dlcc_nn_net_desc desc = dlcc_nn_net_desc_default(a->net_type, BENCH_JOINTS);
  desc.dtype = a->dtype;
  if (dlcc_nn_network_create(&j->net, &desc, err)) return err->status;
  dlcc_rng rng;
  dlcc_rng_seed(&rng, a->seed);
  dlcc_nn_network_init_random(j->net, &rng);
  zero_init_residual(&j->net->params);
  j->dims[0] = a->batch, j->dims[1] = 3, j->dims[2] = a->height, j->dims[3] = a->width;
  if (job_data(j, a, &rng, err)) return err->status;
  if (a->train) {
    if (dlcc_nn_optimizer_init(&j->opt, DLCC_NN_OPT_SGD, 0.0, &j->net->params, err)) return err->status;
    j->opt_ready = true;
  }
  return DLCC_OK;
}

static dlcc_status export_heads(bench_job *j, dlcc_error *err) {
  if (dlcc_nn_network_head_export(j->net, j->e, DLCC_NN_HEAD_PART, j->out[0], err)) return err->status;
  return dlcc_nn_network_head_export(j->net, j->e, DLCC_NN_HEAD_LOCREF, j->out[1], err);
}

/* One training step as the trainer will take it: forward, DeepLabCut's losses and their gradients,
 * backward, SGD with momentum. */
static dlcc_status train_step(bench_job *j, dlcc_error *err) {
  if (dlcc_nn_network_forward(j->net, j->e, j->images, j->dims, DLCC_NN_TRAINING, err)) return err->status;
  if (export_heads(j, err)) return err->status;
  dlcc_nn_loss_batch batch = {
    .part = {.pred = j->out[0], .target = j->target[0], .grad = j->grad[0], .count = j->count[0]},
    .locref = {.pred = j->out[1], .target = j->target[1], .grad = j->grad[1], .count = j->count[1]},
  };
  dlcc_nn_losses losses;
  if (dlcc_nn_total_loss(&j->spec, &batch, &losses, err)) return err->status;
  const float *grads[DLCC_NN_HEADS] = {j->grad[0], j->grad[1], NULL, NULL};
  if (dlcc_nn_network_backward(j->net, j->e, grads, err)) return err->status;
  return dlcc_nn_optimizer_step(&j->opt, &j->net->params, BENCH_LR, err);
}

static dlcc_status infer_step(bench_job *j, dlcc_error *err) {
  if (dlcc_nn_network_forward(j->net, j->e, j->images, j->dims, DLCC_NN_INFERENCE, err)) return err->status;
  return export_heads(j, err);
}

static void job_free(bench_job *j) {
  if (j->opt_ready) dlcc_nn_optimizer_free(&j->opt);
  for (int h = 0; h < 2; h++) free(j->out[h]), free(j->target[h]), free(j->grad[h]);
  free(j->images);
  dlcc_nn_network_free(j->net);
  dlcc_nn_engine_free(j->e);
}

/* CPU seconds the whole machine spent busy (user, system, interrupts, and steal: time the hypervisor
 * gave to other machines), from /proc/stat; -1 when unreadable. */
static double machine_busy_seconds(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                 &v[7]);
  fclose(f);
  if (n != 8) return -1;
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
         1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Warm-up (primitive creation, first touch of buffers) untimed, then at least a->iters timed
 * iterations and at least a->min_seconds. Reports the fastest iteration (the least disturbed by
 * anything else on the machine), the mean, and the share of the CPUs other processes used meanwhile. */
static dlcc_status run_job(const bench_args *a, dlcc_error *err) {
  bench_job j = {0};
  dlcc_status st = job_setup(&j, a, err);
  int iters = 0;
  double elapsed = 0, best = -1;
  for (int i = 0; st == DLCC_OK && i < a->warmup; i++) st = a->train ? train_step(&j, err) : infer_step(&j, err);
  double start = now_seconds(), busy0 = machine_busy_seconds(), own0 = own_cpu_seconds();
  while (st == DLCC_OK && (iters < a->iters || elapsed < a->min_seconds)) {
    double t0 = now_seconds();
    st = a->train ? train_step(&j, err) : infer_step(&j, err);
    double t = now_seconds() - t0;
    if (best < 0 || t < best) best = t;
    iters++;
    elapsed = now_seconds() - start;
  }
  double others_busy = machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0);
  double others = others_busy / (elapsed * (double)sysconf(_SC_NPROCESSORS_ONLN));
  char engine[256] = "";
  if (j.e) dlcc_nn_engine_describe(j.e, engine, sizeof engine);
  job_free(&j);
  if (st) return st;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fprintf(stderr, "bench_engine: %s\n", engine);
  printf("result img_per_s %.4f mean_img_per_s %.4f iters %d seconds %.3f others_cpu %.2f maxrss_kib %ld\n",
         a->batch / best, a->batch * iters / elapsed, iters, elapsed, busy0 < 0 ? -1.0 : others, ru.ru_maxrss);
  return DLCC_OK;
}

/* "isa avx2 bf16 0 bf16_fast 0 onednn 2.6.3 threads 2": what oneDNN dispatches to, for the script. */
static dlcc_status print_cpu_info(const bench_args *a, dlcc_error *err) {
  dlcc_nn_engine *e;
  if (dlcc_nn_engine_create(&e, a->threads, err)) return err->status;
  dlcc_nn_cpu_info info = dlcc_nn_cpu_info_get(e);
  printf("isa %s bf16 %d bf16_fast %d onednn %d.%d.%d threads %d\n", info.isa, info.bf16_available, info.bf16_fast,
         info.onednn_major, info.onednn_minor, info.onednn_patch, info.threads);
  dlcc_nn_engine_free(e);
  return DLCC_OK;
}

int main(int argc, char **argv) {
  bench_args a;
  if (!parse_args(argc, argv, &a)) {
    fputs(USAGE, stderr);
    return 2;
  }
  dlcc_error err = {0};
  dlcc_status st = a.cpu_info ? print_cpu_info(&a, &err) : run_job(&a, &err);
  if (st) {
    fprintf(stderr, "bench_engine: %s\n", err.message);
    return 1;
  }
  return 0;
}
