/* DeepLabCut's log.txt lines (see train_log.h). The learning rate is written as Python prints the
 * float read from multi_step, so a line reads the same whichever program wrote it. */
#include "train/train_log.h"

#include "project/labels.h"

void dlcc_train_log_format(const dlcc_train_log_record *r, char *buf, size_t size) {
  char lr[32], interm[64] = "", limb[64] = "";
  dlcc_format_double_repr(r->lr, lr);
  if (r->intermediate) snprintf(interm, sizeof interm, " interm scmap loss: %.4f", r->losses.part_interm);
  if (r->pairwise) snprintf(limb, sizeof limb, " limb loss: %.4f", r->losses.pairwise);
  snprintf(buf, size, "iteration: %ld loss: %.4f scmap loss: %.4f%s locref loss: %.4f%s lr: %s images/s: %.2f",
           r->iteration, r->losses.total, r->losses.part, interm, r->losses.locref, limb, lr, r->images_per_s);
}

bool dlcc_train_log_append(FILE *log, time_t when, const char *message) {
  struct tm local;
  char stamp[32];
  if (!localtime_r(&when, &local) || !strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local))
    snprintf(stamp, sizeof stamp, "%lld", (long long)when);
  return fprintf(log, "%s %s\n", stamp, message) > 0 && fflush(log) == 0;
}

bool dlcc_train_stats_append(FILE *stats, const dlcc_train_log_record *r) {
  char lr[32];
  dlcc_format_double_repr(r->lr, lr);
  int written;
  if (r->multianimal)
    written = fprintf(stats,
                      "iteration: %ld, loss: %.4f, scmap loss: %.4f, locref loss: %.4f, limb loss: %.4f, lr: %s\n",
                      r->iteration, r->losses.total, r->losses.part, r->losses.locref, r->losses.pairwise, lr);
  else
    written = fprintf(stats, "%ld, %.5f, %s\n", r->iteration, r->losses.total, lr);
  return written > 0 && fflush(stats) == 0;
}
