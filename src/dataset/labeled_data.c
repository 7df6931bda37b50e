/* Gathers and merges a project's labels (see labeled_data.h). Which folders: those of video_sets,
 * as DeepLabCut's merge_annotateddatasets does; when video_sets names none that exists (DeepLabCut's
 * own example ships with a placeholder there), every labeled folder, with a note saying so. */
#include "dataset/labeled_data.h"

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/fileio.h"

typedef struct folder_list {
  size_t count;
  char **names;   /* folder names under labeled-data/ */
} folder_list;

static int add_folder(folder_list *list, const char *name) {
  for (size_t i = 0; i < list->count; i++)
    if (!strcmp(list->names[i], name)) return 0;
  char **grown = realloc(list->names, (list->count + 1) * sizeof *grown);
  if (!grown) return -1;
  list->names = grown;
  if (!(list->names[list->count] = strdup(name))) return -1;
  list->count++;
  return 0;
}

static void folder_list_free(folder_list *list) {
  for (size_t i = 0; i < list->count; i++) free(list->names[i]);
  free(list->names);
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Folders under labeled-data/ holding CollectedData_<scorer>.csv, sorted by name. */
static dlcc_status list_labeled_folders(const char *labeled_root, const char *csv_name, folder_list *out,
                                        dlcc_error *err) {
  DIR *dir = opendir(labeled_root);
  if (!dir) return DLCC_OK;
  struct dirent *e;
  dlcc_status st = DLCC_OK;
  while ((e = readdir(dir)) && !st) {
    if (e->d_name[0] == '.') continue;
    char *folder = dlcc_path_join(labeled_root, e->d_name);
    char *csv = folder ? dlcc_path_join(folder, csv_name) : NULL;
    if (!csv) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    else if (dlcc_path_is_file(csv) && add_folder(out, e->d_name))
      st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    free(folder);
    free(csv);
  }
  closedir(dir);
  if (out->count > 1) qsort(out->names, out->count, sizeof *out->names, compare_strings);
  return st;
}

/* Decides which labeled folders to use, noting every folder left out and why. */
static dlcc_status choose_folders(const dlcc_project_config *cfg, const char *labeled_root, const char *csv_name,
                                  folder_list *chosen, dlcc_notes *notes, dlcc_error *err) {
  folder_list on_disk = {0};
  dlcc_status st = list_labeled_folders(labeled_root, csv_name, &on_disk, err);
  for (size_t i = 0; i < cfg->n_video_sets && !st; i++) {
    char *stem = dlcc_path_stem(cfg->video_sets[i].path);
    char *folder = stem ? dlcc_path_join(labeled_root, stem) : NULL;
    if (!folder) {
      st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    } else {
      int labeled = 0;
      for (size_t j = 0; j < on_disk.count; j++) labeled |= !strcmp(on_disk.names[j], stem);
      if (labeled) {
        if (add_folder(chosen, stem)) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
      } else if (dlcc_path_is_dir(folder)) {
        dlcc_notes_add(notes, "labeled-data/%s has no %s (not labeled yet?): skipped", stem, csv_name);
      } else {
        dlcc_notes_add(notes, "video_sets lists \"%s\", but labeled-data/%s does not exist: skipped",
                       cfg->video_sets[i].path, stem);
      }
    }
    free(stem);
    free(folder);
  }
  if (!st && chosen->count == 0 && on_disk.count > 0) {
    for (size_t j = 0; j < on_disk.count && !st; j++) {
      dlcc_notes_add(notes,
                     "config.yaml's video_sets names no labeled folder; using labeled-data/%s (add its video "
                     "to video_sets to make this explicit)",
                     on_disk.names[j]);
      if (add_folder(chosen, on_disk.names[j])) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    }
  } else if (!st) {
    for (size_t j = 0; j < on_disk.count; j++) {
      int listed = 0;
      for (size_t i = 0; i < chosen->count; i++) listed |= !strcmp(chosen->names[i], on_disk.names[j]);
      if (!listed)
        dlcc_notes_add(notes,
                       "labeled-data/%s has labels but config.yaml's video_sets does not list its video: not "
                       "used (add videos/%s.<ext> to video_sets to use it)",
                       on_disk.names[j], on_disk.names[j]);
    }
  }
  folder_list_free(&on_disk);
  if (!st && chosen->count == 0)
    st = dlcc_fail(err, DLCC_ERR_INVALID,
                   "no labeled data found: no folder under %s holds %s. Label frames first (DeepLabCut's "
                   "label_frames), or check that config.yaml's scorer matches the CSV's name",
                   labeled_root, csv_name);
  return st;
}

/* The merged table's columns in the project's order. */
static dlcc_status make_merged_table(const dlcc_project_config *cfg, dlcc_labeled_data *out, dlcc_error *err) {
  size_t n_cols = 0;
  char **individuals = NULL, **bodyparts = NULL;
  if (!cfg->multianimal) {
    n_cols = cfg->n_bodyparts;
    out->n_animals = 1;
    out->n_joints = cfg->n_bodyparts;
  } else {
    n_cols = cfg->n_individuals * cfg->n_multianimalbodyparts + cfg->n_uniquebodyparts;
    out->n_animals = cfg->n_individuals + (cfg->n_uniquebodyparts > 0);
    out->n_joints = cfg->n_multianimalbodyparts;
  }
  individuals = calloc(n_cols ? n_cols : 1, sizeof *individuals);
  bodyparts = calloc(n_cols ? n_cols : 1, sizeof *bodyparts);
  if (!individuals || !bodyparts) {
    free(individuals);
    free(bodyparts);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  }
  if (!cfg->multianimal) {
    for (size_t j = 0; j < n_cols; j++) bodyparts[j] = cfg->bodyparts[j];
  } else {
    size_t c = 0;
    for (size_t a = 0; a < cfg->n_individuals; a++)
      for (size_t j = 0; j < cfg->n_multianimalbodyparts; j++, c++) {
        individuals[c] = cfg->individuals[a];
        bodyparts[c] = cfg->multianimalbodyparts[j];
      }
    for (size_t j = 0; j < cfg->n_uniquebodyparts; j++, c++) {
      individuals[c] = "single";
      bodyparts[c] = cfg->uniquebodyparts[j];
    }
  }
  dlcc_status st = dlcc_labels_create(&out->table, cfg->scorer, cfg->multianimal, 2,
                                      cfg->multianimal ? individuals : NULL, bodyparts, n_cols, NULL, 0, err);
  free(individuals);
  free(bodyparts);
  return st;
}

static long find_column(const dlcc_label_table *t, const char *individual, const char *bodypart) {
  for (size_t c = 0; c < t->n_columns; c++) {
    const dlcc_label_column *col = &t->columns[c];
    if (strcmp(col->bodypart, bodypart)) continue;
    if (!individual || !col->individual || !strcmp(col->individual, individual)) return (long)c;
  }
  return -1;
}

/* "a/./b/../c" -> "a/c" in place; a leading ".." stays (such a path points outside the project). */
static void normalise_path(char *path) {
  size_t n = strlen(path), out = 0, depth = 0;
  bool absolute = path[0] == '/';
  char *copy = strndup(path, n);
  if (!copy) return;
  if (absolute) path[out++] = '/';
  for (char *save = NULL, *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (!strcmp(part, ".")) continue;
    if (!strcmp(part, "..") && depth > 0) {
      out--; /* the '/' after the previous component */
      while (out > 0 && path[out - 1] != '/') out--;
      depth--;
      continue;
    }
    size_t len = strlen(part);
    memcpy(path + out, part, len);
    out += len;
    path[out++] = '/';
    depth += strcmp(part, "..") != 0;
  }
  if (out > (size_t)absolute) out--;
  path[out] = '\0';
  free(copy);
}

/* Where an image row of labeled-data/<folder>/CollectedData lives: the row name relative to the
 * project root when that file exists, otherwise labeled-data/<folder>/<file> (rows written on another
 * machine, or before the folder was renamed), with a note when the name changes. */
static char *resolve_image(const char *root, const char *folder, const char *row_name, const char *csv,
                           dlcc_notes *notes, size_t *remapped) {
  char *name = strdup(row_name);
  if (!name) return NULL;
  normalise_path(name);
  char *path = dlcc_path_join(root, name);
  bool inside = name[0] != '/' && strncmp(name, "../", 3) != 0;
  if (path && inside && dlcc_path_is_file(path)) {
    free(path);
    return name;
  }
  free(path);
  char *base = dlcc_path_basename(name);
  char *canonical = base ? dlcc_strdupf("labeled-data/%s/%s", folder, base) : NULL;
  if (canonical && strcmp(canonical, name) && (*remapped)++ < 3)
    dlcc_notes_add(notes, "%s lists %s; using %s", csv, row_name, canonical);
  free(base);
  free(name);
  return canonical;
}

static dlcc_status append_row(dlcc_labeled_data *out, const char *name, int w, int h, const double *values,
                              dlcc_error *err) {
  dlcc_label_table *t = &out->table;
  size_t n = t->n_rows + 1, width = t->n_columns * t->n_coords;
  char **names = realloc(t->row_names, n * sizeof *names);
  if (names) t->row_names = names;
  double *vals = realloc(t->values, n * (width ? width : 1) * sizeof *vals);
  if (vals) t->values = vals;
  int *ws = realloc(out->width, n * sizeof *ws);
  if (ws) out->width = ws;
  int *hs = realloc(out->height, n * sizeof *hs);
  if (hs) out->height = hs;
  char *copy = strdup(name);
  if (!names || !vals || !ws || !hs || !copy) {
    free(copy);
    return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory merging labels");
  }
  t->row_names[t->n_rows] = copy;
  memcpy(t->values + t->n_rows * width, values, width * sizeof *values);
  out->width[t->n_rows] = w;
  out->height[t->n_rows] = h;
  t->n_rows = n;
  return DLCC_OK;
}

/* The same image listed twice (by two CSVs, or under two spellings of its path in one) would count
 * twice, perhaps with different labels. */
static dlcc_status check_new_image(const dlcc_labeled_data *out, const char *name, const char *csv,
                                   const char *row_name, dlcc_error *err) {
  for (size_t i = 0; i < out->table.n_rows; i++)
    if (!strcmp(out->table.row_names[i], name))
      return dlcc_fail(err, DLCC_ERR_INVALID,
                       "%s: the row %s is image %s, which is already labeled (in this file under another "
                       "spelling, or in another labeled-data folder); keep one row per image",
                       csv, row_name, name);
  return DLCC_OK;
}

/* Reads one folder's CSV, checks it against the project and appends its rows. */
static dlcc_status merge_folder(const dlcc_project_config *cfg, const char *folder, dlcc_labeled_data *out,
                                dlcc_notes *notes, dlcc_error *err) {
  char *csv = dlcc_strdupf("%s/labeled-data/%s/CollectedData_%s.csv", cfg->root, folder, cfg->scorer);
  if (!csv) return dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  dlcc_label_table src = {0};
  dlcc_status st = dlcc_labels_read(csv, &src, err);
  if (!st)
    st = dlcc_labels_check_project(
        &src, csv, cfg->scorer, cfg->multianimal, cfg->multianimal ? cfg->multianimalbodyparts : cfg->bodyparts,
        cfg->multianimal ? cfg->n_multianimalbodyparts : cfg->n_bodyparts, cfg->individuals, cfg->n_individuals,
        cfg->uniquebodyparts, cfg->n_uniquebodyparts, err);
  size_t width = out->table.n_columns * 2;
  long *map = calloc(out->table.n_columns ? out->table.n_columns : 1, sizeof *map);
  double *row = malloc((width ? width : 1) * sizeof *row);
  if (!st && (!map || !row)) st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
  for (size_t c = 0; c < out->table.n_columns && !st; c++) {
    const dlcc_label_column *col = &out->table.columns[c];
    map[c] = find_column(&src, cfg->multianimal ? col->individual : NULL, col->bodypart);
  }
  size_t missing_here = 0, remapped = 0;
  for (size_t r = 0; r < src.n_rows && !st; r++) {
    char *name = resolve_image(cfg->root, folder, src.row_names[r], csv, notes, &remapped);
    char *path = name ? dlcc_path_join(cfg->root, name) : NULL;
    if (!path) {
      st = dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory");
    } else if (!dlcc_path_is_file(path)) {
      if (missing_here < 10)
        dlcc_notes_add(notes, "%s lists %s, which is not on disk: left out", csv, src.row_names[r]);
      missing_here++;
    } else {
      st = check_new_image(out, name, csv, src.row_names[r], err);
      /* Decoded in full, not just the header: a truncated image must stop us here, not training. */
      dlcc_image img = {0};
      if (!st) st = dlcc_image_load(path, &img, err);
      for (size_t c = 0; c < out->table.n_columns && !st; c++)
        for (size_t k = 0; k < 2; k++)
          row[c * 2 + k] = map[c] < 0 ? NAN : src.values[dlcc_label_index(&src, r, (size_t)map[c], k)];
      if (!st) st = append_row(out, name, img.width, img.height, row, err);
      dlcc_image_free(&img);
    }
    free(name);
    free(path);
  }
  if (remapped > 3) dlcc_notes_add(notes, "%s: %zu more image paths mapped the same way", csv, remapped - 3);
  if (missing_here > 10) dlcc_notes_add(notes, "%s: %zu more images not on disk", csv, missing_here - 10);
  out->n_missing_images += missing_here;
  free(map);
  free(row);
  dlcc_labels_free(&src);
  free(csv);
  return st;
}

dlcc_status dlcc_labeled_data_collect(const dlcc_project_config *cfg, dlcc_labeled_data *out, dlcc_notes *notes,
                                      dlcc_error *err) {
  memset(out, 0, sizeof *out);
  char *labeled_root = dlcc_path_join(cfg->root, "labeled-data");
  char *csv_name = dlcc_strdupf("CollectedData_%s.csv", cfg->scorer);
  folder_list folders = {0};
  dlcc_status st = (!labeled_root || !csv_name) ? dlcc_fail(err, DLCC_ERR_NOMEM, "out of memory")
                                                : choose_folders(cfg, labeled_root, csv_name, &folders, notes, err);
  if (!st) st = make_merged_table(cfg, out, err);
  for (size_t i = 0; i < folders.count && !st; i++) st = merge_folder(cfg, folders.names[i], out, notes, err);
  if (!st && out->table.n_rows == 0)
    st = dlcc_fail(err, DLCC_ERR_INVALID, "none of the %zu labeled images listed under %s is on disk",
                   out->n_missing_images, labeled_root);
  folder_list_free(&folders);
  free(labeled_root);
  free(csv_name);
  if (st) dlcc_labeled_data_free(out);
  return st;
}

dlcc_animal_slot dlcc_labeled_data_slot(const dlcc_labeled_data *data, size_t animal) {
  dlcc_animal_slot slot = {animal * data->n_joints, data->n_joints, 0};
  bool unique_slot = data->n_animals * data->n_joints != data->table.n_columns && animal + 1 == data->n_animals;
  if (unique_slot) {
    slot.n_joints = data->table.n_columns - slot.first_column;
    slot.first_joint_id = data->n_joints;
  }
  return slot;
}

void dlcc_labeled_data_free(dlcc_labeled_data *data) {
  dlcc_labels_free(&data->table);
  free(data->width);
  free(data->height);
  memset(data, 0, sizeof *data);
}
