/* All labels of a project in one table: every labeled-data folder named by config.yaml's video_sets
 * (each CollectedData_<scorer>.csv checked against the project), merged into the project's column
 * order, with each image's size read from disk. Images listed but missing are reported, not dropped
 * silently. */
#ifndef DLCC_DATASET_LABELED_DATA_H
#define DLCC_DATASET_LABELED_DATA_H

#include "project/config.h"
#include "project/labels.h"
#include "util/error.h"
#include "util/notes.h"

typedef struct dlcc_labeled_data {
  /* Rows: images that exist on disk, in folder order then file order. Columns: single animal:
   * bodyparts; maDLC: each individual's multianimalbodyparts, then uniquebodyparts under "single". */
  dlcc_label_table table;
  int *width;                 /* per row, pixels */
  int *height;
  size_t n_animals;           /* single animal: 1; maDLC: individuals (+1 when there are unique parts) */
  size_t n_joints;            /* joints per animal slot: bodyparts, or multianimalbodyparts */
  size_t n_missing_images;    /* listed in a CSV but not on disk (named in the notes) */
} dlcc_labeled_data;

/* Gathers, checks and merges the project's labels. Notes get: folders of video_sets without labels,
 * labeled-data folders that video_sets does not list, missing images. Fails when no labeled image is
 * found at all (the message says where it looked). */
dlcc_status dlcc_labeled_data_collect(const dlcc_project_config *cfg, dlcc_labeled_data *out, dlcc_notes *notes,
                                      dlcc_error *err);

/* The columns of one animal slot: the first column in data->table, how many joints the slot has,
 * and the network's joint index of its first joint (maDLC unique parts form the last slot; their joint
 * indices follow the multi-animal parts, as in pose_cfg's all_joints). */
typedef struct dlcc_animal_slot {
  size_t first_column;
  size_t n_joints;
  size_t first_joint_id;
} dlcc_animal_slot;
dlcc_animal_slot dlcc_labeled_data_slot(const dlcc_labeled_data *data, size_t animal);

void dlcc_labeled_data_free(dlcc_labeled_data *data);

#endif
