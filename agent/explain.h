/* `certspoa explain`: run the policy engine offline on a certificate file
 * and print every check, the same trace a request with the trace argument
 * gets. */
#ifndef CERTSPOA_EXPLAIN_H
#define CERTSPOA_EXPLAIN_H

/* argv[0] is "explain". Exit codes: 0 allow, 1 deny, 64 usage,
 * 65 unreadable certificate, 66 missing file, 78 bad configuration. */
int explain_main(int argc, char **argv);

#endif /* CERTSPOA_EXPLAIN_H */
