/* The table of pose_cfg.yaml keys: every key DeepLabCut writes or reads (its template,
 * default_config.py, the maDLC additions, the imgaug loaders, the test/inference keys) with its type,
 * DeepLabCut's defaults, allowed range and save rule; DeepLabCut's numbers live nowhere else. */
#include <stddef.h>
#include <string.h>

#include "project/posecfg_internal.h"

#define NO_BOUNDS {0, 0, false, false, false}
#define ABOVE(x) {(x), 0, true, true, false}
#define AT_LEAST(x) {(x), 0, true, false, false}
#define BETWEEN(a, b) {(a), (b), true, false, true}
#define AT(field) offsetof(dlcc_pose_cfg, field)

/* The range comes last (variadic) because its braces hold commas. */
#define ENTRY(k, t, field, d, dma, sv, ...) \
  {.key = (k), .type = (t), .offset = AT(field), .def = {(d), (dma)}, .save = (sv), .range = __VA_ARGS__}
#define STR(k, field, d, dma, allowed, sv) \
  {.key = (k), .type = V_STRING, .offset = AT(field), .def = {(d), (dma)}, .choices = (allowed), .save = (sv)}
#define BOOLEAN(k, field, d, dma, sv) ENTRY(k, V_BOOL, field, d, dma, sv, NO_BOUNDS)
#define TOGGLE(k, field, d, dma, sv) ENTRY(k, V_TOGGLE, field, d, dma, sv, NO_BOUNDS)
#define INT(k, field, d, dma, sv, ...) ENTRY(k, V_INT, field, d, dma, sv, __VA_ARGS__)
#define LONG(k, field, d, dma, sv, ...) ENTRY(k, V_LONG, field, d, dma, sv, __VA_ARGS__)
#define DBL(k, field, d, dma, sv, ...) ENTRY(k, V_DOUBLE, field, d, dma, sv, __VA_ARGS__)
#define LIST(k, t, field, d, dma, sv) ENTRY(k, t, field, d, dma, sv, NO_BOUNDS)
#define NUMBERS(k, t, field, n, d, sv, ...) \
  {.key = (k), .type = (t), .offset = AT(field), .def = {(d), NULL}, .count = (n), .save = (sv), \
   .range = __VA_ARGS__}
#define NUMBER_OR_BOOL(k, field, d, on, on_ma, sv, ...) \
  {.key = (k), .type = V_NUMBER_OR_BOOL, .offset = AT(field), .def = {(d), NULL}, .on_value = {(on), (on_ma)}, \
   .save = (sv), .range = __VA_ARGS__}
#define GROUP(k) {.key = (k), .type = V_GROUP, .save = SAVE_ALWAYS}

