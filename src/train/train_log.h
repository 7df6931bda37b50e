/* The training log lines DeepLabCut writes to train/log.txt (its logging set-up: "%(asctime)s
 * %(message)s" with "%Y-%m-%d %H:%M:%S" times, appended): "iteration: 1000 loss: 0.0123 scmap loss:
 * 0.0100 locref loss: 0.0023 lr: 0.005", the losses with 4 decimals and the rate as Python prints a
 * float (dlcc_format_double_repr); dlcc adds the images per second at the end. Also the rows of
 * train/learning_stats.csv. */
#ifndef DLCC_TRAIN_TRAIN_LOG_H
#define DLCC_TRAIN_TRAIN_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "nn/loss.h"

/* What one display line reports. */
typedef struct dlcc_train_log_record {
  long iteration;
  dlcc_nn_losses losses;   /* means over the iterations since the previous line */
  bool intermediate;       /* report the intermediate supervision loss */
  bool pairwise;           /* report the limb (pairwise / part affinity field) loss */
  bool multianimal;        /* learning_stats.csv rows as DeepLabCut's multi-animal train writes them */
  double lr;
  double images_per_s;
} dlcc_train_log_record;

/* The message part of a line, as DeepLabCut's multi-animal train formats it (scmap and locref loss
 * always; "interm scmap loss" and "limb loss" when the record has them), then " images/s: %.2f":
 *   iteration: 1000 loss: 0.0123 scmap loss: 0.0100 locref loss: 0.0023 lr: 0.005 images/s: 3.21 */
void dlcc_train_log_format(const dlcc_train_log_record *r, char *buf, size_t size);

/* Writes "<local time as %Y-%m-%d %H:%M:%S> <message>\n" to log and flushes it; false when that
 * fails. */
bool dlcc_train_log_append(FILE *log, time_t when, const char *message);

/* Appends "<iteration>, <loss with 5 decimals>, <lr as Python prints it>\n" to learning_stats.csv,
 * the line DeepLabCut's TensorFlow train writes at each display, and flushes; false on failure. A
 * multi-animal record gets the row DeepLabCut's multi-animal train writes instead, every loss with 4
 * decimals (limb loss 0 without part affinity fields):
 *   iteration: 1000, loss: 0.0123, scmap loss: 0.0100, locref loss: 0.0020, limb loss: 0.0003, lr: 0.0001 */
bool dlcc_train_stats_append(FILE *stats, const dlcc_train_log_record *r);

#endif
