/* TrackletStitcher in C: pieces (DeepLabCut's Tracklet objects: frames, poses, centroids), the
 * residual prestitching, the flow graph and its paths, the fallback when the graph has no feasible
 * flow, and the residuals put back into the tracks. */
#include "track/stitch.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "track/mincostflow.h"

/* Frames closer than this (start of one minus end of the other) are chained by prestitching:
 * DeepLabCut's _prestitch_residuals(5). */
#define PRESTITCH_MAX_GAP 5
/* Residuals this close to a hole's edge are placed by that edge's centroid alone (_finalize_tracks). */
#define HOLE_EDGE_FRAMES 3

/* ---- Pieces ------------------------------------------------------------------------------------ */

typedef struct piece {
  size_t n, cap;
  int *frames;            /* strictly increasing (a track made by the fallback may repeat none either) */
  const double **poses;   /* into the caller's tracklet set */
  double *cx, *cy;        /* likelihood-weighted centroid per frame */
} piece;

typedef struct piece_list {
  size_t n, cap;
  piece *items;
} piece_list;

static void piece_free(piece *p) {
  free(p->frames);
  free(p->poses);
  free(p->cx);
  free(p->cy);
  *p = (piece){0};
}

static void list_free(piece_list *l) {
  for (size_t i = 0; i < l->n; i++) piece_free(&l->items[i]);
  free(l->items);
  *l = (piece_list){0};
}

static dlcc_status piece_reserve(piece *p, size_t n, dlcc_error *err) {
  if (n <= p->cap) return DLCC_OK;
  size_t cap = p->cap ? p->cap : 16;
  while (cap < n) cap *= 2;
  int *f = realloc(p->frames, cap * sizeof *f);
  if (!f) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  p->frames = f;
  const double **q = realloc(p->poses, cap * sizeof *q);
  if (!q) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  p->poses = q;
  double *x = realloc(p->cx, cap * sizeof *x);
  if (!x) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  p->cx = x;
  double *y = realloc(p->cy, cap * sizeof *y);
  if (!y) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  p->cy = y;
  p->cap = cap;
  return DLCC_OK;
}

static dlcc_status piece_push(piece *p, int frame, const double *pose, double cx, double cy, dlcc_error *err) {
  dlcc_status st = piece_reserve(p, p->n + 1, err);
  if (st) return st;
  p->frames[p->n] = frame;
  p->poses[p->n] = pose;
  p->cx[p->n] = cx;
  p->cy[p->n] = cy;
  p->n++;
  return DLCC_OK;
}

/* Appends all of src to dst (Tracklet.__add__ for a src that comes after dst; the merge below for
 * the general case). */
static dlcc_status piece_append_all(piece *dst, const piece *src, dlcc_error *err) {
  dlcc_status st = piece_reserve(dst, dst->n + src->n, err);
  if (st) return st;
  memcpy(dst->frames + dst->n, src->frames, src->n * sizeof *src->frames);
  memcpy(dst->poses + dst->n, src->poses, src->n * sizeof *src->poses);
  memcpy(dst->cx + dst->n, src->cx, src->n * sizeof *src->cx);
  memcpy(dst->cy + dst->n, src->cy, src->n * sizeof *src->cy);
  dst->n += src->n;
  return DLCC_OK;
}

/* dst = dst + src with frames in order (a stable merge: dst's entry first on equal frames). */
static dlcc_status piece_merge(piece *dst, const piece *src, dlcc_error *err) {
  piece out = {0};
  dlcc_status st = piece_reserve(&out, dst->n + src->n, err);
  if (st) return st;
  size_t a = 0, b = 0;
  while (a < dst->n || b < src->n) {
    const piece *from;
    size_t k;
    if (b >= src->n || (a < dst->n && dst->frames[a] <= src->frames[b]))
      from = dst, k = a++;
    else
      from = src, k = b++;
    out.frames[out.n] = from->frames[k];
    out.poses[out.n] = from->poses[k];
    out.cx[out.n] = from->cx[k];
    out.cy[out.n] = from->cy[k];
    out.n++;
  }
  piece_free(dst);
  *dst = out;
  return DLCC_OK;
}

/* Whether frame is one of p's (binary search). */
static bool piece_has_frame(const piece *p, int frame) {
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->frames[mid] < frame)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < p->n && p->frames[lo] == frame;
}

