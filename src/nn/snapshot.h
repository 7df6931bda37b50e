/* Training snapshots: one safetensors file holding everything a training run needs to resume as if
 * it had never stopped (parameters, optimizer state, iteration, random generator), stamped with a
 * fingerprint of the network so that a snapshot loads into the network that wrote it only. */
#ifndef DLCC_NN_SNAPSHOT_H
#define DLCC_NN_SNAPSHOT_H

#include <stdint.h>

#include "nn/optimizer.h"
#include "nn/params.h"
#include "util/error.h"
#include "util/rng.h"

/* FNV-1a (64 bits) of net_type and, in declaration order, each parameter's name, kind and shape:
 * two networks share it when they are built the same way (same backbone, same heads, same number
 * of joints and limbs). */
uint64_t dlcc_nn_network_fingerprint(const char *net_type, const dlcc_nn_params *p);

/* Writes path atomically. Tensors: every parameter under its own name (values, F32, declaration
 * order), then when opt is given "optimizer.m.<name>" (SGD's accumulator or Adam's first moment)
 * and for Adam "optimizer.v.<name>" for every trained parameter. __metadata__: format
 * "dlcc-snapshot", format_version 1, net_type, fingerprint (16 hex digits), parameters (their
 * count), iteration, optimizer ("sgd", "adam", or "none" when opt is NULL), optimizer_step,
 * weight_decay, and when rng is given rng_state and rng_inc (16 hex digits each). */
dlcc_status dlcc_nn_snapshot_save(const char *path, const char *net_type, const dlcc_nn_params *p,
                                  const dlcc_nn_optimizer *opt, long iteration, const dlcc_rng *rng, dlcc_error *err);

/* Reads a snapshot written by dlcc_nn_snapshot_save into p, and when given into opt (its m, v and
 * step; opt must be of the snapshot's kind, made for p), *iteration and *rng. Refuses, naming both
 * networks and the first parameter that differs, a snapshot whose fingerprint is not that of
 * (net_type, p); refuses a file that is not a dlcc snapshot, is truncated, or lacks what is asked
 * (optimizer state, RNG state). All or nothing: on failure nothing is changed. Calls
 * dlcc_nn_params_changed on success. opt, iteration and rng may be NULL (weights only, as for
 * evaluation). */
dlcc_status dlcc_nn_snapshot_load(const char *path, const char *net_type, dlcc_nn_params *p, dlcc_nn_optimizer *opt,
                                  long *iteration, dlcc_rng *rng, dlcc_error *err);

#endif
