/* Successive shortest paths: a super source feeds every supply and a super sink drains every
 * demand; each round finds the cheapest residual paths' length by Dijkstra on costs reduced by node
 * potentials (first set by Bellman-Ford, which handles negative costs), then pushes flow along every
 * path whose reduced cost is zero (a primal-dual round). */
#include "track/mincostflow.h"

#include <stdlib.h>
#include <string.h>

#define FLOW_INF INT64_MAX

dlcc_status dlcc_flow_init(dlcc_flow_graph *g, int n_nodes, dlcc_error *err) {
  *g = (dlcc_flow_graph){0};
  if (n_nodes < 1) return dlcc_fail(err, DLCC_ERR_INVALID, "flow graph: %d nodes", n_nodes);
  g->supply = calloc((size_t)n_nodes, sizeof *g->supply);
  if (!g->supply) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (flow graph)");
  g->n_nodes = n_nodes;
  return DLCC_OK;
}

void dlcc_flow_free(dlcc_flow_graph *g) {
  free(g->supply);
  free(g->arc_to);
  free(g->arc_cap);
  free(g->arc_cost);
  *g = (dlcc_flow_graph){0};
}

static dlcc_status add_arcs(dlcc_flow_graph *g, int extra_edges, dlcc_error *err) {
  if (g->n_edges + extra_edges <= g->cap_edges) return DLCC_OK;
  int cap = g->cap_edges ? g->cap_edges : 64;
  while (cap < g->n_edges + extra_edges) cap *= 2;
  int *to = realloc(g->arc_to, 2 * (size_t)cap * sizeof *to);
  if (!to) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (flow graph)");
  g->arc_to = to;
  int64_t *c = realloc(g->arc_cap, 2 * (size_t)cap * sizeof *c);
  if (!c) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (flow graph)");
  g->arc_cap = c;
  int64_t *w = realloc(g->arc_cost, 2 * (size_t)cap * sizeof *w);
  if (!w) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (flow graph)");
  g->arc_cost = w;
  g->cap_edges = cap;
  return DLCC_OK;
}

/* arc_to holds the head of each arc; the tail of arc a is the head of its partner a ^ 1. */
dlcc_status dlcc_flow_add_edge(dlcc_flow_graph *g, int u, int v, int64_t capacity, int64_t cost, int *edge,
                               dlcc_error *err) {
  if (u < 0 || v < 0 || u >= g->n_nodes || v >= g->n_nodes || capacity < 0)
    return dlcc_fail(err, DLCC_ERR_INVALID, "flow graph: bad edge %d -> %d (capacity %lld)", u, v, (long long)capacity);
  dlcc_status st = add_arcs(g, 1, err);
  if (st) return st;
  int k = g->n_edges++;
  g->arc_to[2 * k] = v;
  g->arc_cap[2 * k] = capacity;
  g->arc_cost[2 * k] = cost;
  g->arc_to[2 * k + 1] = u;
  g->arc_cap[2 * k + 1] = 0;
  g->arc_cost[2 * k + 1] = -cost;
  if (edge) *edge = k;
  return DLCC_OK;
}

int64_t dlcc_flow_on(const dlcc_flow_graph *g, int edge) {
  return g->arc_cap[2 * edge + 1];
}

typedef struct heap_item {
  int64_t key;
  int node;
} heap_item;

static void heap_push(heap_item *h, int *n, heap_item it) {
  int i = (*n)++;
  while (i > 0) {
    int p = (i - 1) / 2;
    if (h[p].key <= it.key) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = it;
}

static heap_item heap_pop(heap_item *h, int *n) {
  heap_item top = h[0], last = h[--(*n)];
  int i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && h[c + 1].key < h[c].key) c++;
    if (h[c].key >= last.key) break;
    h[i] = h[c];
    i = c;
  }
  if (*n > 0) h[i] = last;
  return top;
}

