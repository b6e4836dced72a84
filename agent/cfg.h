/* Config loading: an inih handler driven by one key table, which also
 * produces --help-config and the example configuration. */
#ifndef CERTSPOA_CFG_H
#define CERTSPOA_CFG_H

#include <stdio.h>
#include "cfg-t.h"

/* Load and validate FILE, including the files it names (CA bundle,
 * thumbprint lists). On error returns NULL with "file:line: key: why" in
 * err. */
struct config *cfg_load(const char *file, char *err, size_t errlen);

/* Where the copy of something fetched from url lives in state_dir:
 * DIR/PREFIX-<sha256 of url, hex>.EXT. 0, or -1 when it does not fit. */
int cfg_url_cache_path(const char *dir, const char *prefix, const char *url, const char *ext,
                       char *out, size_t outlen);

/* 1 when s starts with http:// or https:// (a list given as a URL is
 * written "@" URL). */
int cfg_is_url(const char *s);
void cfg_free(struct config *cfg);

/* Print to out, one line each ("file:line: WARNING: ..."), what in a valid
 * configuration is probably not what was meant; `certspoa -c` shows them
 * and still exits 0. Returns the number printed. */
int cfg_warnings(const struct config *cfg, FILE *out);

/* Print every key with its type, range, default and help. */
void cfg_print_help(FILE *out);

/* Print a commented example configuration with every default. */
void cfg_print_example(FILE *out);

const char *cfg_verify_name(int mode);

/* Parse a duration ("250ms", "2s", "5m", "1h"; a bare number is
 * milliseconds) into *ms. Returns 0 or -1. */
int cfg_parse_duration(const char *s, long *ms);

#endif /* CERTSPOA_CFG_H */
