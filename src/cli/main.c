/* `dlcc`: the command line. Dispatches DeepLabCut's verbs; each verb lives in its own file. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "--version")) {
    printf("dlcc %s\n", DLCC_VERSION);
    return 0;
  }
  fprintf(stderr, "usage: dlcc <verb> [options]\n");
  return 2;
}
