/* Pure reader for HAProxy's configuration syntax: no files, no clock. The
 * text is passed in, the environment through a callback, the HAProxy
 * version (for .if version_atleast()) as a number. */
#ifndef CERTSPOA_HACFG_H
#define CERTSPOA_HACFG_H

#include <stddef.h>

#include "hacfg-t.h"

/* Read text (len bytes, need not be NUL-terminated) into c. Problems with
 * the file are collected in c->diags; the lines that could be read are
 * kept. Returns 0, or -1 when out of memory (c is then freed). */
int hacfg_parse(struct hacfg *c, const char *file, const char *text, size_t len,
                const struct hacfg_opts *o);

void hacfg_free(struct hacfg *c);

/* Split one line into words, HAProxy's way. Returns the number of words
 * (*argv allocated, free with hacfg_free_words), 0 for a blank or comment
 * line, -1 with err set on a syntax error (unterminated quote, bad ${}). */
int hacfg_split(const char *s, size_t len, const struct hacfg_opts *o,
                char ***argv, char *err, size_t errlen);
void hacfg_free_words(char **argv, int argc);

/* Evaluate an .if condition (the words after ".if", joined by spaces). */
enum hacfg_tri hacfg_eval_cond(const char *expr, const struct hacfg_opts *o);

/* "2.6" / "3.2.1" / "2.6.12-1+deb12u1" -> 206 / 302; -1 if not a version. */
int hacfg_version(const char *s);

/* Section by kind and name (name NULL: any), from index from; -1 if none. */
int hacfg_find_section(const struct hacfg *c, const char *kind, const char *name, int from);

#endif /* CERTSPOA_HACFG_H */
