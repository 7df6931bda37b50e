/* Names and places of DeepLabCut's project files: training-set folders, model folders per shuffle,
 * the scorer name of a trained network. One place for the naming rules so every verb agrees. */
#ifndef DLCC_PROJECT_LAYOUT_H
#define DLCC_PROJECT_LAYOUT_H

#include "project/config.h"

/* int(100 * fraction), exactly as DeepLabCut computes it (0.95 -> 95). */
int dlcc_layout_training_pct(double fraction);

/* Each returns a newly allocated path relative to the project root (caller frees). */
/* training-datasets/iteration-<i>/UnaugmentedDataSet_<Task><date> */
char *dlcc_layout_dataset_dir(const dlcc_project_config *cfg);
/* <dataset dir>/<Task>_<scorer><pct>shuffle<k>.json: the training set */
char *dlcc_layout_dataset_file(const dlcc_project_config *cfg, double fraction, int shuffle);
/* <dataset dir>/Documentation_data-<Task>_<pct>shuffle<k>.json: the split */
char *dlcc_layout_split_file(const dlcc_project_config *cfg, double fraction, int shuffle);
/* dlc-models/iteration-<i>/<Task><date>-trainset<pct>shuffle<k> */
char *dlcc_layout_model_dir(const dlcc_project_config *cfg, double fraction, int shuffle);

/* The short network name DeepLabCut puts in scorer names: resnet_50 -> resnet50,
 * mobilenet_v2_0.35 -> mobnet_35, efficientnet-b0 -> effnet_b0, dlcrnet_ms5 -> dlcrnetms5.
 * NULL when net_type is not one dlcc knows. */
const char *dlcc_layout_net_short_name(const char *net_type);

/* DLC_<net>_<Task><date>shuffle<k>_<iterations> (caller frees). */
char *dlcc_layout_scorer_name(const dlcc_project_config *cfg, const char *net_type, int shuffle,
                              long iterations);

/* True when net_type is a network DeepLabCut's TensorFlow engine offers (and dlcc accepts). */
int dlcc_layout_net_type_known(const char *net_type);
/* The accepted net types as one comma-separated line, for error messages. */
const char *dlcc_layout_net_types_list(void);

#endif
