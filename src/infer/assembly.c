/* DeepLabCut's Assembler for one frame: links per limb, grouping into individuals, fusion, pose NMS,
 * unique parts, optional calibration by labeled body-part distances. See assembly.h for what is
 * implemented; comments here say where an order or a dtype matters to reproduce its results. */
#include "infer/assembly.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/assignment.h"

/* ---------------------------------------------------------------------------------------------- */
/* Growable scratch                                                                               */

/* Ensures *p holds at least need elements of size elem; keeps the contents. 0 or -1 (no memory). */
static int grow(void *p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 16;
  while (n < need) n *= 2;
  void *q = realloc(*(void **)p, n * elem);
  if (!q) return -1;
  *(void **)p = q;
  *cap = n;
  return 0;
}

#define GROW(ptr, cap, need) grow(&(ptr), &(cap), (need), sizeof *(ptr))
#define TRY(x)         \
  do {                 \
    if ((x) < 0) return -1; \
  } while (0)

/* ---------------------------------------------------------------------------------------------- */
/* Frame data                                                                                     */

typedef struct joint {
  double x, y, conf;
  int label;
} joint;

typedef struct link {
  int j1, j2;                 /* joint indices: j1 a peak of the limb's joint_a, j2 of joint_b */
  double affinity;
} link;

/* DeepLabCut's Assembly: a row per multi-animal part, its links and their summed affinity. */
typedef struct assembly {
  int *slot;                  /* [n_multi]: the joint in that row, -1 when empty */
  unsigned char *removed;     /* [n_multi]: emptied by remove_joint (its score then NaN, not 0) */
  int n_visible;
  int *links;
  size_t n_links, links_cap;
  double affinity;
} assembly;

typedef struct heap_item {
  double key;                 /* -affinity on the stack, the distance increase on the tabu list */
  long counter;               /* push order: ties pop first-in first */
  int link;
} heap_item;

typedef struct heap {
  heap_item *items;
  size_t n, cap;
} heap;

struct dlcc_assembler {
  dlcc_assembler_options o;
  int num_joints, n_multi, n_unique;
  dlcc_paf_link *limbs;
  int n_limbs;
  bool calibrated;
  dlcc_assembly_prior prior;

  /* one frame */
  joint *joints;
  size_t n_joints, joints_cap;
  int *label_first, *label_count;   /* [num_joints]: the bag of each label (joints are ordered by label) */
  link *links;
  size_t n_links, links_cap;

  assembly *pool;             /* assemblies of this frame; entries keep their buffers across frames */
  size_t pool_used, pool_cap;
  int *list;                  /* the frame's assemblies in order, as pool indices */
  size_t n_list, list_cap;

  /* lookup: the links at each joint in link order, alive until an assembly takes them */
  int *adj_first, *adj_link;
  size_t adj_first_cap, adj_link_cap;
  unsigned char *alive;
  size_t alive_cap;
  long *visited;              /* per link: the fill that pushed it */
  size_t visited_cap;
  long fill_serial, counter;
  unsigned char *assembled, *discarded;
  size_t assembled_cap, discarded_cap;
  heap stack, tabu;

  /* sorting, pairing, components, fusion */
  int *order, *order_tmp;
  size_t order_cap, order_tmp_cap;
  double *keys;
  size_t keys_cap;
  int *keep_s, *keep_t, *rows, *pair_col;
  size_t keep_s_cap, keep_t_cap, rows_cap, pair_col_cap;
  double *pair_cost;
  size_t pair_cost_cap;
  dlcc_assignment pairing;     /* linear_sum_assignment scratch, kept across frames */
  int *parent, *comp_size, *nodes;
  size_t parent_cap, comp_size_cap, nodes_cap;
  int *store;
  size_t store_cap;
  unsigned char *used;
  size_t used_cap;
  double *ds_old, *scores;
  size_t ds_old_cap, scores_cap;
  int *cand_i, *cand_j;
  double *cand_delta, *cand_d;
  size_t cand_i_cap, cand_j_cap, cand_delta_cap, cand_d_cap;
  int *pair_index;            /* Mahalanobis scratch */
  double *pair_dist, *pair_dot;
};

/* ---------------------------------------------------------------------------------------------- */
/* Options, prior                                                                                 */

void dlcc_assembler_options_init(dlcc_assembler_options *o, int n_multibodyparts, int max_n_individuals) {
  o->n_multibodyparts = n_multibodyparts;
  o->max_n_individuals = max_n_individuals;
  o->greedy = false;
  o->pcutoff = 0.1;
  o->min_affinity = 0.1;
  o->min_n_links = n_multibodyparts / 2;
  o->max_overlap = 0.8;
  o->add_discarded = false;
}

void dlcc_assembly_prior_free(dlcc_assembly_prior *prior) {
  if (!prior) return;
  free(prior->mean);
  free(prior->covariance);
  free(prior->inv_cov);
  *prior = (dlcc_assembly_prior){0};
}

static size_t pair_of(int i, int j, int n) {
  if (i > j) {
    int t = i;
    i = j;
    j = t;
  }
  return (size_t)n * i - (size_t)i * (i + 1) / 2 + (size_t)(j - i - 1);
}

/* In-place Cholesky factor (lower) of the symmetric d x d matrix a; false when not positive definite. */
static bool cholesky(double *a, int d) {
  for (int j = 0; j < d; j++) {
    double s = a[(size_t)j * d + j];
    for (int k = 0; k < j; k++) s -= a[(size_t)j * d + k] * a[(size_t)j * d + k];
    if (!(s > 0) || !isfinite(s)) return false;
    double l = sqrt(s);
    a[(size_t)j * d + j] = l;
    for (int i = j + 1; i < d; i++) {
      double t = a[(size_t)i * d + j];
      for (int k = 0; k < j; k++) t -= a[(size_t)i * d + k] * a[(size_t)j * d + k];
      a[(size_t)i * d + j] = t / l;
    }
  }
  return true;
}

/* inv = (L L^T)^-1 from the Cholesky factor l (lower triangle of a d x d matrix). */
static void cholesky_inverse(const double *l, int d, double *inv, double *column) {
  for (int c = 0; c < d; c++) {
    /* solve L y = e_c, then L^T x = y */
    for (int i = 0; i < d; i++) {
      double s = i == c ? 1.0 : 0.0;
      for (int k = 0; k < i; k++) s -= l[(size_t)i * d + k] * column[k];
      column[i] = s / l[(size_t)i * d + i];
    }
    for (int i = d - 1; i >= 0; i--) {
      double s = column[i];
      for (int k = i + 1; k < d; k++) s -= l[(size_t)k * d + i] * column[k];
      column[i] = s / l[(size_t)i * d + i];
    }
    for (int i = 0; i < d; i++) inv[(size_t)i * d + c] = column[i];
  }
  /* symmetrise what rounding left uneven */
  for (int i = 0; i < d; i++)
    for (int j = i + 1; j < d; j++) {
      double m = 0.5 * (inv[(size_t)i * d + j] + inv[(size_t)j * d + i]);
      inv[(size_t)i * d + j] = inv[(size_t)j * d + i] = m;
    }
}

