/* Messages and checks shared by the layers, so that every layer words them alike. */
#include "nn/layer.h"

#include <stdio.h>
#include <string.h>

void dlcc_nn_describe_op(char *buf, size_t size, const char *layer, const char *op, const dnnl_memory_desc_t *x) {
  char layout[128];
  dlcc_nn_md_describe(x, layout, sizeof layout);
  snprintf(buf, size, "%s: %s for input %s", layer, op, layout);
}

dlcc_status dlcc_nn_check_grad_output(const char *layer, const dlcc_nn_tensor *dy, const int64_t out_dims[4],
                                      dlcc_nn_dtype out_dtype, dlcc_error *err) {
  if (!dy->buf.mem) return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the output gradient is empty", layer);
  if (memcmp(dy->dims, out_dims, sizeof dy->dims) != 0 || dy->dtype != out_dtype)
    return dlcc_fail(err, DLCC_ERR_INVALID, "%s: the output gradient is %lldx%lldx%lldx%lld %s, the output "
                     "%lldx%lldx%lldx%lld %s", layer, (long long)dy->dims[0], (long long)dy->dims[1],
                     (long long)dy->dims[2], (long long)dy->dims[3], dlcc_nn_dtype_name(dy->dtype),
                     (long long)out_dims[0], (long long)out_dims[1], (long long)out_dims[2],
                     (long long)out_dims[3], dlcc_nn_dtype_name(out_dtype));
  return DLCC_OK;
}
