/* Driver for compare.py: reads frames of animals from stdin ("num_joints", then per frame "frame
 * n_animals" and n_animals x num_joints x 3 numbers), tracks them with dlcc's tracker (argv: method
 * 0 box / 1 ellipse, max_age, min_hits, threshold, slack) and prints per frame the animals' ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "track/trackers.h"
int main(int argc, char **argv) {
  int method = atoi(argv[1]); int max_age = atoi(argv[2]); int min_hits = atoi(argv[3]); double thr = atof(argv[4]); double slack = argc > 5 ? atof(argv[5]) : 0;
  int nj; if (scanf("%d", &nj) != 1) return 1;
  dlcc_tracker_params p; dlcc_tracker_params_default(&p, method ? DLCC_TRACK_ELLIPSE : DLCC_TRACK_BOX);
  p.max_age = max_age; p.min_hits = min_hits; p.iou_threshold = thr; p.box_slack = slack;
  dlcc_tracker *t; dlcc_error err; if (dlcc_tracker_create(&p, nj, NULL, &t, &err)) { puts(err.message); return 1; }
  dlcc_tracklet_set set; dlcc_tracklet_set_init(&set, nj);
  int frame, n;
  while (scanf("%d %d", &frame, &n) == 2) {
    double *a = malloc(sizeof(double) * (size_t)(n * nj * 3 + 1)); int *ids = malloc(sizeof(int) * (size_t)(n + 1));
    for (int k = 0; k < n * nj * 3; k++) { char buf[64]; if (scanf("%63s", buf) != 1) return 1; a[k] = strtod(buf, NULL); }
    if (dlcc_tracker_step(t, frame, a, n, &set, ids, &err)) { puts(err.message); return 1; }
    printf("%d", frame); for (int k = 0; k < n; k++) printf(" %d", ids[k]); printf("\n");
    free(a); free(ids);
  }
  dlcc_tracker_free(t); dlcc_tracklet_set_free(&set); return 0;
}