dlcc_status dlcc_assembly_prior_fit(const double *xy, size_t n_animals, int n_bodyparts, dlcc_assembly_prior *prior,
                                    dlcc_error *err) {
  *prior = (dlcc_assembly_prior){0};
  if (n_bodyparts < 2)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot calibrate the assembly: it needs at least 2 multi-animal body "
                     "parts, the project has %d", n_bodyparts);
  int d = n_bodyparts * (n_bodyparts - 1) / 2;
  size_t coords = 2 * (size_t)n_bodyparts, kept = 0;
  /* DeepLabCut keeps the animals with at least 90% of their coordinates (frac_valid >= 0.9). */
  for (size_t a = 0; a < n_animals; a++) {
    size_t valid = 0;
    for (size_t c = 0; c < coords; c++) valid += !isnan(xy[a * coords + c]);
    if ((double)valid / (double)coords >= 0.9) kept++;
  }
  if (kept == 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot calibrate the assembly: none of the %zu labeled animals has "
                     "at least 90%% of its body parts labeled", n_animals);
  if ((size_t)d > kept)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot calibrate the assembly: %zu nearly complete labeled animals "
                     "for %d body-part pairs; the covariance of the distances needs at least as many animals as "
                     "pairs (label more frames or go on uncalibrated)", kept, d);
  if (kept < 2)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot calibrate the assembly: one nearly complete labeled animal "
                     "gives no covariance");
  double *dist = malloc(kept * (size_t)d * sizeof *dist);
  prior->mean = calloc((size_t)d, sizeof *prior->mean);
  prior->covariance = calloc((size_t)d * d, sizeof *prior->covariance);
  prior->inv_cov = calloc((size_t)d * d, sizeof *prior->inv_cov);
  double *column = malloc((size_t)d * sizeof *column), *data_mean = calloc((size_t)d, sizeof *data_mean);
  size_t *count = calloc((size_t)d, sizeof *count);
  dlcc_status st = DLCC_OK;
  if (!dist || !prior->mean || !prior->covariance || !prior->inv_cov || !column || !data_mean || !count) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory calibrating the assembly (%d pairs)", d);
    goto done;
  }
  size_t row = 0;
  for (size_t a = 0; a < n_animals; a++) {
    const double *p = xy + a * coords;
    size_t valid = 0;
    for (size_t c = 0; c < coords; c++) valid += !isnan(p[c]);
    if ((double)valid / (double)coords < 0.9) continue;
    double *out = dist + row++ * (size_t)d;
    for (int i = 0; i < n_bodyparts; i++)
      for (int j = i + 1; j < n_bodyparts; j++) {
        double dx = p[2 * i] - p[2 * j], dy = p[2 * i + 1] - p[2 * j + 1];
        out[pair_of(i, j, n_bodyparts)] = dx * dx + dy * dy; /* NaN when either part is missing */
      }
  }
  for (size_t r = 0; r < kept; r++)
    for (int k = 0; k < d; k++)
      if (!isnan(dist[r * d + k])) {
        prior->mean[k] += dist[r * d + k];
        count[k]++;
      }
  for (int k = 0; k < d; k++) {
    if (!count[k]) {
      st = dlcc_fail(err, DLCC_ERR_INVALID, "cannot calibrate the assembly: body-part pair %d is never labeled "
                     "together", k);
      goto done;
    }
    prior->mean[k] /= (double)count[k];
  }
  for (size_t r = 0; r < kept; r++)
    for (int k = 0; k < d; k++)
      if (isnan(dist[r * d + k])) dist[r * d + k] = prior->mean[k];
  /* np.cov (divisor n - 1), then gaussian_kde's Scott factor n^(-1/(d+4)). */
  for (size_t r = 0; r < kept; r++)
    for (int k = 0; k < d; k++) data_mean[k] += dist[r * d + k];
  for (int k = 0; k < d; k++) data_mean[k] /= (double)kept;
  for (size_t r = 0; r < kept; r++)
    for (int k = 0; k < d; k++) dist[r * d + k] -= data_mean[k];
  for (int i = 0; i < d; i++)
    for (int j = i; j < d; j++) {
      double s = 0.0;
      for (size_t r = 0; r < kept; r++) s += dist[r * d + i] * dist[r * d + j];
      s /= (double)(kept - 1);
      prior->covariance[(size_t)i * d + j] = prior->covariance[(size_t)j * d + i] = s;
    }
  memcpy(prior->inv_cov, prior->covariance, (size_t)d * d * sizeof *prior->inv_cov);
  if (!cholesky(prior->inv_cov, d)) {
    st = dlcc_fail(err, DLCC_ERR_INVALID, "cannot calibrate the assembly: the labeled body-part distances are "
                   "degenerate (singular covariance); DeepLabCut goes on uncalibrated here");
    goto done;
  }
  /* the factor stays in a copy of the data covariance until the inverse is taken */
  memcpy(dist, prior->inv_cov, (size_t)d * d * sizeof *dist);
  double factor = pow((double)kept, -1.0 / (d + 4)), f2 = factor * factor;
  cholesky_inverse(dist, d, prior->inv_cov, column);
  for (size_t k = 0; k < (size_t)d * d; k++) {
    prior->covariance[k] *= f2;
    prior->inv_cov[k] /= f2;
  }
  prior->n_bodyparts = n_bodyparts;
  prior->n_pairs = d;
  prior->n_animals = kept;
done:
  free(dist);
  free(column);
  free(data_mean);
  free(count);
  if (st) dlcc_assembly_prior_free(prior);
  return st;
}

/* ---------------------------------------------------------------------------------------------- */
/* Assembler life cycle                                                                           */

static void assembly_release(assembly *a) {
  free(a->slot);
  free(a->removed);
  free(a->links);
}

void dlcc_assembler_free(dlcc_assembler *a) {
  if (!a) return;
  free(a->limbs);
  dlcc_assembly_prior_free(&a->prior);
  free(a->joints);
  free(a->label_first);
  free(a->label_count);
  free(a->links);
  for (size_t i = 0; i < a->pool_cap; i++) assembly_release(&a->pool[i]);
  free(a->pool);
  free(a->list);
  free(a->adj_first);
  free(a->adj_link);
  free(a->alive);
  free(a->visited);
  free(a->assembled);
  free(a->discarded);
  free(a->stack.items);
  free(a->tabu.items);
  free(a->order);
  free(a->order_tmp);
  free(a->keys);
  free(a->keep_s);
  free(a->keep_t);
  free(a->rows);
  free(a->pair_col);
  free(a->pair_cost);
  dlcc_assignment_free(&a->pairing);
  free(a->parent);
  free(a->comp_size);
  free(a->nodes);
  free(a->store);
  free(a->used);
  free(a->ds_old);
  free(a->scores);
  free(a->cand_i);
  free(a->cand_j);
  free(a->cand_delta);
  free(a->cand_d);
  free(a->pair_index);
  free(a->pair_dist);
  free(a->pair_dot);
  free(a);
}

