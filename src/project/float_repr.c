/* Python's repr() of a double (declared in labels.h): the shortest decimal that reads back exactly,
 * laid out as Python does. pandas writes label tables' numbers this way, and so do dlcc's other
 * DeepLabCut-format outputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project/labels.h"

/* Replaces text ("d.ddde[+-]x", a correctly rounded decimal) by the decimal one unit up in its last
 * digit when that one reads back as a; returns whether it did. */
static bool try_one_digit_up(char text[48], double a) {
  char *e = strchr(text, 'e');
  int exponent10 = atoi(e + 1);
  char *p = e - 1;
  while (p >= text && (*p == '9' || *p == '.')) {
    if (*p == '9') *p = '0';
    p--;
  }
  char up[48];
  if (p >= text) {
    (*p)++;
    snprintf(up, sizeof up, "%.*se%d", (int)(e - text), text, exponent10);
  } else {
    snprintf(up, sizeof up, "1e%d", exponent10 + 1);
  }
  if (strtod(up, NULL) != a) return false;
  strcpy(text, up);
  return true;
}

/* The shortest significant digits that read back as a (a > 0, finite), and the decimal exponent
 * decpt such that a = 0.DIGITS x 10^decpt. The correctly rounded n-digit decimal is the closest one,
 * so it round-trips whenever any n-digit decimal does, except at a power of two, where the gap to the
 * next double below is half the gap above: there the next n-digit decimal up may round-trip instead. */
static void shortest_digits(double a, char digits[20], int *decpt) {
  char text[48];
  for (int precision = 0; precision < 17; precision++) {
    snprintf(text, sizeof text, "%.*e", precision, a);
    if (strtod(text, NULL) == a) break;
    int exponent2;
    if (frexp(a, &exponent2) == 0.5 && try_one_digit_up(text, a)) break;
  }
  /* text is "d[.ddd]e[+-]x"; 17 significant digits always read back, so the loop ends on a match. */
  size_t n = 0;
  const char *p = text;
  for (; *p != 'e'; p++)
    if (*p != '.') digits[n++] = *p;
  while (n > 1 && digits[n - 1] == '0') n--;
  digits[n] = '\0';
  *decpt = atoi(p + 1) + 1;
}

static char *append_zeros(char *out, int n) {
  for (int i = 0; i < n; i++) *out++ = '0';
  return out;
}

/* Lays out digits (value 0.DIGITS x 10^decpt) as Python's repr does: positional when
 * -4 < decpt <= 16 (1e-4 <= |v| < 1e16), with at least one digit after the point, else exponent form
 * with a sign and at least two exponent digits ("1e-05", "1.5e+16"). */
static void layout_repr(const char *digits, int decpt, char *out) {
  int n = (int)strlen(digits);
  if (decpt <= -4 || decpt > 16) {
    *out++ = digits[0];
    if (n > 1) out += sprintf(out, ".%s", digits + 1);
    sprintf(out, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
  } else if (decpt <= 0) {
    out = append_zeros(out, 1);
    *out++ = '.';
    out = append_zeros(out, -decpt);
    strcpy(out, digits);
  } else if (decpt < n) {
    memcpy(out, digits, (size_t)decpt);
    out[decpt] = '.';
    strcpy(out + decpt + 1, digits + decpt);
  } else {
    strcpy(out, digits);
    out = append_zeros(out + n, decpt - n);
    strcpy(out, ".0");
  }
}

void dlcc_format_double_repr(double v, char buf[32]) {
  if (isnan(v)) {
    strcpy(buf, "nan");
  } else if (isinf(v)) {
    strcpy(buf, v < 0 ? "-inf" : "inf");
  } else if (v == 0) {
    strcpy(buf, signbit(v) ? "-0.0" : "0.0");
  } else {
    char digits[20];
    int decpt;
    shortest_digits(fabs(v), digits, &decpt);
    if (v < 0) *buf++ = '-';
    layout_repr(digits, decpt, buf);
  }
}
