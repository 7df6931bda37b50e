/* Names and places of DeepLabCut's project files (see layout.h). The rules follow DeepLabCut 2.x's
 * auxiliaryfunctions (GetTrainingSetFolder, GetModelFolder, GetScorerName). */
#include "project/layout.h"

#include <string.h>

#include "util/fileio.h"

static const struct {
  const char *net_type;
  const char *short_name;
} known_nets[] = {
    {"resnet_50", "resnet50"},
    {"resnet_101", "resnet101"},
    {"resnet_152", "resnet152"},
    {"mobilenet_v2_1.0", "mobnet_100"},
    {"mobilenet_v2_0.75", "mobnet_75"},
    {"mobilenet_v2_0.5", "mobnet_50"},
    {"mobilenet_v2_0.35", "mobnet_35"},
    {"efficientnet-b0", "effnet_b0"},
    {"efficientnet-b1", "effnet_b1"},
    {"efficientnet-b2", "effnet_b2"},
    {"efficientnet-b3", "effnet_b3"},
    {"efficientnet-b4", "effnet_b4"},
    {"efficientnet-b5", "effnet_b5"},
    {"efficientnet-b6", "effnet_b6"},
    {"dlcrnet_ms5", "dlcrnetms5"},
};

int dlcc_layout_training_pct(double fraction) { return (int)(100.0 * fraction); }

char *dlcc_layout_dataset_dir(const dlcc_project_config *cfg) {
  return dlcc_strdupf("training-datasets/iteration-%d/UnaugmentedDataSet_%s%s", cfg->iteration, cfg->task,
                      cfg->date);
}

char *dlcc_layout_dataset_file(const dlcc_project_config *cfg, double fraction, int shuffle) {
  return dlcc_strdupf("training-datasets/iteration-%d/UnaugmentedDataSet_%s%s/%s_%s%dshuffle%d.json",
                      cfg->iteration, cfg->task, cfg->date, cfg->task, cfg->scorer,
                      dlcc_layout_training_pct(fraction), shuffle);
}

char *dlcc_layout_split_file(const dlcc_project_config *cfg, double fraction, int shuffle) {
  return dlcc_strdupf(
      "training-datasets/iteration-%d/UnaugmentedDataSet_%s%s/Documentation_data-%s_%dshuffle%d.json",
      cfg->iteration, cfg->task, cfg->date, cfg->task, dlcc_layout_training_pct(fraction), shuffle);
}

char *dlcc_layout_model_dir(const dlcc_project_config *cfg, double fraction, int shuffle) {
  return dlcc_strdupf("dlc-models/iteration-%d/%s%s-trainset%dshuffle%d", cfg->iteration, cfg->task,
                      cfg->date, dlcc_layout_training_pct(fraction), shuffle);
}

const char *dlcc_layout_net_short_name(const char *net_type) {
  for (size_t i = 0; i < sizeof known_nets / sizeof known_nets[0]; i++)
    if (!strcmp(known_nets[i].net_type, net_type)) return known_nets[i].short_name;
  return NULL;
}

int dlcc_layout_net_type_known(const char *net_type) { return dlcc_layout_net_short_name(net_type) != NULL; }

const char *dlcc_layout_net_types_list(void) {
  return "resnet_50, resnet_101, resnet_152, mobilenet_v2_1.0, mobilenet_v2_0.75, mobilenet_v2_0.5, "
         "mobilenet_v2_0.35, efficientnet-b0 ... efficientnet-b6, dlcrnet_ms5";
}

char *dlcc_layout_scorer_name(const dlcc_project_config *cfg, const char *net_type, int shuffle,
                              long iterations) {
  const char *net = dlcc_layout_net_short_name(net_type);
  return dlcc_strdupf("DLC_%s_%s%sshuffle%d_%ld", net ? net : net_type, cfg->task, cfg->date, shuffle,
                      iterations);
}