dlcc_status dlcc_assembler_create(dlcc_assembler **out, const dlcc_assembler_options *o, int num_joints,
                                  const dlcc_paf_link *limbs, int n_limbs, const dlcc_assembly_prior *prior,
                                  dlcc_error *err) {
  *out = NULL;
  if (o->n_multibodyparts < 1 || num_joints < o->n_multibodyparts)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: %d multi-animal body parts among %d "
                     "joints; there must be at least one, and no more than the joints", o->n_multibodyparts,
                     num_joints);
  if (o->max_n_individuals < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: max_n_individuals is %d; it must be at "
                     "least 1 (inference_cfg.yaml's topktoretain)", o->max_n_individuals);
  if (!isfinite(o->pcutoff) || !isfinite(o->min_affinity) || !isfinite(o->max_overlap) || o->min_n_links < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: pcutoff %g, pafthreshold %g, "
                     "max_overlap %g, minimalnumberofconnections %d; the numbers must be finite and the count "
                     ">= 0", o->pcutoff, o->min_affinity, o->max_overlap, o->min_n_links);
  if (n_limbs < 0 || (n_limbs > 0 && !limbs))
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: no limbs given");
  for (int k = 0; k < n_limbs; k++) {
    const dlcc_paf_link *l = &limbs[k];
    if (l->joint_a < 0 || l->joint_b < 0 || l->joint_a >= o->n_multibodyparts || l->joint_b >= o->n_multibodyparts ||
        l->joint_a == l->joint_b)
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: limb %d joins joints %d and %d; a limb "
                       "must join two different multi-animal body parts (0..%d) (check pose_cfg.yaml's "
                       "partaffinityfield_graph)", k, l->joint_a, l->joint_b, o->n_multibodyparts - 1);
    for (int m = 0; m < k; m++)
      if ((limbs[m].joint_a == l->joint_a && limbs[m].joint_b == l->joint_b) ||
          (limbs[m].joint_a == l->joint_b && limbs[m].joint_b == l->joint_a))
        return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: limbs %d and %d both join joints %d "
                         "and %d (check pose_cfg.yaml's partaffinityfield_graph and paf_best)", m, k, l->joint_a,
                         l->joint_b);
  }
  if (prior && prior->n_bodyparts != o->n_multibodyparts)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: the calibration has %d body parts, the "
                     "project %d multi-animal ones", prior->n_bodyparts, o->n_multibodyparts);
  dlcc_assembler *a = calloc(1, sizeof *a);
  if (!a) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the assembler");
  a->o = *o;
  a->num_joints = num_joints;
  a->n_multi = o->n_multibodyparts;
  a->n_unique = num_joints - o->n_multibodyparts;
  a->n_limbs = n_limbs;
  a->limbs = malloc(((size_t)n_limbs + 1) * sizeof *a->limbs);
  a->label_first = malloc((size_t)num_joints * sizeof *a->label_first);
  a->label_count = malloc((size_t)num_joints * sizeof *a->label_count);
  bool ok = a->limbs && a->label_first && a->label_count;
  if (ok && n_limbs) memcpy(a->limbs, limbs, (size_t)n_limbs * sizeof *limbs);
  if (ok && prior) {
    size_t d = (size_t)prior->n_pairs;
    a->prior = *prior;
    a->prior.mean = malloc(d * sizeof(double));
    a->prior.covariance = malloc(d * d * sizeof(double));
    a->prior.inv_cov = malloc(d * d * sizeof(double));
    a->pair_index = malloc(d * sizeof *a->pair_index);
    a->pair_dist = malloc(d * sizeof *a->pair_dist);
    a->pair_dot = malloc(d * sizeof *a->pair_dot);
    ok = a->prior.mean && a->prior.covariance && a->prior.inv_cov && a->pair_index && a->pair_dist && a->pair_dot;
    if (ok) {
      memcpy(a->prior.mean, prior->mean, d * sizeof(double));
      memcpy(a->prior.covariance, prior->covariance, d * d * sizeof(double));
      memcpy(a->prior.inv_cov, prior->inv_cov, d * d * sizeof(double));
      a->calibrated = true;
    }
  }
  if (!ok) {
    dlcc_assembler_free(a);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the assembler");
  }
  *out = a;
  return DLCC_OK;
}

dlcc_status dlcc_assembly_result_init(dlcc_assembly_result *res, const dlcc_assembler *a, dlcc_error *err) {
  *res = (dlcc_assembly_result){0};
  res->max_n_individuals = a->o.max_n_individuals;
  res->n_multibodyparts = a->n_multi;
  res->n_uniquebodyparts = a->n_unique;
  size_t n = (size_t)a->o.max_n_individuals;
  res->animals = malloc(n * (size_t)a->n_multi * 3 * sizeof *res->animals);
  res->affinity = malloc(n * sizeof *res->affinity);
  res->confidence = malloc(n * sizeof *res->confidence);
  res->n_links = malloc(n * sizeof *res->n_links);
  res->unique = malloc(((size_t)a->n_unique * 3 + 1) * sizeof *res->unique);
  if (!res->animals || !res->affinity || !res->confidence || !res->n_links || !res->unique) {
    dlcc_assembly_result_free(res);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory for the assembly result");
  }
  return DLCC_OK;
}

void dlcc_assembly_result_free(dlcc_assembly_result *res) {
  if (!res) return;
  free(res->animals);
  free(res->affinity);
  free(res->confidence);
  free(res->n_links);
  free(res->unique);
  *res = (dlcc_assembly_result){0};
}

/* ---------------------------------------------------------------------------------------------- */
/* Assemblies                                                                                     */

/* A fresh assembly from the pool; its index, or -1 when out of memory. */
static int assembly_new(dlcc_assembler *a) {
  if (a->pool_used == a->pool_cap) {
    size_t cap = a->pool_cap ? 2 * a->pool_cap : 16;
    assembly *pool = realloc(a->pool, cap * sizeof *pool);
    if (!pool) return -1;
    a->pool = pool;
    for (size_t i = a->pool_cap; i < cap; i++) {
      pool[i] = (assembly){0};
      pool[i].slot = malloc((size_t)a->n_multi * sizeof *pool[i].slot);
      pool[i].removed = malloc((size_t)a->n_multi);
      if (!pool[i].slot || !pool[i].removed) {
        a->pool_cap = i + 1;
        return -1;
      }
    }
    a->pool_cap = cap;
  }
  assembly *s = &a->pool[a->pool_used];
  for (int l = 0; l < a->n_multi; l++) s->slot[l] = -1;
  memset(s->removed, 0, (size_t)a->n_multi);
  s->n_visible = 0;
  s->n_links = 0;
  s->affinity = 0.0;
  return (int)a->pool_used++;
}

static int assembly_copy(dlcc_assembler *a, int dst, int src) {
  assembly *d = &a->pool[dst], *s = &a->pool[src];
  memcpy(d->slot, s->slot, (size_t)a->n_multi * sizeof *d->slot);
  memcpy(d->removed, s->removed, (size_t)a->n_multi);
  d->n_visible = s->n_visible;
  d->affinity = s->affinity;
  TRY(GROW(d->links, d->links_cap, s->n_links));
  if (s->n_links) memcpy(d->links, s->links, s->n_links * sizeof *d->links);
  d->n_links = s->n_links;
  return 0;
}

static bool has_joint(const dlcc_assembler *a, const assembly *s, int j) {
  return s->slot[a->joints[j].label] == j;
}

static bool add_joint(const dlcc_assembler *a, assembly *s, int j) {
  int label = a->joints[j].label;
  if (s->slot[label] >= 0) return false;
  s->slot[label] = j;
  s->removed[label] = 0;
  s->n_visible++;
  return true;
}

static void remove_joint(const dlcc_assembler *a, assembly *s, int j) {
  int label = a->joints[j].label;
  if (s->slot[label] < 0) return;
  s->slot[label] = -1;
  s->removed[label] = 1;
  s->n_visible--;
}

static int append_link(assembly *s, int li, double affinity) {
  TRY(GROW(s->links, s->links_cap, s->n_links + 1));
  s->links[s->n_links++] = li;
  s->affinity += affinity;
  return 0;
}

/* Assembly.add_link: 1 when it brought a new joint, 0 when not (a link between two of its joints is
 * still recorded, with its affinity), -1 out of memory. */
static int add_link(dlcc_assembler *a, int si, int li) {
  assembly *s = &a->pool[si];
  const link *l = &a->links[li];
  if (has_joint(a, s, l->j1) && has_joint(a, s, l->j2)) {
    TRY(append_link(s, li, l->affinity));
    return 0;
  }
  if (s->slot[a->joints[l->j1].label] >= 0 && s->slot[a->joints[l->j2].label] >= 0) return 0;
  add_joint(a, s, l->j1);
  add_joint(a, s, l->j2);
  TRY(append_link(s, li, l->affinity));
  return 1;
}

