/* Driver for compare.py: reads tracklets from stdin (a header line of parameters, then per tracklet
 * "id length" and its frames with num_joints x 3 numbers), stitches them with dlcc_stitch and prints
 * a summary line and every non-empty (track, frame, pose). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "track/stitch.h"
int main(void) {
  int nj, nf, nt, ml, sp, ps, mg, ntl;
  if (scanf("%d %d %d %d %d %d %d %d", &nj, &nf, &nt, &ml, &sp, &ps, &mg, &ntl) != 8) return 1;
  dlcc_tracklet_set set; dlcc_tracklet_set_init(&set, nj); dlcc_error err;
  double *pose = malloc(sizeof(double) * (size_t)nj * 3);
  for (int t = 0; t < ntl; t++) {
    int id, len; if (scanf("%d %d", &id, &len) != 2) return 1;
    for (int k = 0; k < len; k++) {
      int f; if (scanf("%d", &f) != 1) return 1;
      for (int j = 0; j < nj * 3; j++) { char b[64]; if (scanf("%63s", b) != 1) return 1; pose[j] = strtod(b, NULL); }
      if (dlcc_tracklet_set_append(&set, id, f, pose, &err)) { printf("ERR %s\n", err.message); return 0; }
    }
  }
  dlcc_stitch_params p; dlcc_stitch_params_default(&p, nt); p.min_length = ml; p.split_tracklets = sp; p.prestitch_residuals = ps; p.max_gap = mg;
  dlcc_tracks out;
  if (dlcc_stitch(&set, nf, &p, &out, &err)) { printf("ERR %s\n", err.message); return 0; }
  printf("INFO %d %d %d %d %d %d\n", out.used_fallback, out.n_found, out.n_tracklets, out.n_residuals, out.n_residuals_placed, out.max_gap);
  for (int k = 0; k < nt; k++) for (int f = 0; f < nf; f++) {
    const double *q = dlcc_tracks_pose(&out, k, f); int any = 0;
    for (int j = 0; j < nj * 3; j++) if (!isnan(q[j])) any = 1;
    if (!any) continue;
    printf("%d %d", k, f); for (int j = 0; j < nj * 3; j++) printf(" %.17g", q[j]); printf("\n");
  }
  dlcc_tracks_free(&out); dlcc_tracklet_set_free(&set); free(pose); return 0;
}