/* Whether the pieces share a frame (Tracklet.__contains__): the shorter one's frames looked up in
 * the longer, since a residual is short and a track long. */
static bool piece_overlaps(const piece *a, const piece *b) {
  const piece *shorter = a->n <= b->n ? a : b, *longer = a->n <= b->n ? b : a;
  if (shorter->n == 0 || longer->n == 0) return false;
  if (shorter->frames[shorter->n - 1] < longer->frames[0] || shorter->frames[0] > longer->frames[longer->n - 1])
    return false;
  for (size_t k = 0; k < shorter->n; k++)
    if (piece_has_frame(longer, shorter->frames[k])) return true;
  return false;
}

static int piece_start(const piece *p) {
  return p->frames[0];
}

static int piece_end(const piece *p) {
  return p->frames[p->n - 1];
}

static dlcc_status list_push(piece_list *l, piece *p, dlcc_error *err) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    piece *items = realloc(l->items, cap * sizeof *items);
    if (!items) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = *p;
  *p = (piece){0};
  return DLCC_OK;
}

/* A joint counts when its x and y are finite numbers. */
static bool joint_present(const double *pose, int j) {
  return isfinite(pose[3 * j]) && isfinite(pose[3 * j + 1]);
}

/* Tracklet.centroid: the mean of the joints weighted by likelihood + 1e-10. Joints without x, y or
 * likelihood are left out of both sums (DeepLabCut's nansum leaves a joint's likelihood in the
 * denominator when only its x and y are NaN; dlcc's poses mark a missing joint by its x and y).
 * Without any likelihood the plain mean. */
static void pose_centroid(const double *pose, int num_joints, double *cx, double *cy) {
  double sx = 0, sy = 0, sw = 0, ux = 0, uy = 0;
  int n_weighted = 0, n = 0;
  for (int j = 0; j < num_joints; j++) {
    if (!joint_present(pose, j)) continue;
    double x = pose[3 * j], y = pose[3 * j + 1], l = pose[3 * j + 2];
    ux += x, uy += y, n++;
    if (!isfinite(l)) continue;
    double w = l + 1e-10;
    sx += x * w, sy += y * w, sw += w, n_weighted++;
  }
  if (n_weighted > 0 && sw != 0) {
    *cx = sx / sw;
    *cy = sy / sw;
  } else {
    *cx = ux / n;
    *cy = uy / n;
  }
}

static bool pose_present(const double *pose, int num_joints) {
  for (int j = 0; j < num_joints; j++)
    if (joint_present(pose, j)) return true;
  return false;
}

/* Distance between centroids k1 of a and k2 of b, as the weights' int(100 x distance) wants it. */
static double centroid_distance(const piece *a, size_t k1, const piece *b, size_t k2) {
  double dx = a->cx[k1] - b->cx[k2], dy = a->cy[k1] - b->cy[k2];
  return sqrt(dx * dx + dy * dy);
}

/* TrackletStitcher.calculate_edge_weight for a before b: int(100 x distance from a's last centroid
 * to b's first), bounded so that sums stay far from overflowing. */
static int64_t link_weight(const piece *a, const piece *b) {
  double w = 100.0 * centroid_distance(a, a->n - 1, b, 0);
  if (!(w < 1e12)) w = 1e12;
  return (int64_t)w;
}

/* Indices 0..n-1 ordered by key, ties by index (Python's stable sorted). */
typedef struct keyed {
  long key;
  size_t index;
} keyed;