/* Whether two assemblies share a body part (Assembly.__contains__). */
static bool share_parts(const dlcc_assembler *a, const assembly *s, const assembly *t) {
  for (int l = 0; l < a->n_multi; l++)
    if (s->slot[l] >= 0 && t->slot[l] >= 0) return true;
  return false;
}

/* s + t: a fresh assembly with the links of s, then those of t, added in order. */
static int assembly_sum(dlcc_assembler *a, int si, int ti) {
  int r = assembly_new(a);
  TRY(r);
  for (int pass = 0; pass < 2; pass++) {
    int src = pass ? ti : si;
    for (size_t k = 0; k < a->pool[src].n_links; k++) TRY(add_link(a, r, a->pool[src].links[k]));
  }
  return r;
}

/* Assembler.calc_assembly_mahalanobis_dist with nan_policy "little": the distance of the squared pairwise
 * distances present from the prior's means, through the inverse covariance restricted to them, scaled
 * by n_pairs / present. Infinite for an empty assembly or one without a pair. */
static double mahalanobis(dlcc_assembler *a, const assembly *s) {
  if (!s->n_visible) return INFINITY;
  int n = a->n_multi, valid = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      if (s->slot[i] < 0 || s->slot[j] < 0) continue;
      const joint *p = &a->joints[s->slot[i]], *q = &a->joints[s->slot[j]];
      double dx = p->x - q->x, dy = p->y - q->y;
      size_t k = pair_of(i, j, n);
      a->pair_index[valid] = (int)k;
      a->pair_dist[valid] = dx * dx + dy * dy - a->prior.mean[k];
      valid++;
    }
  if (!valid) return INFINITY;
  size_t d = (size_t)a->prior.n_pairs;
  for (int c = 0; c < valid; c++) {
    double s_ = 0.0;
    for (int r = 0; r < valid; r++)
      s_ += a->pair_dist[r] * a->prior.inv_cov[(size_t)a->pair_index[r] * d + (size_t)a->pair_index[c]];
    a->pair_dot[c] = s_;
  }
  double q = 0.0;
  for (int c = 0; c < valid; c++) q += a->pair_dot[c] * a->pair_dist[c];
  return (double)a->prior.n_pairs / valid * sqrt(q);
}

/* ---------------------------------------------------------------------------------------------- */
/* Heaps of (key, counter, link): Python's heapq on tuples                                        */

static bool heap_less(const heap_item *x, const heap_item *y) {
  return x->key < y->key || (x->key == y->key && x->counter < y->counter);
}

static int heap_push(heap *h, double key, long counter, int li) {
  TRY(GROW(h->items, h->cap, h->n + 1));
  size_t i = h->n++;
  heap_item item = {key, counter, li};
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!heap_less(&item, &h->items[parent])) break;
    h->items[i] = h->items[parent];
    i = parent;
  }
  h->items[i] = item;
  return 0;
}

static heap_item heap_pop(heap *h) {
  heap_item top = h->items[0], last = h->items[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && heap_less(&h->items[c + 1], &h->items[c])) c++;
    if (!heap_less(&h->items[c], &last)) break;
    h->items[i] = h->items[c];
    i = c;
  }
  if (h->n) h->items[i] = last;
  return top;
}

/* ---------------------------------------------------------------------------------------------- */
/* Sorting: stable, by a key per element                                                          */

/* Sorts idx[0..n) stably by keys[idx[.]], decreasing when descending. */
static void stable_sort(int *idx, int *tmp, size_t n, const double *keys, bool descending) {
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        double ki = keys[idx[i]], kj = keys[idx[j]];
        bool take_right = descending ? kj > ki : kj < ki;
        tmp[k++] = take_right ? idx[j++] : idx[i++];
      }
      while (i < mid) tmp[k++] = idx[i++];
      while (j < hi) tmp[k++] = idx[j++];
    }
    memcpy(idx, tmp, n * sizeof *idx);
  }
}

