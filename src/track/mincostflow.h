/* Minimum-cost flow with node supplies and demands on a small directed graph with integer
 * capacities and costs (negative costs allowed, no negative cycle): what networkx's
 * capacity_scaling answers for DeepLabCut's TrackletStitcher, solved here by successive shortest
 * paths with Johnson potentials (Bellman-Ford once, then Dijkstra stopped at the sink). */
#ifndef DLCC_TRACK_MINCOSTFLOW_H
#define DLCC_TRACK_MINCOSTFLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

typedef struct dlcc_flow_graph {
  int n_nodes;
  int64_t *supply;          /* per node: > 0 sends that much, < 0 receives (networkx's demand is -supply) */
  int n_edges, cap_edges;   /* edges as added; arc 2k is edge k, arc 2k + 1 its residual reverse */
  int *arc_to;
  int64_t *arc_cap, *arc_cost;
} dlcc_flow_graph;

dlcc_status dlcc_flow_init(dlcc_flow_graph *g, int n_nodes, dlcc_error *err);
void dlcc_flow_free(dlcc_flow_graph *g);

/* Adds the edge u -> v (capacity >= 0) and returns its index in *edge (may be NULL). */
dlcc_status dlcc_flow_add_edge(dlcc_flow_graph *g, int u, int v, int64_t capacity, int64_t cost, int *edge,
                               dlcc_error *err);

/* Sends every supply to the demands at the least total cost. *feasible is false when the supplies
 * and demands cannot all be met (networkx raises NetworkXUnfeasible); the flow found so far is then
 * left in the graph. total_cost may be NULL. */
dlcc_status dlcc_flow_solve(dlcc_flow_graph *g, bool *feasible, int64_t *total_cost, dlcc_error *err);

/* The flow on edge k after dlcc_flow_solve. */
int64_t dlcc_flow_on(const dlcc_flow_graph *g, int edge);

#endif