dlcc_status dlcc_flow_solve(dlcc_flow_graph *g, bool *feasible, int64_t *total_cost, dlcc_error *err) {
  *feasible = false;
  if (total_cost) *total_cost = 0;
  const int n_real = g->n_nodes, src = n_real, dst = n_real + 1, n = n_real + 2;
  int64_t wanted = 0, demanded = 0;
  int n_terminal = 0;
  for (int v = 0; v < n_real; v++) {
    if (g->supply[v] > 0) wanted += g->supply[v], n_terminal++;
    if (g->supply[v] < 0) demanded -= g->supply[v], n_terminal++;
  }
  if (wanted != demanded) return DLCC_OK;   /* unbalanced: no flow meets every demand */
  int first_terminal_edge = g->n_edges;
  dlcc_status st = add_arcs(g, n_terminal, err);
  if (st) return st;
  /* The terminal edges go into the same arrays so that the adjacency below covers them; they are
   * removed again before returning. */
  g->n_nodes = n;
  for (int v = 0; v < n_real && !st; v++) {
    if (g->supply[v] > 0) st = dlcc_flow_add_edge(g, src, v, g->supply[v], 0, NULL, err);
    if (g->supply[v] < 0) st = dlcc_flow_add_edge(g, v, dst, -g->supply[v], 0, NULL, err);
  }
  const int n_arcs = 2 * g->n_edges;
  int *head = malloc((size_t)n * sizeof *head), *next = malloc((size_t)n_arcs * sizeof *next);
  int64_t *pot = calloc((size_t)n, sizeof *pot), *dist = malloc((size_t)n * sizeof *dist);
  int *prev_arc = malloc((size_t)n * sizeof *prev_arc), *cur_arc = malloc((size_t)n * sizeof *cur_arc);
  int *stack = malloc(((size_t)n + 1) * sizeof *stack);
  unsigned char *mark = malloc((size_t)n);
  heap_item *heap = malloc(((size_t)n_arcs + 1) * sizeof *heap);
  if (st || !head || !next || !pot || !dist || !prev_arc || !cur_arc || !stack || !mark || !heap) {
    if (!st) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory (flow graph)");
    goto done;
  }
  for (int v = 0; v < n; v++) head[v] = -1;
  for (int a = n_arcs - 1; a >= 0; a--) {
    int tail = g->arc_to[a ^ 1];
    next[a] = head[tail];
    head[tail] = a;
  }

  /* Bellman-Ford from the super source over arcs with capacity: potentials that make every reduced
   * cost non-negative, whatever the signs of the costs. */
  for (int v = 0; v < n; v++) dist[v] = FLOW_INF;
  dist[src] = 0;
  for (int round = 0; round < n; round++) {
    bool changed = false;
    for (int a = 0; a < n_arcs; a++) {
      if (g->arc_cap[a] <= 0) continue;
      int u = g->arc_to[a ^ 1], v = g->arc_to[a];
      if (dist[u] == FLOW_INF) continue;
      if (dist[u] + g->arc_cost[a] < dist[v]) dist[v] = dist[u] + g->arc_cost[a], changed = true;
    }
    if (!changed) break;
    if (round == n - 1) {
      st = dlcc_fail(err, DLCC_ERR_INVALID, "flow graph: a cycle of negative cost");
      goto done;
    }
  }
  for (int v = 0; v < n; v++) pot[v] = dist[v] == FLOW_INF ? 0 : dist[v];

  int64_t sent = 0, cost = 0;
  while (sent < wanted) {
    for (int v = 0; v < n; v++) dist[v] = FLOW_INF, prev_arc[v] = -1;
    dist[src] = 0;
    int heap_n = 0;
    heap_push(heap, &heap_n, (heap_item){0, src});
    while (heap_n > 0) {
      heap_item it = heap_pop(heap, &heap_n);
      int u = it.node;
      if (it.key != dist[u]) continue;
      if (u == dst) break;   /* the rest is farther than the sink: not needed for this path */
      for (int a = head[u]; a >= 0; a = next[a]) {
        if (g->arc_cap[a] <= 0) continue;
        int v = g->arc_to[a];
        int64_t nd = dist[u] + g->arc_cost[a] + pot[u] - pot[v];
        if (nd < dist[v]) {
          dist[v] = nd;
          prev_arc[v] = a;
          heap_push(heap, &heap_n, (heap_item){nd, v});
        }
      }
    }
    if (dist[dst] == FLOW_INF) break;
    /* Johnson's update with the search stopped at the sink: nodes not settled move by the sink's
     * distance, which keeps every reduced cost non-negative. */
    for (int v = 0; v < n; v++) pot[v] += dist[v] < dist[dst] ? dist[v] : dist[dst];
    /* Push along every path of zero reduced cost (all shortest now) before searching again: a
     * depth-first search over such arcs, each node's arcs scanned once per round (cur_arc), nodes
     * that lead nowhere marked dead. */
    for (int v = 0; v < n; v++) cur_arc[v] = head[v], mark[v] = 0;
    int depth = 0;
    stack[depth++] = src;
    mark[src] = 1;
    while (depth > 0 && sent < wanted) {
      int u = stack[depth - 1];
      if (u == dst) {
        int64_t push = wanted - sent;
        for (int k = 1; k < depth; k++)
          if (g->arc_cap[prev_arc[stack[k]]] < push) push = g->arc_cap[prev_arc[stack[k]]];
        for (int k = 1; k < depth; k++) {
          int a = prev_arc[stack[k]];
          g->arc_cap[a] -= push;
          g->arc_cap[a ^ 1] += push;
          cost += push * g->arc_cost[a];
        }
        sent += push;
        for (int k = 1; k < depth; k++) mark[stack[k]] = 0;
        depth = 1;
        continue;
      }
      int a = cur_arc[u];
      for (; a >= 0; a = next[a]) {
        int v = g->arc_to[a];
        if (g->arc_cap[a] > 0 && mark[v] == 0 && g->arc_cost[a] + pot[u] - pot[v] == 0) break;
      }
      cur_arc[u] = a;
      if (a < 0) {
        mark[u] = 2;   /* dead for this round */
        depth--;
        continue;
      }
      int v = g->arc_to[a];
      prev_arc[v] = a;
      mark[v] = 1;
      stack[depth++] = v;
    }
  }
  *feasible = sent == wanted;
  if (total_cost) *total_cost = cost;

done:
  free(head);
  free(next);
  free(pot);
  free(dist);
  free(prev_arc);
  free(cur_arc);
  free(stack);
  free(mark);
  free(heap);
  g->n_edges = first_terminal_edge;
  g->n_nodes = n_real;
  return st;
}