/* Template keys first, in deeplabcut/pose_cfg.yaml's order (the order of saved files). */
const key_spec dlcc_pose_cfg_keys[] = {
    STR("dataset", dataset, NULL, NULL, NULL, SAVE_ALWAYS),
    STR("metadataset", metadataset, NULL, NULL, NULL, SAVE_ALWAYS),
    INT("num_joints", num_joints, NULL, NULL, SAVE_ALWAYS, AT_LEAST(1)),
    LIST("all_joints", V_JOINT_LISTS, all_joints, NULL, NULL, SAVE_ALWAYS),
    LIST("all_joints_names", V_NAMES, all_joints_names, NULL, NULL, SAVE_ALWAYS),
    STR("init_weights", init_weights, NULL, NULL, NULL, SAVE_ALWAYS),
    STR("project_path", project_path, NULL, NULL, NULL, SAVE_ALWAYS),
    DBL("pos_dist_thresh", pos_dist_thresh, "17", NULL, SAVE_ALWAYS, ABOVE(0)),
    DBL("global_scale", global_scale, "0.8", NULL, SAVE_ALWAYS, ABOVE(0)),
    STR("dataset_type", dataset_type, "imgaug", "multi-animal-imgaug",
        "imgaug|default|deterministic|scalecrop|tensorpack|multi-animal-imgaug", SAVE_ALWAYS),
    INT("batch_size", batch_size, "1", "8", SAVE_ALWAYS, AT_LEAST(1)),
    DBL("apply_prob", apply_prob, "0.5", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    NUMBERS("pre_resize", V_INTS, pre_resize, -2, "[]", SAVE_MADLC, ABOVE(0)),
    NUMBERS("crop_size", V_INTS, crop_size, 2, "[400, 400]", SAVE_MADLC, ABOVE(0)),
    DBL("max_shift", max_shift, "0.4", NULL, SAVE_MADLC, BETWEEN(0, 1)),
    STR("crop_sampling", crop_sampling, "hybrid", NULL, "uniform|keypoints|density|hybrid", SAVE_MADLC),
    DBL("cropratio", cropratio, "0.4", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    /* `rotation: True`: the angle DeepLabCut's loaders fall back to for a non-integer value. */
    NUMBER_OR_BOOL("rotation", rotation, "25", 25, 10, SAVE_ALWAYS, BETWEEN(-180, 180)),
    DBL("rotratio", rotratio, "0.4", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    DBL("scale_jitter_lo", scale_jitter_lo, "0.5", NULL, SAVE_ALWAYS, ABOVE(0)),
    DBL("scale_jitter_up", scale_jitter_up, "1.25", NULL, SAVE_ALWAYS, ABOVE(0)),
    BOOLEAN("mirror", mirror, "false", NULL, SAVE_ALWAYS),
    GROUP("contrast"),
    TOGGLE("contrast.clahe", contrast.clahe, "true", NULL, SAVE_ALWAYS),
    DBL("contrast.claheratio", contrast.claheratio, "0.1", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    TOGGLE("contrast.histeq", contrast.histeq, "true", NULL, SAVE_ALWAYS),
    DBL("contrast.histeqratio", contrast.histeqratio, "0.1", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    TOGGLE("contrast.log", contrast.log, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.logratio", contrast.logratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("contrast.linear", contrast.linear, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.linearratio", contrast.linearratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("contrast.sigmoid", contrast.sigmoid, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.sigmoidratio", contrast.sigmoidratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("contrast.gamma", contrast.gamma, "false", NULL, SAVE_WHEN_SET),
    DBL("contrast.gammaratio", contrast.gammaratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    GROUP("convolution"),
    TOGGLE("convolution.sharpen", convolution.sharpen, "false", NULL, SAVE_ALWAYS),
    DBL("convolution.sharpenratio", convolution.sharpenratio, "0.3", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    TOGGLE("convolution.edge", convolution.edge, "false", NULL, SAVE_ALWAYS),
    DBL("convolution.edgeratio", convolution.edgeratio, "0.1", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    TOGGLE("convolution.emboss", convolution.emboss, "true", NULL, SAVE_ALWAYS),
    NUMBERS("convolution.emboss.alpha", V_DOUBLES, convolution.emboss_alpha, 2, "[0.0, 1.0]",
            SAVE_ALWAYS, BETWEEN(0, 1)),
    NUMBERS("convolution.emboss.strength", V_DOUBLES, convolution.emboss_strength, 2, "[0.5, 1.5]", SAVE_ALWAYS,
            AT_LEAST(0)),
    DBL("convolution.embossratio", convolution.embossratio, "0.1", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    STR("net_type", net_type, "resnet_50", NULL, NULL, SAVE_ALWAYS),
    /* maDLC's default network, dlcrnet_ms5, is written as resnet_50 with multi_stage. */
    BOOLEAN("multi_stage", multi_stage, "false", "true", SAVE_ALWAYS),
    BOOLEAN("location_refinement", location_refinement, "true", NULL, SAVE_ALWAYS),
    BOOLEAN("locref_huber_loss", locref_huber_loss, "true", NULL, SAVE_ALWAYS),
    DBL("locref_loss_weight", locref_loss_weight, "0.05", NULL, SAVE_ALWAYS, AT_LEAST(0)),
    DBL("locref_stdev", locref_stdev, "7.2801", NULL, SAVE_ALWAYS, ABOVE(0)),
    BOOLEAN("intermediate_supervision", intermediate_supervision, "false", NULL, SAVE_ALWAYS),
    INT("intermediate_supervision_layer", intermediate_supervision_layer, "12", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    BOOLEAN("pairwise_huber_loss", pairwise_huber_loss, "false", NULL, SAVE_ALWAYS),
    BOOLEAN("partaffinityfield_predict", partaffinityfield_predict, "false", NULL, SAVE_ALWAYS),
    BOOLEAN("pairwise_predict", pairwise_predict, "false", NULL, SAVE_ALWAYS),
    INT("max_input_size", max_input_size, "1500", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    INT("min_input_size", min_input_size, "64", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    LIST("multi_step", V_MULTI_STEP, multi_step,
         "[[0.005, 10000], [0.02, 430000], [0.002, 730000], [0.001, 1030000]]",
         "[[1e-4, 7500], [5e-5, 12000], [1e-5, 200000]]", SAVE_ALWAYS),
    DBL("lr_init", lr_init, "0.0005", NULL, SAVE_ALWAYS, ABOVE(0)),
    LONG("decay_steps", decay_steps, "30000", NULL, SAVE_ALWAYS, AT_LEAST(1)),
    DBL("alpha_r", alpha_r, "0.02", NULL, SAVE_ALWAYS, BETWEEN(0, 1)),
    LONG("display_iters", display_iters, "1000", "500", SAVE_ALWAYS, AT_LEAST(1)),
    LONG("save_iters", save_iters, "50000", "10000", SAVE_ALWAYS, AT_LEAST(1)),

    /* Added by create_training_dataset (DeepLabCut 2.3+) and create_multianimaltraining_dataset. */
    STR("engine", engine, "tensorflow", NULL, NULL, SAVE_WHEN_SET),
    STR("optimizer", optimizer, "sgd", "adam", "sgd|adam", SAVE_MADLC),
    DBL("pairwise_loss_weight", pairwise_loss_weight, "0.1", NULL, SAVE_MADLC, AT_LEAST(0)),
    DBL("pafwidth", pafwidth, "20", NULL, SAVE_MADLC, ABOVE(0)),
    LIST("partaffinityfield_graph", V_GRAPH, partaffinityfield_graph, "[]", NULL, SAVE_MADLC),
    BOOLEAN("weigh_only_present_joints", weigh_only_present_joints, "false", NULL, SAVE_MADLC),
    INT("num_limbs", num_limbs, "0", NULL, SAVE_MADLC, AT_LEAST(0)),
    INT("num_idchannel", num_idchannel, "0", NULL, SAVE_MADLC, AT_LEAST(0)),

    /* default_config.py: what DeepLabCut uses when the file does not say. */
    DBL("stride", stride, "8", NULL, SAVE_WHEN_SET, ABOVE(0)),
    BOOLEAN("weigh_part_predictions", weigh_part_predictions, "false", NULL, SAVE_WHEN_SET),
    BOOLEAN("weigh_negatives", weigh_negatives, "false", NULL, SAVE_WHEN_SET),
    DBL("fg_fraction", fg_fraction, "0.25", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    NUMBERS("mean_pixel", V_DOUBLES, mean_pixel, 3, "[123.68, 116.779, 103.939]",
            SAVE_WHEN_SET, BETWEEN(0, 255)),
    BOOLEAN("shuffle", shuffle, "true", NULL, SAVE_WHEN_SET),
    STR("snapshot_prefix", snapshot_prefix, "./snapshot", NULL, NULL, SAVE_FROM_FILE),
    STR("log_dir", log_dir, "log", NULL, NULL, SAVE_WHEN_SET),
    BOOLEAN("regularize", regularize, "false", NULL, SAVE_WHEN_SET),
    DBL("weight_decay", weight_decay, "0.0001", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    INT("crop_pad", crop_pad, "0", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    STR("scoremap_dir", scoremap_dir, "test", NULL, NULL, SAVE_WHEN_SET),
    BOOLEAN("deterministic", deterministic, "false", NULL, SAVE_WHEN_SET),

    /* The imgaug loaders' own fallbacks (pose_imgaug.py, pose_multianimal_imgaug.py, scalecrop). */
    BOOLEAN("crop", crop, "true", NULL, SAVE_WHEN_SET),
    DBL("crop_by", crop_by, "0.15", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    BOOLEAN("covering", covering, "true", "false", SAVE_WHEN_SET),
    BOOLEAN("elastic_transform", elastic_transform, "true", "false", SAVE_WHEN_SET),
    TOGGLE("motion_blur", motion_blur, "true", "false", SAVE_WHEN_SET),
    /* `gaussian_noise: True`: noise up to 0.05 * 255. */
    NUMBER_OR_BOOL("gaussian_noise", gaussian_noise, "false", 12.75, 12.75, SAVE_WHEN_SET, AT_LEAST(0)),
    BOOLEAN("grayscale", grayscale, "false", NULL, SAVE_WHEN_SET),

    /* test/pose_cfg.yaml (maDLC inference) and training's snapshot count. */
    INT("nmsradius", nmsradius, "5", NULL, SAVE_WHEN_SET, AT_LEAST(1)),
    DBL("minconfidence", minconfidence, "0.01", NULL, SAVE_WHEN_SET, BETWEEN(0, 1)),
    INT("sigma", sigma, "1", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    BOOLEAN("locref_smooth", locref_smooth, "false", NULL, SAVE_WHEN_SET),
    INT("topktoretain", topktoretain, "0", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    /* maDLC evaluation: the OKS keypoint sigma and the margin around the labels' bounding box */
    DBL("oks_sigma", oks_sigma, "0.1", NULL, SAVE_WHEN_SET, ABOVE(0)),
    DBL("bbox_margin", bbox_margin, "0", NULL, SAVE_WHEN_SET, AT_LEAST(0)),
    INT("max_snapshots_to_keep", max_snapshots_to_keep, "5", NULL, SAVE_WHEN_SET, AT_LEAST(1)),
};
const size_t dlcc_pose_cfg_n_keys = sizeof dlcc_pose_cfg_keys / sizeof *dlcc_pose_cfg_keys;

const key_spec *dlcc_pose_cfg_find_key(const char *key) {
  for (size_t i = 0; i < dlcc_pose_cfg_n_keys; i++)
    if (!strcmp(dlcc_pose_cfg_keys[i].key, key)) return &dlcc_pose_cfg_keys[i];
  return NULL;
}
