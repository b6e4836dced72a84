/* `certspoa lint haproxy.cfg [--spoe FILE] [--agent-config FILE]
 * [--haproxy-version X.Y]`: the traps of an HAProxy configuration that uses
 * certspoa, one "file:line: severity: message [rule]" line per finding
 * (docs/LINT.md). */
#ifndef CERTSPOA_LINT_H
#define CERTSPOA_LINT_H

/* argv[0] is "lint". Exit codes: 0 no error (warnings allowed), 1 at least
 * one error, 64 usage, 66 haproxy.cfg cannot be read, 78 bad agent config. */
int lint_main(int argc, char **argv);

#endif /* CERTSPOA_LINT_H */