static int keyed_cmp(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static dlcc_status stable_order(const piece_list *l, bool by_length, size_t **out, dlcc_error *err) {
  keyed *k = malloc((l->n ? l->n : 1) * sizeof *k);
  size_t *order = malloc((l->n ? l->n : 1) * sizeof *order);
  *out = NULL;
  if (!k || !order) {
    free(k);
    free(order);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  }
  for (size_t i = 0; i < l->n; i++)
    k[i] = (keyed){by_length ? (long)l->items[i].n : (long)piece_start(&l->items[i]), i};
  qsort(k, l->n, sizeof *k, keyed_cmp);
  for (size_t i = 0; i < l->n; i++) order[i] = k[i].index;
  free(k);
  *out = order;
  return DLCC_OK;
}

/* Reorders the list by the permutation order (order[i] = old index of new item i). */
static dlcc_status list_permute(piece_list *l, const size_t *order, dlcc_error *err) {
  piece *items = malloc((l->cap ? l->cap : 1) * sizeof *items);
  if (!items) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  for (size_t i = 0; i < l->n; i++) items[i] = l->items[order[i]];
  free(l->items);
  l->items = items;
  return DLCC_OK;
}

/* ---- Building the pieces ---------------------------------------------------------------------- */

/* Pieces from the tracklets: frames without a joint dropped (purify_tracklet), cut at gaps when
 * split, each to `longs` when at least min_length frames long, else to `residuals`. */
static dlcc_status make_pieces(const dlcc_tracklet_set *set, int n_frames, const dlcc_stitch_params *p,
                               piece_list *longs, piece_list *residuals, dlcc_error *err) {
  const int nj = set->num_joints;
  const size_t per_pose = (size_t)nj * 3;
  dlcc_status st = DLCC_OK;
  piece cur = {0};
  for (size_t t = 0; t < set->count && !st; t++) {
    const dlcc_tracklet *tr = &set->items[t];
    for (size_t k = 0; k <= tr->length && !st; k++) {
      bool flush = k == tr->length;
      const double *pose = NULL;
      int frame = 0;
      if (!flush) {
        frame = tr->frames[k];
        pose = tr->poses + k * per_pose;
        if (frame < 0 || frame >= n_frames) {
          st = dlcc_fail(err, DLCC_ERR_INVALID, "tracklet %d has frame %d, outside the video's %d frames", tr->id,
                         frame, n_frames);
          break;
        }
        if (!pose_present(pose, nj)) continue;
        flush = p->split_tracklets && cur.n > 0 && frame != cur.frames[cur.n - 1] + 1;
      }
      if (flush && cur.n > 0) st = list_push(cur.n >= (size_t)p->min_length ? longs : residuals, &cur, err);
      if (!st && pose) {
        double cx, cy;
        pose_centroid(pose, nj, &cx, &cy);
        st = piece_push(&cur, frame, pose, cx, cy, err);
      }
    }
  }
  piece_free(&cur);
  return st;
}

/* ---- Prestitching residuals ------------------------------------------------------------------- */

/* TrackletStitcher._prestitch_residuals: residuals by start; an edge i -> j when j starts 1 to 4
 * frames after i ends, weighing 1 - IoU of the boxes of i's last and j's first frame; in each
 * connected group the heaviest path (networkx's dag_longest_path; ties to the earliest residual) is
 * joined into one residual. The others stay, in their order, before the joined ones. */
static dlcc_status prestitch(piece_list *residuals, int num_joints, dlcc_error *err) {
  const size_t R = residuals->n;
  if (R < 2) return DLCC_OK;
  size_t *order = NULL;
  dlcc_status st = stable_order(residuals, false, &order, err);
  if (st) return st;
  size_t n_edges = 0, cap_edges = 0;
  size_t *e_from = NULL, *e_to = NULL;
  double *e_w = NULL;
  size_t *pred_start = calloc(R + 1, sizeof *pred_start), *pred = NULL, *fill = NULL;
  size_t *parent = malloc(R * sizeof *parent), *prev = malloc(R * sizeof *prev);
  double *dist = malloc(R * sizeof *dist);
  unsigned char *in_path = calloc(R, 1), *has_edge = calloc(R, 1);
  piece_list kept = {0}, joined = {0};
  if (!pred_start || !parent || !prev || !dist || !in_path || !has_edge) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
    goto out;
  }
  for (size_t a = 0; a < R; a++) {
    const piece *ra = &residuals->items[order[a]];
    for (size_t b = a + 1; b < R; b++) {
      const piece *rb = &residuals->items[order[b]];
      long gap = (long)piece_start(rb) - piece_end(ra);
      if (gap < 1) continue;
      if (gap >= PRESTITCH_MAX_GAP) break;
      dlcc_box box_a, box_b;
      double iou = 0;
      if (dlcc_box_from_pose(ra->poses[ra->n - 1], num_joints, NULL, 0, &box_a) &&
          dlcc_box_from_pose(rb->poses[0], num_joints, NULL, 0, &box_b))
        iou = dlcc_box_iou(&box_a, &box_b);
      if (n_edges == cap_edges) {
        cap_edges = cap_edges ? 2 * cap_edges : 64;
        size_t *f = realloc(e_from, cap_edges * sizeof *f);
        if (f) e_from = f;
        size_t *t = realloc(e_to, cap_edges * sizeof *t);
        if (t) e_to = t;
        double *w = realloc(e_w, cap_edges * sizeof *w);
        if (w) e_w = w;
        if (!f || !t || !w) {
          st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
          goto out;
        }
      }
      e_from[n_edges] = a, e_to[n_edges] = b, e_w[n_edges] = 1 - iou;
      n_edges++;
    }
  }
  if (n_edges == 0) goto out;

  /* Predecessors of each node in the order the edges were added (by source, ascending). */
  pred = malloc(n_edges * sizeof *pred);
  fill = calloc(R, sizeof *fill);
  if (!pred || !fill) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
    goto out;
  }
  for (size_t e = 0; e < n_edges; e++) pred_start[e_to[e] + 1]++;
  for (size_t v = 0; v < R; v++) pred_start[v + 1] += pred_start[v];
  for (size_t e = 0; e < n_edges; e++) pred[pred_start[e_to[e]] + fill[e_to[e]]++] = e;

  /* Connected groups (union-find, the root being the smallest member). */
  for (size_t v = 0; v < R; v++) parent[v] = v;
  for (size_t e = 0; e < n_edges; e++) {
    size_t a = e_from[e], b = e_to[e];
    while (parent[a] != a) a = parent[a];
    while (parent[b] != b) b = parent[b];
    if (a < b)
      parent[b] = a;
    else if (b < a)
      parent[a] = b;
    has_edge[e_from[e]] = has_edge[e_to[e]] = 1;
  }
  for (size_t v = 0; v < R; v++) {
    size_t r = v;
    while (parent[r] != r) r = parent[r];
    parent[v] = r;
  }

  /* Heaviest path ending at each node; node order is a topological order (edges go forward). */
  for (size_t v = 0; v < R; v++) {
    double best = -INFINITY;
    size_t best_u = v;
    for (size_t k = pred_start[v]; k < pred_start[v + 1]; k++) {
      size_t e = pred[k];
      double cand = dist[e_from[e]] + e_w[e];
      if (cand > best) best = cand, best_u = e_from[e];
    }
    if (best_u == v || best < 0) {
      dist[v] = 0;
      prev[v] = v;
    } else {
      dist[v] = best;
      prev[v] = best_u;
    }
  }

  for (size_t root = 0; root < R; root++) {
    if (parent[root] != root || !has_edge[root]) continue;
    size_t end = root;
    for (size_t v = root; v < R; v++)
      if (parent[v] == root && dist[v] > dist[end]) end = v;
    /* Walk back from the end, then join in time order. */
    size_t n_path = 1;
    for (size_t v = end; prev[v] != v; v = prev[v]) n_path++;
    size_t *path = malloc(n_path * sizeof *path);
    if (!path) {
      st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
      goto out;
    }
    size_t k = n_path;
    for (size_t v = end;; v = prev[v]) {
      path[--k] = v;
      if (prev[v] == v) break;
    }
    piece mini = {0};
    for (k = 0; k < n_path && !st; k++) {
      in_path[order[path[k]]] = 1;
      st = piece_append_all(&mini, &residuals->items[order[path[k]]], err);
    }
    free(path);
    if (!st) st = list_push(&joined, &mini, err);
    piece_free(&mini);
    if (st) goto out;
  }

  /* The new residuals: those left (original order), then the joined ones. */
  for (size_t i = 0; i < R && !st; i++)
    if (!in_path[i]) {
      st = list_push(&kept, &residuals->items[i], err);
    } else {
      piece_free(&residuals->items[i]);
    }
  for (size_t i = 0; i < joined.n && !st; i++) st = list_push(&kept, &joined.items[i], err);
  if (st) goto out;
  joined.n = 0;
  free(residuals->items);
  *residuals = kept;
  kept = (piece_list){0};