static int sort_indices(dlcc_assembler *a, size_t n, const double *keys, bool descending) {
  TRY(GROW(a->order, a->order_cap, n + 1));
  TRY(GROW(a->order_tmp, a->order_tmp_cap, n + 1));
  for (size_t i = 0; i < n; i++) a->order[i] = (int)i;
  stable_sort(a->order, a->order_tmp, n, keys, descending);
  return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* One frame                                                                                      */

/* Gathers the joints (Assembler._flatten_detections): by label, in peak order; a label whose peaks all
 * sit at (0, 0) is skipped as DeepLabCut's np.any(coords) skips it. */
static int gather_joints(dlcc_assembler *a, const dlcc_peaks *peaks) {
  a->n_joints = 0;
  TRY(GROW(a->joints, a->joints_cap, peaks->count + 1));
  for (int l = 0; l < a->num_joints; l++) {
    a->label_first[l] = (int)a->n_joints;
    a->label_count[l] = 0;
    size_t n = dlcc_peaks_of_joint(peaks, l);
    const dlcc_peak *p = peaks->peaks + peaks->first[l];
    bool any = false;
    for (size_t i = 0; i < n; i++) any |= p[i].x != 0.0 || p[i].y != 0.0;
    if (!any) continue;
    for (size_t i = 0; i < n; i++) a->joints[a->n_joints++] = (joint){p[i].x, p[i].y, p[i].score, l};
    a->label_count[l] = (int)n;
  }
  return 0;
}

static int add_frame_link(dlcc_assembler *a, int j1, int j2, double affinity) {
  TRY(GROW(a->links, a->links_cap, a->n_links + 1));
  a->links[a->n_links++] = (link){j1, j2, affinity};
  return 0;
}

/* Assembler.extract_best_links for one limb. aff: the limb's [n_s][n_t] costs; s0, t0 the first joint of
 * each bag. */
static int limb_links(dlcc_assembler *a, const float *aff_f32, int s0, int ns, int t0, int nt) {
  const dlcc_assembler_options *o = &a->o;
  size_t n = (size_t)ns * nt;
  TRY(GROW(a->keys, a->keys_cap, n + 1));
  double *aff = a->keys;
  for (size_t k = 0; k < n; k++) aff[k] = isnan(aff_f32[k]) ? 0.0 : (double)aff_f32[k];
  if (o->greedy) {
    /* candidates: score product >= pcutoff^2 (in double) and affinity >= min_affinity (an f32 array
     * against a Python float: compared in f32), by decreasing affinity, ties in row-major order */
    float min_aff = (float)o->min_affinity;
    TRY(GROW(a->rows, a->rows_cap, n + 1));
    int n_cand = 0;
    for (int i = 0; i < ns; i++)
      for (int j = 0; j < nt; j++) {
        double conf = a->joints[s0 + i].conf * a->joints[t0 + j].conf;
        float w = isnan(aff_f32[(size_t)i * nt + j]) ? 0.0f : aff_f32[(size_t)i * nt + j];
        if (conf >= o->pcutoff * o->pcutoff && w >= min_aff) a->rows[n_cand++] = i * nt + j;
      }
    TRY(GROW(a->order, a->order_cap, (size_t)n_cand + 1));
    TRY(GROW(a->order_tmp, a->order_tmp_cap, (size_t)n_cand + 1));
    memcpy(a->order, a->rows, (size_t)n_cand * sizeof *a->order);
    stable_sort(a->order, a->order_tmp, (size_t)n_cand, aff, true);
    TRY(GROW(a->keep_s, a->keep_s_cap, (size_t)ns + 1));
    TRY(GROW(a->keep_t, a->keep_t_cap, (size_t)nt + 1));
    memset(a->keep_s, 0, (size_t)ns * sizeof *a->keep_s);
    memset(a->keep_t, 0, (size_t)nt * sizeof *a->keep_t);
    int n_seen = 0;
    for (int c = 0; c < n_cand; c++) {
      int i = a->order[c] / nt, j = a->order[c] % nt;
      if (a->keep_s[i] || a->keep_t[j]) continue;
      a->keep_s[i] = a->keep_t[j] = 1;
      TRY(add_frame_link(a, s0 + i, t0 + j, aff[a->order[c]]));
      if (++n_seen == o->max_n_individuals) break;
    }
    return 0;
  }
  /* optimal pairing among the max_n_individuals most confident peaks of each side with score >= pcutoff */
  TRY(GROW(a->keep_s, a->keep_s_cap, (size_t)ns + 1));
  TRY(GROW(a->keep_t, a->keep_t_cap, (size_t)nt + 1));
  int n_keep[2] = {0, 0};
  for (int side = 0; side < 2; side++) {
    int first = side ? t0 : s0, count = side ? nt : ns, *keep = side ? a->keep_t : a->keep_s;
    TRY(GROW(a->scores, a->scores_cap, (size_t)count + 1));
    for (int i = 0; i < count; i++) a->scores[i] = a->joints[first + i].conf;
    TRY(sort_indices(a, (size_t)count, a->scores, true));
    int top = count < o->max_n_individuals ? count : o->max_n_individuals;
    for (int i = 0; i < top; i++)
      if (a->joints[first + a->order[i]].conf >= o->pcutoff) keep[n_keep[side]++] = a->order[i];
  }
  int nr = n_keep[0], nc = n_keep[1];
  if (!nr || !nc) return 0;
  TRY(GROW(a->pair_cost, a->pair_cost_cap, (size_t)nr * nc));
  TRY(GROW(a->pair_col, a->pair_col_cap, (size_t)nr + 1));
  double *sub = a->pair_cost;
  for (int i = 0; i < nr; i++)
    for (int j = 0; j < nc; j++) sub[(size_t)i * nc + j] = aff[(size_t)a->keep_s[i] * nt + a->keep_t[j]];
  if (dlcc_assignment_solve(&a->pairing, sub, nr, nc, true, a->pair_col, NULL)) return -1;
  /* scipy's pairs come in increasing row order */
  for (int i = 0; i < nr; i++) {
    int j = a->pair_col[i];
    if (j < 0) continue;
    double w = sub[(size_t)i * nc + j];
    /* an np.float32 scalar against a Python float: compared in double */
    if (w >= o->min_affinity) TRY(add_frame_link(a, s0 + a->keep_s[i], t0 + a->keep_t[j], w));
  }
  return 0;
}

/* Assembler.calc_link_probability. */
static double link_probability(const dlcc_assembler *a, const link *l) {
  const joint *p = &a->joints[l->j1], *q = &a->joints[l->j2];
  size_t k = pair_of(p->label, q->label, a->n_multi);
  double mu = a->prior.mean[k], sigma = a->prior.covariance[k * (size_t)a->prior.n_pairs + k];
  double dx = p->x - q->x, dy = p->y - q->y, length = sqrt(dx * dx + dy * dy);
  double z = (length * length - mu) / sigma;
  return 2.0 * (1.0 - 0.5 * (1.0 + erf(fabs(z) / sqrt(2.0))));
}

static int push_links_of(dlcc_assembler *a, int si, int j) {
  const assembly *s = &a->pool[si];
  for (int k = a->adj_first[j]; k < a->adj_first[j + 1]; k++) {
    int li = a->adj_link[k];
    if (!a->alive[li]) continue;
    const link *l = &a->links[li];
    int other = l->j1 == j ? l->j2 : l->j1;
    if (has_joint(a, s, other)) continue;
    if (a->visited[li] == a->fill_serial) continue;
    TRY(heap_push(&a->stack, -l->affinity, a->counter++, li));
    a->visited[li] = a->fill_serial;
  }
  return 0;
}

/* The order in which CPython iterates a fresh set after add(first), add(second) of two small
 * non-negative ints: by slot of its 8-entry table, an int's slot being its value mod 8, a collision
 * probing i = (5 i + 1 + perturb) mod 8 with perturb = value >> 5 (shifted again at each probe). */
static bool python_set_iterates_first_before_second(int first, int second) {
  size_t slot_first = (size_t)first & 7, slot = (size_t)second & 7, perturb = (size_t)second;
  while (slot == slot_first) {
    perturb >>= 5;
    slot = (slot * 5 + 1 + perturb) & 7;
  }
  return slot_first < slot;
}

/* Assembler._fill_assembly: grows assembly si by the strongest links at its border; with safe edges only
 * while its Mahalanobis distance drops, rejected links waiting on the tabu list. seed: the link the
 * assembly was just started from, or -1. Links tied in affinity pop in push order, and the first pushes
 * follow DeepLabCut's iteration over the set of the assembly's joints: for a fresh seed link that order
 * is reproduced exactly; for an older assembly (the second pass) dlcc takes its joints in increasing
 * order, where Python's depends on the set's history. */
static int fill_assembly(dlcc_assembler *a, int si, bool safe_edge, int seed) {
  a->fill_serial++;
  a->stack.n = 0;
  a->tabu.n = 0;
  a->counter = 0;
  int snapshot = -1;
  if (safe_edge) TRY(snapshot = assembly_new(a));
  if (seed >= 0) {
    int j1 = a->links[seed].j1, j2 = a->links[seed].j2; /* added to the set in this order */
    bool j1_first = python_set_iterates_first_before_second(j1, j2);
    TRY(push_links_of(a, si, j1_first ? j1 : j2));
    TRY(push_links_of(a, si, j1_first ? j2 : j1));
  } else {
    for (int l = 0; l < a->n_multi; l++)
      if (a->pool[si].slot[l] >= 0) TRY(push_links_of(a, si, a->pool[si].slot[l]));
  }
  while (a->stack.n && a->pool[si].n_visible < a->n_multi) {
    heap_item best = heap_pop(&a->stack);
    const link *l = &a->links[best.link];
    int added;
    if (has_joint(a, &a->pool[si], l->j1))
      added = l->j2;
    else if (has_joint(a, &a->pool[si], l->j2))
      added = l->j1;
    else
      continue;
    if (a->assembled[added]) continue;
    if (safe_edge) {
      double d_old = mahalanobis(a, &a->pool[si]);
      TRY(assembly_copy(a, snapshot, si));
      int r = add_link(a, si, best.link);
      TRY(r);
      if (!r) continue;
      double d = mahalanobis(a, &a->pool[si]);
      if (d < d_old) {
        TRY(push_links_of(a, si, added));
        if (a->tabu.n) {
          heap_item back = heap_pop(&a->tabu);
          TRY(heap_push(&a->stack, -a->links[back.link].affinity, a->counter++, back.link));
        }
      } else {
        TRY(heap_push(&a->tabu, d - d_old, a->counter++, best.link));
        TRY(assembly_copy(a, si, snapshot));
      }
    } else {
      TRY(add_link(a, si, best.link));
      TRY(push_links_of(a, si, added));
    }
  }
  return 0;
}

static void mark_assembled(dlcc_assembler *a, int si) {
  const assembly *s = &a->pool[si];
  for (int l = 0; l < a->n_multi; l++)
    if (s->slot[l] >= 0) a->assembled[s->slot[l]] = 1;
}

static int list_append(dlcc_assembler *a, int si) {
  TRY(GROW(a->list, a->list_cap, a->n_list + 1));
  a->list[a->n_list++] = si;
  return 0;
}

static void list_remove_at(dlcc_assembler *a, size_t k) {
  memmove(a->list + k, a->list + k + 1, (a->n_list - k - 1) * sizeof *a->list);
  a->n_list--;
}

static int find_root(int *parent, int x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

/* Assembler.build_assemblies. */
static int build_assemblies(dlcc_assembler *a) {
  size_t nj = a->n_joints, nl = a->n_links;
  int n_multi = a->n_multi, max_n = a->o.max_n_individuals;
  /* the lookup: links at each joint in link order */
  TRY(GROW(a->adj_first, a->adj_first_cap, nj + 2));
  TRY(GROW(a->adj_link, a->adj_link_cap, 2 * nl + 1));
  TRY(GROW(a->alive, a->alive_cap, nl + 1));
  TRY(GROW(a->visited, a->visited_cap, nl + 1));
  memset(a->adj_first, 0, (nj + 2) * sizeof *a->adj_first);
  for (size_t k = 0; k < nl; k++) {
    a->adj_first[a->links[k].j1 + 2]++;
    a->adj_first[a->links[k].j2 + 2]++;
  }
  for (size_t j = 0; j < nj; j++) a->adj_first[j + 2] += a->adj_first[j + 1];
  for (size_t k = 0; k < nl; k++) {
    a->adj_link[a->adj_first[a->links[k].j1 + 1]++] = (int)k;
    a->adj_link[a->adj_first[a->links[k].j2 + 1]++] = (int)k;
    a->alive[k] = 1;
    a->visited[k] = 0;
  }
  a->fill_serial = 0;

  /* complete individuals first: connected groups of exactly n_multi joints, in the order networkx
   * yields them (by the first appearance of a joint in the links) */
  TRY(GROW(a->parent, a->parent_cap, nj + 1));
  TRY(GROW(a->comp_size, a->comp_size_cap, nj + 1));
  TRY(GROW(a->nodes, a->nodes_cap, nj + 1));
  for (size_t j = 0; j < nj; j++) a->parent[j] = -1, a->comp_size[j] = 0;
  size_t n_nodes = 0;
  for (size_t k = 0; k < nl; k++) {
    int ends[2] = {a->links[k].j1, a->links[k].j2};
    for (int e = 0; e < 2; e++)
      if (a->parent[ends[e]] < 0) {
        a->parent[ends[e]] = ends[e];
        a->nodes[n_nodes++] = ends[e];
      }
    int r1 = find_root(a->parent, ends[0]), r2 = find_root(a->parent, ends[1]);
    if (r1 != r2) a->parent[r2] = r1;
  }
  for (size_t n = 0; n < n_nodes; n++) a->comp_size[find_root(a->parent, a->nodes[n])]++;
  for (size_t n = 0; n < n_nodes; n++) {
    int root = find_root(a->parent, a->nodes[n]);
    if (a->comp_size[root] <= 0) continue;
    bool complete = a->comp_size[root] == n_multi;
    a->comp_size[root] = -1; /* yielded */
    if (!complete) continue;
    int si = assembly_new(a);
    TRY(si);
    for (size_t k = 0; k < nl; k++) {
      const link *l = &a->links[k];
      /* (i, j) in the sorted edge list of the group: only links whose first joint has the lower index */
      if (l->j1 >= l->j2 || find_root(a->parent, l->j1) != root) continue;
      int r = add_link(a, si, (int)k);
      TRY(r);
      if (r) a->alive[k] = 0;
    }
    mark_assembled(a, si);
    TRY(list_append(a, si));
  }
  if (a->n_list == (size_t)max_n) return 0;

  /* then from the strongest free link */
  TRY(GROW(a->keys, a->keys_cap, nl + 1));
  for (size_t k = 0; k < nl; k++) a->keys[k] = a->links[k].affinity;
  TRY(sort_indices(a, nl, a->keys, true));
  TRY(GROW(a->cand_i, a->cand_i_cap, nl + 1));
  memcpy(a->cand_i, a->order, nl * sizeof *a->cand_i);
  for (size_t n = 0; n < nl; n++) {
    int li = a->cand_i[n];
    if (a->assembled[a->links[li].j1] || a->assembled[a->links[li].j2]) continue;
    int si = assembly_new(a);
    TRY(si);
    TRY(add_link(a, si, li));
    TRY(fill_assembly(a, si, a->calibrated, li));
    for (size_t k = 0; k < a->pool[si].n_links; k++) a->alive[a->pool[si].links[k]] = 0;
    mark_assembled(a, si);
    TRY(list_append(a, si));
  }

  /* fuse superfluous assemblies */
  if (a->n_list > (size_t)max_n) {
    if (a->calibrated) {
      TRY(GROW(a->ds_old, a->ds_old_cap, a->n_list + 1));
      for (size_t k = 0; k < a->n_list; k++) a->ds_old[k] = mahalanobis(a, &a->pool[a->list[k]]);
      while (a->n_list > (size_t)max_n) {
        size_t n_cand = 0, pairs = a->n_list * (a->n_list - 1) / 2 + 1;
        TRY(GROW(a->cand_i, a->cand_i_cap, pairs));
        TRY(GROW(a->cand_j, a->cand_j_cap, pairs));
        TRY(GROW(a->cand_delta, a->cand_delta_cap, pairs));
        TRY(GROW(a->cand_d, a->cand_d_cap, pairs));
        size_t mark = a->pool_used;
        for (size_t i = 0; i < a->n_list; i++)
          for (size_t j = i + 1; j < a->n_list; j++) {
            if (share_parts(a, &a->pool[a->list[i]], &a->pool[a->list[j]])) continue;
            int t = assembly_sum(a, a->list[i], a->list[j]);
            TRY(t);
            double d = mahalanobis(a, &a->pool[t]);
            a->pool_used = mark; /* the sum is rebuilt for the chosen pair */
            a->cand_i[n_cand] = (int)i;
            a->cand_j[n_cand] = (int)j;
            a->cand_d[n_cand] = d;
            a->cand_delta[n_cand++] = d - fmax(a->ds_old[i], a->ds_old[j]);
          }
        if (!n_cand) break;
        size_t best = 0;
        for (size_t c = 1; c < n_cand; c++)
          if (a->cand_delta[c] < a->cand_delta[best]) best = c;
        if (!(a->cand_delta[best] < 0) && n_cand != 1) break;
        size_t i = (size_t)a->cand_i[best], j = (size_t)a->cand_j[best];
        int t = assembly_sum(a, a->list[i], a->list[j]);
        TRY(t);
        a->list[i] = t;
        a->ds_old[i] = a->cand_d[best];
        list_remove_at(a, j);
        memmove(a->ds_old + j, a->ds_old + j + 1, (a->n_list - j) * sizeof *a->ds_old);
      }
    } else {
      /* merge incomplete assemblies that an unused link joins and that share no part */
      TRY(GROW(a->store, a->store_cap, nj + 1));
      TRY(GROW(a->used, a->used_cap, nl + 1));
      for (size_t j = 0; j < nj; j++) a->store[j] = -1;
      memset(a->used, 0, nl);
      for (size_t k = 0; k < a->n_list; k++) {
        const assembly *s = &a->pool[a->list[k]];
        for (size_t m = 0; m < s->n_links; m++) a->used[s->links[m]] = 1;
        if (s->n_visible == n_multi) continue;
        for (int l = 0; l < n_multi; l++)
          if (s->slot[l] >= 0) a->store[s->slot[l]] = a->list[k];
      }
      for (size_t k = 0; k < nl; k++) {
        if (a->used[k]) continue;
        int si = a->store[a->links[k].j1], ti = a->store[a->links[k].j2];
        if (si < 0 || ti < 0 || share_parts(a, &a->pool[si], &a->pool[ti])) continue;
        int t = assembly_sum(a, si, ti);
        TRY(t);
        TRY(assembly_copy(a, si, t));
        for (size_t m = 0; m < a->n_list; m++)
          if (a->list[m] == ti) {
            list_remove_at(a, m);
            break;
          }
        for (int l = 0; l < n_multi; l++)
          if (a->pool[ti].slot[l] >= 0) a->store[a->pool[ti].slot[l]] = si;
      }
    }
  }

  /* second pass, without safe edges */
  for (size_t k = 0; k < a->n_list; k++) {
    int si = a->list[k];
    if (a->pool[si].n_visible == n_multi) continue;
    TRY(fill_assembly(a, si, false, -1));
    mark_assembled(a, si);
  }
  return 0;
}

static void discard_links_of(dlcc_assembler *a, int si) {
  const assembly *s = &a->pool[si];
  for (size_t m = 0; m < s->n_links; m++) {
    a->discarded[a->links[s->links[m]].j1] = 1;
    a->discarded[a->links[s->links[m]].j2] = 1;
  }
}

/* Assembly.intersection_with: the share of keypoints of each inside the overlap of their boxes. */
static double intersection(const dlcc_assembler *a, const assembly *s, const assembly *t) {
  double box[2][4];
  const assembly *both[2] = {s, t};
  for (int w = 0; w < 2; w++) {
    box[w][0] = box[w][1] = INFINITY;
    box[w][2] = box[w][3] = -INFINITY;
    for (int l = 0; l < a->n_multi; l++) {
      if (both[w]->slot[l] < 0) continue;
      const joint *p = &a->joints[both[w]->slot[l]];
      box[w][0] = fmin(box[w][0], p->x);
      box[w][1] = fmin(box[w][1], p->y);
      box[w][2] = fmax(box[w][2], p->x);
      box[w][3] = fmax(box[w][3], p->y);
    }
  }
  double x1 = fmax(box[0][0], box[1][0]), y1 = fmax(box[0][1], box[1][1]);
  double x2 = fmin(box[0][2], box[1][2]), y2 = fmin(box[0][3], box[1][3]);
  if (x2 < x1 || y2 < y1) return 0.0;
  int inside[2] = {0, 0};
  for (int w = 0; w < 2; w++)
    for (int l = 0; l < a->n_multi; l++) {
      if (both[w]->slot[l] < 0) continue;
      const joint *p = &a->joints[both[w]->slot[l]];
      inside[w] += p->x >= x1 && p->y >= y1 && p->x <= x2 && p->y <= y2;
    }
  return fmin((double)inside[0] / s->n_visible, (double)inside[1] / t->n_visible);
}

/* The part of Assembler._assemble after the links: validity, pose NMS, the cap, add_discarded. */
static int finish_assemblies(dlcc_assembler *a) {
  const dlcc_assembler_options *o = &a->o;
  for (size_t j = 0; j < a->n_joints; j++) a->discarded[j] = !a->assembled[j] && isfinite(a->joints[j].conf);
  for (size_t k = a->n_list; k-- > 0;) {
    const assembly *s = &a->pool[a->list[k]];
    if ((s->n_links > 0 && s->n_links < (size_t)o->min_n_links) || !s->n_visible) {
      discard_links_of(a, a->list[k]);
      list_remove_at(a, k);
    }
  }
  if (o->max_overlap > 0 && o->max_overlap < 1) {
    size_t n = a->n_list;
    TRY(GROW(a->scores, a->scores_cap, n + 1));
    TRY(GROW(a->order_tmp, a->order_tmp_cap, n + 1));
    for (size_t k = 0; k < n; k++)
      a->scores[k] = a->calibrated ? -mahalanobis(a, &a->pool[a->list[k]]) : a->pool[a->list[k]].affinity;
    /* the candidates as (score, assembly) pairs, in the list's order */
    TRY(GROW(a->cand_i, a->cand_i_cap, n + 1));
    TRY(GROW(a->cand_delta, a->cand_delta_cap, n + 1));
    size_t left = n, kept = 0;
    for (size_t k = 0; k < n; k++) a->cand_i[k] = a->list[k], a->cand_delta[k] = a->scores[k];
    while (left) {
      size_t best = 0;
      for (size_t k = 1; k < left; k++)
        if (a->cand_delta[k] > a->cand_delta[best]) best = k;
      int winner = a->cand_i[best];
      a->list[kept++] = winner;
      memmove(a->cand_i + best, a->cand_i + best + 1, (left - best - 1) * sizeof *a->cand_i);
      memmove(a->cand_delta + best, a->cand_delta + best + 1, (left - best - 1) * sizeof *a->cand_delta);
      left--;
      for (size_t k = left; k-- > 0;)
        if (intersection(a, &a->pool[winner], &a->pool[a->cand_i[k]]) >= o->max_overlap) {
          memmove(a->cand_i + k, a->cand_i + k + 1, (left - k - 1) * sizeof *a->cand_i);
          memmove(a->cand_delta + k, a->cand_delta + k + 1, (left - k - 1) * sizeof *a->cand_delta);
          left--;
        }
    }
    a->n_list = kept;
  }
  if (a->n_list > (size_t)o->max_n_individuals) {
    size_t n = a->n_list;
    TRY(GROW(a->ds_old, a->ds_old_cap, n + 1));
    for (size_t k = 0; k < n; k++) a->ds_old[k] = a->pool[a->list[k]].n_visible;
    TRY(sort_indices(a, n, a->ds_old, true));
    TRY(GROW(a->cand_i, a->cand_i_cap, n + 1));
    for (size_t k = 0; k < n; k++) a->cand_i[k] = a->list[a->order[k]];
    for (size_t k = (size_t)o->max_n_individuals; k < n; k++) discard_links_of(a, a->cand_i[k]);
    memcpy(a->list, a->cand_i, (size_t)o->max_n_individuals * sizeof *a->list);
    a->n_list = (size_t)o->max_n_individuals;
  }
  if (o->add_discarded) {
    size_t n = 0;
    TRY(GROW(a->cand_j, a->cand_j_cap, a->n_joints + 1));
    TRY(GROW(a->scores, a->scores_cap, a->n_joints + 1));
    for (size_t j = 0; j < a->n_joints; j++) {
      a->scores[j] = a->joints[j].conf;
      if (a->discarded[j]) a->cand_j[n++] = (int)j;
    }
    TRY(GROW(a->order_tmp, a->order_tmp_cap, n + 1));
    /* by decreasing score; DeepLabCut sorts a set, so equal scores follow peak order here */
    stable_sort(a->cand_j, a->order_tmp, n, a->scores, true);
    for (size_t c = 0; c < n; c++) {
      int j = a->cand_j[c], label = a->joints[j].label;
      if (a->calibrated) {
        for (size_t k = 0; k < a->n_list; k++) {
          assembly *s = &a->pool[a->list[k]];
          if (s->slot[label] >= 0) continue;
          double d_old = mahalanobis(a, s);
          add_joint(a, s, j);
          double d = mahalanobis(a, s);
          if (d < d_old) break;
          remove_joint(a, s, j);
        }
      } else {
        int best = -1;
        double best_d = INFINITY;
        for (size_t k = 0; k < a->n_list; k++) {
          const assembly *s = &a->pool[a->list[k]];
          if (s->slot[label] >= 0) continue;
          double d = INFINITY;
          for (int l = 0; l < a->n_multi; l++) {
            if (s->slot[l] < 0) continue;
            const joint *p = &a->joints[s->slot[l]];
            double dx = p->x - a->joints[j].x, dy = p->y - a->joints[j].y;
            d = fmin(d, sqrt(dx * dx + dy * dy));
          }
          if (best < 0 || d < best_d) best = (int)k, best_d = d;
        }
        if (best >= 0) add_joint(a, &a->pool[a->list[best]], j);
      }
    }
  }
  return 0;
}

static void write_result(const dlcc_assembler *a, dlcc_assembly_result *res) {
  size_t per = (size_t)a->n_multi * 3;
  for (size_t k = 0; k < (size_t)res->max_n_individuals * per; k++) res->animals[k] = NAN;
  for (int k = 0; k < res->max_n_individuals; k++) {
    res->affinity[k] = NAN;
    res->confidence[k] = NAN;
    res->n_links[k] = 0;
  }
  res->n_animals = (int)a->n_list;
  for (size_t k = 0; k < a->n_list; k++) {
    const assembly *s = &a->pool[a->list[k]];
    double *row = res->animals + k * per, sum = 0.0;
    int count = 0;
    for (int l = 0; l < a->n_multi; l++) {
      if (s->slot[l] >= 0) {
        const joint *p = &a->joints[s->slot[l]];
        row[3 * l] = p->x;
        row[3 * l + 1] = p->y;
        row[3 * l + 2] = p->conf;
        sum += p->conf;
        count++;
      } else if (!s->removed[l]) {
        count++; /* an untouched row holds score 0 in DeepLabCut's Assembly */
      }
    }
    res->confidence[k] = count ? sum / count : NAN;
    res->affinity[k] = s->n_links ? s->affinity / (double)s->n_links : 0.0;
    res->n_links[k] = (int)s->n_links;
  }
}

dlcc_status dlcc_assemble(dlcc_assembler *a, const dlcc_peaks *peaks, const dlcc_link_costs *costs,
                          dlcc_assembly_result *res, dlcc_error *err) {
  const dlcc_assembler_options *o = &a->o;
  if (peaks->num_joints != a->num_joints)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: the peaks are of %d joints, the "
                     "assembler's of %d", peaks->num_joints, a->num_joints);
  if (costs->n_limbs != a->n_limbs)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: the link costs are of %d limbs, the "
                     "assembler's graph has %d", costs->n_limbs, a->n_limbs);
  for (int k = 0; k < a->n_limbs; k++) {
    size_t want = dlcc_peaks_of_joint(peaks, a->limbs[k].joint_a) * dlcc_peaks_of_joint(peaks, a->limbs[k].joint_b);
    if (costs->first[k + 1] - costs->first[k] != want)
      return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: limb %d has %zu link costs for %zu "
                       "pairs of peaks; score the links of these peaks with the assembler's limbs", k,
                       costs->first[k + 1] - costs->first[k], want);
  }
  if (res->max_n_individuals != o->max_n_individuals || res->n_multibodyparts != a->n_multi ||
      res->n_uniquebodyparts != a->n_unique)
    return dlcc_fail(err, DLCC_ERR_INVALID, "cannot assemble individuals: the result was made for another "
                     "assembler");
  a->pool_used = 0;
  a->n_list = 0;
  a->n_links = 0;
  res->has_unique = false;
  for (int u = 0; u < 3 * a->n_unique; u++) res->unique[u] = NAN;
  if (gather_joints(a, peaks) ||
      GROW(a->assembled, a->assembled_cap, a->n_joints + 1) || GROW(a->discarded, a->discarded_cap, a->n_joints + 1))
    goto oom;
  memset(a->assembled, 0, a->n_joints);
  if (!a->n_joints) {
    write_result(a, res);
    return DLCC_OK;
  }

  /* unique parts: the best peak of each, all of their peaks out of the assembly */
  for (int u = 0; u < a->n_unique; u++) {
    int label = a->n_multi + u, first = a->label_first[label], n = a->label_count[label];
    if (!n) continue;
    int best = first;
    for (int j = first; j < first + n; j++) {
      if (a->joints[j].conf > a->joints[best].conf) best = j;
      a->assembled[j] = 1;
    }
    if (a->joints[best].conf <= o->pcutoff && !o->add_discarded) continue;
    res->unique[3 * u] = a->joints[best].x;
    res->unique[3 * u + 1] = a->joints[best].y;
    res->unique[3 * u + 2] = a->joints[best].conf;
    res->has_unique = true;
  }
  bool any_multi = false;
  for (int l = 0; l < a->n_multi; l++) any_multi |= a->label_count[l] > 0;
  if (!any_multi) {
    write_result(a, res);
    return DLCC_OK;
  }

  if (a->n_multi == 1) {
    /* each peak >= pcutoff an individual; dlcc keeps the max_n_individuals most confident */
    int n = a->label_count[0];
    if (GROW(a->scores, a->scores_cap, (size_t)n + 1) != 0) goto oom;
    for (int j = 0; j < n; j++) a->scores[j] = a->joints[j].conf;
    if (sort_indices(a, (size_t)n, a->scores, true)) goto oom;
    for (int k = 0; k < n && a->n_list < (size_t)o->max_n_individuals; k++) {
      int j = a->order[k];
      if (!(a->joints[j].conf >= o->pcutoff)) continue;
      int si = assembly_new(a);
      if (si < 0) goto oom;
      add_joint(a, &a->pool[si], j);
      if (list_append(a, si)) goto oom;
    }
    /* back in peak order, as DeepLabCut lists them */
    for (size_t x = 1; x < a->n_list; x++)
      for (size_t y = x; y > 0 && a->pool[a->list[y - 1]].slot[0] > a->pool[a->list[y]].slot[0]; y--) {
        int t = a->list[y];
        a->list[y] = a->list[y - 1];
        a->list[y - 1] = t;
      }
    write_result(a, res);
    return DLCC_OK;
  }

  if (o->max_n_individuals == 1) {
    int si = assembly_new(a);
    if (si < 0) goto oom;
    for (int l = 0; l < a->n_multi; l++) {
      int first = a->label_first[l], n = a->label_count[l];
      if (!n) continue;
      int best = first;
      for (int j = first + 1; j < first + n; j++)
        if (a->joints[j].conf > a->joints[best].conf) best = j;
      add_joint(a, &a->pool[si], best);
    }
    if (list_append(a, si)) goto oom;
    write_result(a, res);
    return DLCC_OK;
  }

  for (int k = 0; k < a->n_limbs; k++) {
    int s = a->limbs[k].joint_a, t = a->limbs[k].joint_b;
    if (!a->label_count[s] || !a->label_count[t]) continue;
    if (limb_links(a, costs->affinity + costs->first[k], a->label_first[s], a->label_count[s], a->label_first[t],
                   a->label_count[t]))
      goto oom;
  }
  if (a->calibrated) {
    size_t kept = 0;
    for (size_t k = a->n_links; k-- > 0;) {
      double p = fmax(link_probability(a, &a->links[k]), 0.001);
      a->links[k].affinity *= p;
    }
    for (size_t k = 0; k < a->n_links; k++)
      if (!(a->links[k].affinity < o->min_affinity)) a->links[kept++] = a->links[k];
    a->n_links = kept;
  }
  if (build_assemblies(a) || finish_assemblies(a)) goto oom;
  write_result(a, res);
  return DLCC_OK;
oom:
  return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory assembling %zu peaks", a->n_joints);
}
