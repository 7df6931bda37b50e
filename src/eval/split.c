/* Reading create-training-dataset's split for evaluation (see split.h). DeepLabCut keeps the same
 * lists in its Documentation_data-*.pickle (trainIndices, testIndices); dlcc writes them as JSON. */
#include "eval/split.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

static const char redo[] = "run create-training-dataset again for this shuffle (its split no longer matches the "
                           "merged labels)";

/* One index list, checked against the rows and against the rows seen in the other list. */
static dlcc_status read_indices(const char *path, const cJSON *doc, const char *key, const char *names_key,
                                const dlcc_label_table *labels, bool *seen, size_t **out, size_t *n_out,
                                dlcc_error *err) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, key);
  const cJSON *names = cJSON_GetObjectItemCaseSensitive(doc, names_key);
  if (!cJSON_IsArray(list))
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: '%s' is missing or not a list; %s", path, key, redo);
  size_t n = (size_t)cJSON_GetArraySize(list);
  if (cJSON_IsArray(names) && (size_t)cJSON_GetArraySize(names) != n)
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s: '%s' and '%s' differ in length; %s", path, key, names_key, redo);
  *out = malloc((n + 1) * sizeof **out);
  if (!*out) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const cJSON *item = cJSON_GetArrayItem(list, (int)i);
    double v = cJSON_IsNumber(item) ? item->valuedouble : -1;
    if (!(v >= 0 && v < (double)labels->n_rows && v == floor(v)))
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: %s entry %zu is not a row of the %zu merged labels; %s", path, key,
                       i, labels->n_rows, redo);
    size_t row = (size_t)v;
    if (seen[row])
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: row %zu (%s) is listed twice; %s", path, row,
                       labels->row_names[row], redo);
    seen[row] = true;
    const cJSON *name = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, (int)i) : NULL;
    if (name && (!cJSON_IsString(name) || strcmp(name->valuestring, labels->row_names[row])))
      return dlcc_fail(err, DLCC_ERR_INVALID, "%s: %s entry %zu names %s but row %zu of the merged labels is %s; %s",
                       path, key, i, cJSON_IsString(name) ? name->valuestring : "(not a string)", row,
                       labels->row_names[row], redo);
    (*out)[i] = row;
    *n_out = i + 1;
  }
  return DLCC_OK;
}

dlcc_status dlcc_eval_split_read(const char *path, const dlcc_label_table *labels, dlcc_eval_split_indices *out,
                                 dlcc_error *err) {
  memset(out, 0, sizeof *out);
  char *text;
  size_t len;
  dlcc_status st = dlcc_file_read(path, &text, &len, err);
  if (st) return st;
  cJSON *doc = cJSON_ParseWithLength(text, len);
  free(text);
  if (!cJSON_IsObject(doc)) {
    cJSON_Delete(doc);
    return dlcc_fail(err, DLCC_ERR_PARSE, "%s is not a JSON object; %s", path, redo);
  }
  bool *seen = calloc(labels->n_rows + 1, sizeof *seen);
  st = seen ? DLCC_OK : dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  if (!st) st = read_indices(path, doc, "train_indices", "train_images", labels, seen, &out->train, &out->n_train, err);
  if (!st) st = read_indices(path, doc, "test_indices", "test_images", labels, seen, &out->test, &out->n_test, err);
  free(seen);
  cJSON_Delete(doc);
  if (st) dlcc_eval_split_indices_free(out);
  return st;
}

void dlcc_eval_split_indices_free(dlcc_eval_split_indices *s) {
  free(s->train);
  free(s->test);
  memset(s, 0, sizeof *s);
}

dlcc_eval_split dlcc_eval_split_of(const dlcc_eval_split_indices *s) {
  dlcc_eval_split view = {s->train, s->n_train, s->test, s->n_test};
  return view;
}