out:
  list_free(&kept);
  list_free(&joined);
  free(order);
  free(e_from);
  free(e_to);
  free(e_w);
  free(pred_start);
  free(pred);
  free(fill);
  free(parent);
  free(prev);
  free(dist);
  free(in_path);
  free(has_edge);
  return st;
}

/* ---- The flow problem ------------------------------------------------------------------------- */

/* TrackletStitcher.compute_max_gap for pieces sorted by start: the largest, over pieces, of the
 * smallest positive gap to a piece starting after it ends. */
static int compute_max_gap(const piece_list *l) {
  int max_gap = 0;
  for (size_t i = 0; i < l->n; i++) {
    int end = piece_end(&l->items[i]);
    size_t lo = i + 1, hi = l->n;   /* first piece starting after `end` */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (piece_start(&l->items[mid]) > end)
        hi = mid;
      else
        lo = mid + 1;
    }
    if (lo < l->n) {
      int gap = piece_start(&l->items[lo]) - end;
      if (gap > max_gap) max_gap = gap;
    }
  }
  return max_gap;
}

/* Paths as DeepLabCut's reconstruct_paths reads them off the flow: from each piece fed by the source
 * (by piece order), follow its out node's first edge with flow (the sink's edge before the links,
 * links by target order), using up each link followed. */
