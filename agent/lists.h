/* Lists in the configuration: "a, b, c" inline, or "@/path/file" with one
 * entry per line (comments as in comment.h, blank lines ignored). Inline
 * DN lists quote each DN: "CN=a,O=b", "CN=c". Long lists belong in files
 * (a config line holds at most 198 characters: inih reads 200 with the newline and NUL). */
#ifndef CERTSPOA_LISTS_H
#define CERTSPOA_LISTS_H

#include <stddef.h>

#include "cfg-t.h"

/* Called for each entry (trimmed, not NUL-terminated). Return 0, or -1
 * after writing why into err. */
/* A list file with bad lines reports the first this many, then a count. */
#define LIST_ERRORS_SHOWN 20

typedef int (*list_item_fn)(void *arg, const char *item, size_t len, char *err, size_t errlen);

/* Walk src. A file's bad entries are reported with "file:line: " in err,
 * every one of them (LIST_ERRORS_SHOWN at most, then "and N more").
 * If plain_is_file is set, a value that does not start with '@' is also a
 * file path (the historical `thumbprints = /path` form). *file gets a copy
 * of the path read, if any. Returns the number of entries, or -1. */
int list_foreach(const char *src, int plain_is_file, list_item_fn fn, void *arg,
                 char **file, char *err, size_t errlen);

/* Compile a policy's lists (allow/deny identities, curves, signature
 * digests, policy OIDs). On error returns -1 with the list's config line
 * in *line, its key in *key and the reason in err. */
int lists_compile_policy(struct policy *p, int *line, const char **key,
                         char *err, size_t errlen);

/* Compile a route's match lists; and [forwarded] trusted_proxies. */
int lists_compile_route(struct route *r, int *line, const char **key,
                        char *err, size_t errlen);
int lists_compile_fwd(struct fwd_config *f, int *line, const char **key,
                      char *err, size_t errlen);

void cfg_list_free(struct cfg_list *l);

/* Parse the file at path as an identity list of kind (enum id_kind), the
 * way the configuration would (deny: a deny_* list). The number of
 * entries, or -1 with "path:line: why" in err. Nothing is kept. */
int lists_check_file(int kind, int deny, const char *path, char *err, size_t errlen);

/* Normal forms shared by the list compiler and the rules engine. */

/* Serials compare as the content octets of their DER INTEGER: two's
 * complement, minimal, lowercase hex ("01", "00ff" for 255, "ff" for -1,
 * "00" for 0). lists_norm_serial() reads in as a number in hex the way
 * `openssl x509 -serial` and BN_bn2hex() print it: optional '-', optional
 * "0x", ':' ignored, leading zeros ignored. Returns the length written, or
 * 0 if in is no serial (or longer than SERIAL_MAX_OCTETS bytes).
 * lists_serial_raw() gives the other reading of an unsigned entry whose
 * first byte has its top bit set ("ff"): those bytes as the DER content
 * of a negative serial ("ff" = -1); 0 when there is no such reading. */
#define SERIAL_MAX_OCTETS 64
size_t lists_norm_serial(const char *in, size_t len, char *out, size_t outlen);
size_t lists_serial_raw(const char *in, size_t len, char *out, size_t outlen);

/* Key limits. lists_key_curve(): the token an allowed_curves entry must
 * equal for a key of that EVP_PKEY type: the curve's short name for EC,
 * "SM2", "ED25519", "ED448", "X25519", "X448"; "" for key types that have
 * none (RSA is not subject to allowed_curves; anything else is denied).
 * lists_key_type_name(): the allowed_key_types name of a type, or NULL. */
const char *lists_key_curve(int key_type, const char *curve);
const char *lists_key_type_name(int nid);

/* The config key name of an identity kind, e.g. "dns" for ID_DNS. */
extern const char *const id_kind_names[ID_KINDS];

#endif /* CERTSPOA_LISTS_H */
