/* `dlcc`: the command line. Dispatches DeepLabCut's verbs (each in its own cli/ file) and answers
 * --help and --version. */
#include <stdio.h>
#include <string.h>

#include "cli/verbs.h"

static const dlcc_verb verbs[] = {
    {"make-demo-project", "write a small, realistic DeepLabCut project (video + labels) to try dlcc on",
     cli_make_demo_project},
    {"check-project", "read a DeepLabCut project and report what is in it and what is wrong", cli_check_project},
    {"create-training-dataset", "split the labeled frames and set up a shuffle to train",
     cli_create_training_dataset},
    {"train", "train the shuffle's network (DeepLabCut's TensorFlow recipe), with snapshots and --resume",
     cli_train},
    {"evaluate", "report a trained network's train and test errors on the labeled images", cli_evaluate},
    {"analyze-videos", "predict every frame of videos into DeepLabCut's <video><scorer>.csv", cli_analyze_videos},
    {"convert-detections2tracklets", "link a multi-animal analysis's animals from frame to frame into tracklets",
     cli_convert_detections2tracklets},
    {"stitch-tracklets", "join tracklets into one track per animal: DeepLabCut's <video><scorer>_el.csv",
     cli_stitch_tracklets},
    {"evaluate-tracks", "compare a video's analysis with a ground truth of every frame", cli_evaluate_tracks},
};

static void print_help(FILE *out) {
  fprintf(out,
          "dlcc %s: DeepLabCut-compatible markerless pose estimation in C.\n\n"
          "usage: dlcc <verb> [options]     (dlcc <verb> --help explains each)\n\nverbs:\n",
          DLCC_VERSION);
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    fprintf(out, "  %-29s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(out,
          "\nA project is a DeepLabCut 2.x project folder: point the verbs at its config.yaml.\n"
          "  dlcc --version    print the version\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    print_help(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_USAGE : CLI_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("dlcc %s\n", DLCC_VERSION);
    return CLI_OK;
  }
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (!strcmp(argv[1], verbs[i].name)) return verbs[i].run(argc - 1, argv + 1);
  fprintf(stderr, "dlcc: unknown verb \"%s\". Run 'dlcc --help' for the list.\n", argv[1]);
  return CLI_USAGE;
}