typedef struct flow_layout {
  int *e_source, *e_sink, *e_through;   /* per piece: source -> in, out -> sink, in -> out */
  size_t *link_start;                   /* per piece: its links are link_edge[link_start[i] .. [i + 1]) */
  int *link_edge, *link_to;
  size_t n_links, cap_links;
} flow_layout;

static void layout_free(flow_layout *f) {
  free(f->e_source);
  free(f->e_sink);
  free(f->e_through);
  free(f->link_start);
  free(f->link_edge);
  free(f->link_to);
  *f = (flow_layout){0};
}

static dlcc_status layout_add_link(flow_layout *f, int edge, int to, dlcc_error *err) {
  if (f->n_links == f->cap_links) {
    size_t cap = f->cap_links ? 2 * f->cap_links : 64;
    int *e = realloc(f->link_edge, cap * sizeof *e);
    if (!e) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
    f->link_edge = e;
    int *t = realloc(f->link_to, cap * sizeof *t);
    if (!t) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
    f->link_to = t;
    f->cap_links = cap;
  }
  f->link_edge[f->n_links] = edge;
  f->link_to[f->n_links] = to;
  f->n_links++;
  return DLCC_OK;
}

#define NODE_SOURCE 0
#define NODE_SINK 1
#define NODE_IN(i) (2 + 2 * (int)(i))
#define NODE_OUT(i) (3 + 2 * (int)(i))

/* Builds the graph: per piece in -> out (through_cost[i], or 0), source -> in, out -> sink, all of
 * capacity 1, then links i -> j for j after i with 0 < gap <= max_gap (max_gap < 0: any gap). */
static dlcc_status build_graph(const piece_list *l, int max_gap, const int64_t *through_cost, dlcc_flow_graph *g,
                               flow_layout *f, dlcc_error *err) {
  const size_t N = l->n;
  dlcc_status st = dlcc_flow_init(g, 2 + 2 * (int)N, err);
  if (st) return st;
  f->e_source = malloc(N * sizeof *f->e_source);
  f->e_sink = malloc(N * sizeof *f->e_sink);
  f->e_through = malloc(N * sizeof *f->e_through);
  f->link_start = malloc((N + 1) * sizeof *f->link_start);
  if (!f->e_source || !f->e_sink || !f->e_through || !f->link_start)
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  for (size_t i = 0; i < N && !st; i++)
    st = dlcc_flow_add_edge(g, NODE_IN(i), NODE_OUT(i), 1, through_cost ? through_cost[i] : 0, &f->e_through[i], err);
  for (size_t i = 0; i < N && !st; i++) st = dlcc_flow_add_edge(g, NODE_SOURCE, NODE_IN(i), 1, 0, &f->e_source[i], err);
  for (size_t i = 0; i < N && !st; i++) st = dlcc_flow_add_edge(g, NODE_OUT(i), NODE_SINK, 1, 0, &f->e_sink[i], err);
  for (size_t i = 0; i < N && !st; i++) {
    f->link_start[i] = f->n_links;
    int end = piece_end(&l->items[i]);
    for (size_t j = i + 1; j < N && !st; j++) {
      long gap = (long)piece_start(&l->items[j]) - end;
      if (max_gap >= 0 && gap > max_gap) break;
      if (gap <= 0) continue;
      int edge;
      st = dlcc_flow_add_edge(g, NODE_OUT(i), NODE_IN(j), 1, link_weight(&l->items[i], &l->items[j]), &edge, err);
      if (!st) st = layout_add_link(f, edge, (int)j, err);
    }
  }
  f->link_start[N] = f->n_links;
  return st;
}

