/* `certspoa lint haproxy.cfg [--spoe FILE] [--agent-config FILE]
 * [--haproxy-version X.Y]`: the traps of an HAProxy configuration that uses
 * certspoa, one "file:line: severity: message [rule]" line per finding
 * (docs/LINT.md). */
#ifndef CERTSPOA_LINT_H
#define CERTSPOA_LINT_H

#include <stdio.h>

struct config;

/* argv[0] is "lint". Exit codes: 0 no error (warnings allowed), 1 at least
 * one error, 64 usage, 66 haproxy.cfg cannot be read, 78 bad agent config. */
int lint_main(int argc, char **argv);

/* For `certspoa -c`: warn on out when the SPOE file at spoe_path (the
 * shipped one) has a 'timeout processing' not above a policy's
 * ocsp_timeout. Returns the number of warnings (0 when the file cannot be
 * read). */
int lint_ocsp_timeouts(const struct config *cfg, const char *spoe_path, FILE *out);

#endif /* CERTSPOA_LINT_H */
