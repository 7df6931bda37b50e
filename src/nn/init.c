/* Random initial parameters: Kaiming normal for convolution weights, the batch-norm identity, zeros
 * elsewhere, and Xavier uniform on request for heads. */
#include "nn/init.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Product of dims[2..ndims): the kernel's spatial size (1 for a 1-D or 2-D parameter). */
static double receptive_field(const dlcc_nn_param *param) {
  double r = 1.0;
  for (int d = 2; d < param->ndims; d++) r *= (double)param->dims[d];
  return r;
}

static void fill(float *v, size_t n, float value) {
  for (size_t i = 0; i < n; i++) v[i] = value;
}

void dlcc_nn_init_random(dlcc_nn_params *p, dlcc_rng *rng) {
  for (size_t i = 0; i < p->count; i++) {
    const dlcc_nn_param *param = &p->items[i];
    float *v = dlcc_nn_param_values(p, i);
    if (param->kind == DLCC_NN_PARAM_WEIGHT) {
      double std = sqrt(2.0 / ((double)param->dims[0] * receptive_field(param)));
      for (size_t k = 0; k < param->count; k++) v[k] = (float)(std * dlcc_rng_normal(rng));
    } else if (param->kind == DLCC_NN_PARAM_BIAS) {
      fill(v, param->count, ends_with(param->name, ".weight") ? 1.0f : 0.0f);
    } else {
      fill(v, param->count, ends_with(param->name, ".running_var") ? 1.0f : 0.0f);
    }
  }
  dlcc_nn_params_changed(p);
}

void dlcc_nn_init_xavier_uniform(dlcc_nn_params *p, size_t index, dlcc_rng *rng) {
  const dlcc_nn_param *param = &p->items[index];
  /* TensorFlow's fans of a 1-D shape are both its size */
  double fans = (double)param->dims[0] + (double)(param->ndims > 1 ? param->dims[1] : param->dims[0]);
  double bound = sqrt(6.0 / (fans * receptive_field(param)));
  float *v = dlcc_nn_param_values(p, index);
  for (size_t k = 0; k < param->count; k++) v[k] = (float)(bound * (2.0 * dlcc_rng_uniform(rng) - 1.0));
  dlcc_nn_params_changed(p);
}