/* Reads the paths off a solved flow into paths (n_tracks x (N + 1): piece indices, -1 ended);
 * returns the number of paths. */
static int read_paths(dlcc_flow_graph *g, const flow_layout *f, size_t N, int n_tracks, int *paths) {
  int n_paths = 0;
  for (size_t i = 0; i < N && n_paths < n_tracks; i++) {
    if (dlcc_flow_on(g, f->e_source[i]) != 1) continue;
    int *path = paths + (size_t)n_paths * (N + 1);
    size_t len = 0;
    size_t cur = i;
    for (;;) {
      path[len++] = (int)cur;
      if (dlcc_flow_on(g, f->e_sink[cur]) == 1 || len > N) break;
      size_t next = N;
      for (size_t k = f->link_start[cur]; k < f->link_start[cur + 1]; k++) {
        int e = f->link_edge[k];
        if (dlcc_flow_on(g, e) == 1) {
          g->arc_cap[2 * e + 1] -= 1;   /* used up, as reconstruct_path decrements it */
          next = (size_t)f->link_to[k];
          break;
        }
      }
      if (next == N) break;
      cur = next;
    }
    path[len < N + 1 ? len : N] = -1;
    n_paths++;
  }
  return n_paths;
}

/* DeepLabCut's problem: source supplies n_tracks, the sink takes them, each piece's in node takes
 * one unit and its out node gives one. *feasible false when no flow meets that. */
static dlcc_status solve_dlc(const piece_list *l, int max_gap, int n_tracks, int *paths, int *n_paths,
                             bool *feasible, dlcc_error *err) {
  dlcc_flow_graph g;
  flow_layout f = {0};
  dlcc_status st = build_graph(l, max_gap, NULL, &g, &f, err);
  if (!st) {
    g.supply[NODE_SOURCE] = n_tracks;
    g.supply[NODE_SINK] = -n_tracks;
    for (size_t i = 0; i < l->n; i++) g.supply[NODE_IN(i)] = -1, g.supply[NODE_OUT(i)] = 1;
    st = dlcc_flow_solve(&g, feasible, NULL, err);
  }
  if (!st && *feasible) *n_paths = read_paths(&g, &f, l->n, n_tracks, paths);
  dlcc_flow_free(&g);
  layout_free(&f);
  return st;
}

/* The fallback: at most n_tracks chains (links across any gap, a bypass source -> sink for the
 * tracks not needed) where passing through piece i earns R per frame, R larger than any chains'
 * summed link cost: the most frames covered first, the least link cost second. */
static dlcc_status solve_fallback(const piece_list *l, int n_tracks, int *paths, int *n_paths, unsigned char *covered,
                                  dlcc_error *err) {
  const size_t N = l->n;
  int64_t *through = malloc(N * sizeof *through);
  if (!through) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  /* The bound on link costs: each piece leaves by at most one link. */
  int64_t reward = 1, frames = 0;
  for (size_t i = 0; i < N; i++) {
    int64_t worst = 0;
    for (size_t j = i + 1; j < N; j++)
      if (piece_start(&l->items[j]) > piece_end(&l->items[i])) {
        int64_t w = link_weight(&l->items[i], &l->items[j]);
        if (w > worst) worst = w;
      }
    reward += worst;
    frames += (int64_t)l->items[i].n;
  }
  if (reward > INT64_MAX / 4 / (frames + 1)) {
    free(through);
    return dlcc_fail(err, DLCC_ERR_UNSUPPORTED, "stitching: link costs too large to rank %zu tracklets", N);
  }
  for (size_t i = 0; i < N; i++) through[i] = -reward * (int64_t)l->items[i].n;
  dlcc_flow_graph g;
  flow_layout f = {0};
  bool feasible = false;
  dlcc_status st = build_graph(l, -1, through, &g, &f, err);
  if (!st) st = dlcc_flow_add_edge(&g, NODE_SOURCE, NODE_SINK, n_tracks, 0, NULL, err);
  if (!st) {
    g.supply[NODE_SOURCE] = n_tracks;
    g.supply[NODE_SINK] = -n_tracks;
    st = dlcc_flow_solve(&g, &feasible, NULL, err);
  }
  if (!st && !feasible) st = dlcc_fail(err, DLCC_ERR_INVALID, "stitching: the fallback flow has no solution");
  if (!st) {
    for (size_t i = 0; i < N; i++) covered[i] = dlcc_flow_on(&g, f.e_through[i]) == 1;
    *n_paths = read_paths(&g, &f, N, n_tracks, paths);
  }
  free(through);
  dlcc_flow_free(&g);
  layout_free(&f);
  return st;
}

/* ---- Residuals back into tracks --------------------------------------------------------------- */

/* TrackletStitcher._finalize_tracks. tracks: n_tracks pieces; residuals consumed. */
static dlcc_status place_residuals(piece *tracks, int n_tracks, piece_list *residuals, int *n_placed,
                                   dlcc_error *err) {
  *n_placed = 0;
  size_t *order = NULL;
  dlcc_status st = stable_order(residuals, true, &order, err);
  if (st) return st;
  /* Longest first: the reverse of the stable sort by length; single frames are dropped. */
  size_t n = 0;
  size_t *by_length = order;
  order = malloc((residuals->n ? residuals->n : 1) * sizeof *order);
  unsigned char *gone = calloc(residuals->n ? residuals->n : 1, 1);
  if (order)
    for (size_t k = residuals->n; k-- > 0;)
      if (residuals->items[by_length[k]].n > 1) order[n++] = by_length[k];
  free(by_length);
  if (!order || !gone) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
    goto out;
  }
  /* Rounds until one adds nothing: a residual that fits in exactly one track goes there; one that
   * fits in none is dropped. */
  for (bool added = true; added && !st;) {
    added = false;
    for (size_t k = 0; k < n && !st; k++) {
      size_t r = order[k];
      if (gone[r]) continue;
      int n_fit = 0, fit = -1;
      for (int t = 0; t < n_tracks; t++)
        if (!piece_overlaps(&tracks[t], &residuals->items[r])) n_fit++, fit = t;
      if (n_fit == 0) {
        gone[r] = 1;
      } else if (n_fit == 1) {
        st = piece_merge(&tracks[fit], &residuals->items[r], err);
        gone[r] = 1;
        added = true;
        ++*n_placed;
      }
    }
  }
  /* The rest, into the track with a hole around the residual whose edges' centroids are nearest
   * (the edge alone when the residual is within 3 frames of it). */
  for (size_t k = 0; k < n && !st; k++) {
    size_t r = order[k];
    if (gone[r]) continue;
    const piece *res = &residuals->items[r];
    int best = -1;
    double best_dist = 0;
    for (int t = 0; t < n_tracks; t++) {
      const piece *tr = &tracks[t];
      if (piece_overlaps(tr, res)) continue;
      size_t lo = 0, hi = tr->n;   /* first frame >= the residual's end */
      while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tr->frames[mid] < piece_end(res))
          lo = mid + 1;
        else
          hi = mid;
      }
      if (lo == tr->n || lo == 0) continue;   /* after the track's end or before its start */
      size_t e = lo, s = lo - 1;
      long left_gap = (long)piece_start(res) - tr->frames[s];
      long right_gap = (long)tr->frames[e] - piece_end(res);
      if (left_gap <= 0) continue;   /* the track passes through the residual's span */
      double d;
      if (left_gap <= HOLE_EDGE_FRAMES)
        d = centroid_distance(tr, s, res, 0);
      else if (right_gap <= HOLE_EDGE_FRAMES)
        d = centroid_distance(tr, e, res, res->n - 1);
      else
        d = centroid_distance(tr, s, res, 0) + centroid_distance(tr, e, res, res->n - 1);
      if (best < 0 || d < best_dist) best = t, best_dist = d;
    }
    if (best < 0) continue;
    st = piece_merge(&tracks[best], res, err);
    gone[r] = 1;
    ++*n_placed;
  }
out:
  free(order);
  free(gone);
  return st;
}

/* ---- dlcc_stitch ------------------------------------------------------------------------------ */

void dlcc_stitch_params_default(dlcc_stitch_params *p, int n_tracks) {
  *p = (dlcc_stitch_params){
      .n_tracks = n_tracks, .min_length = 10, .split_tracklets = true, .prestitch_residuals = true, .max_gap = 0};
}

void dlcc_tracks_free(dlcc_tracks *t) {
  free(t->poses);
  *t = (dlcc_tracks){0};
}

dlcc_status dlcc_stitch(const dlcc_tracklet_set *tracklets, int n_frames, const dlcc_stitch_params *p,
                        dlcc_tracks *out, dlcc_error *err) {
  *out = (dlcc_tracks){0};
  if (p->n_tracks < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "stitching: n_tracks is %d; there must be at least one track",
                     p->n_tracks);
  if (p->min_length < 3)
    return dlcc_fail(err, DLCC_ERR_INVALID, "stitching: min_length is %d; a tracklet must be at least 3 frames long",
                     p->min_length);
  if (p->max_gap < 0) return dlcc_fail(err, DLCC_ERR_INVALID, "stitching: max_gap is %d (0: automatic)", p->max_gap);
  if (n_frames < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "stitching: the video has %d frames", n_frames);
  if (tracklets->num_joints < 1)
    return dlcc_fail(err, DLCC_ERR_INVALID, "stitching: tracklets of %d joints", tracklets->num_joints);
  const int nj = tracklets->num_joints, n_tracks = p->n_tracks;
  const size_t per_pose = (size_t)nj * 3;

  piece_list longs = {0}, residuals = {0};
  piece *tracks = calloc((size_t)n_tracks, sizeof *tracks);
  int *paths = NULL;
  unsigned char *covered = NULL;
  size_t *order = NULL;
  dlcc_status st = tracks ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
  if (!st) st = make_pieces(tracklets, n_frames, p, &longs, &residuals, err);
  if (!st && longs.n == 0)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "stitching: no tracklet is at least min_length = %d frames long (%zu shorter pieces); lower "
                   "min_length or check the tracking",
                   p->min_length, residuals.n);
  if (!st && p->prestitch_residuals) st = prestitch(&residuals, nj, err);
  if (!st) st = stable_order(&longs, false, &order, err);
  if (!st) st = list_permute(&longs, order, err);
  if (st) goto done;

  const size_t N = longs.n;
  out->n_tracklets = (int)N;
  int max_gap = p->max_gap ? p->max_gap : (int)(1.5 * compute_max_gap(&longs));
  out->max_gap = max_gap;
  paths = malloc((size_t)n_tracks * (N + 1) * sizeof *paths);
  covered = calloc(N, 1);
  if (!paths || !covered) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching)");
    goto done;
  }
  int n_paths = 0;
  bool feasible = false;
  st = solve_dlc(&longs, max_gap, n_tracks, paths, &n_paths, &feasible, err);
  if (st) goto done;
  if (feasible) {
    for (size_t i = 0; i < N; i++) covered[i] = 1;
  } else {
    out->used_fallback = true;
    st = solve_fallback(&longs, n_tracks, paths, &n_paths, covered, err);
    if (st) goto done;
  }
  for (int k = 0; k < n_paths && !st; k++)
    for (const int *q = paths + (size_t)k * (N + 1); *q >= 0 && !st; q++)
      st = piece_append_all(&tracks[k], &longs.items[*q], err);
  for (size_t i = 0; i < N && !st; i++)
    if (!covered[i]) {
      out->n_left_out++;
      st = list_push(&residuals, &longs.items[i], err);
    }
  if (st) goto done;
  out->n_residuals = (int)residuals.n;
  st = place_residuals(tracks, n_tracks, &residuals, &out->n_residuals_placed, err);
  if (st) goto done;

  out->poses = malloc((size_t)n_tracks * (size_t)n_frames * per_pose * sizeof *out->poses);
  if (!out->poses) {
    st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (stitching: %d tracks of %d frames)", n_tracks, n_frames);
    goto done;
  }
  out->n_tracks = n_tracks;
  out->n_frames = n_frames;
  out->num_joints = nj;
  for (size_t k = 0; k < (size_t)n_tracks * (size_t)n_frames * per_pose; k++) out->poses[k] = NAN;
  for (int k = 0; k < n_tracks; k++) {
    if (tracks[k].n > 0) out->n_found++;
    for (size_t e = 0; e < tracks[k].n; e++)
      memcpy(out->poses + ((size_t)k * (size_t)n_frames + (size_t)tracks[k].frames[e]) * per_pose, tracks[k].poses[e],
             per_pose * sizeof(double));
  }

done:
  /* longs.items[i] moved to residuals are zeroed; free what is left. */
  list_free(&longs);
  list_free(&residuals);
  if (tracks)
    for (int k = 0; k < n_tracks; k++) piece_free(&tracks[k]);
  free(tracks);
  free(paths);
  free(covered);
  free(order);
  if (st) dlcc_tracks_free(out);
  return st;
}
