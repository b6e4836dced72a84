/* Runtime denies: certificates an operator refuses through the admin
 * socket (`add deny`), on top of every policy, until deleted or expired.
 *
 * A set is immutable once published: the main thread builds a new one for
 * each change (rtdeny_with, rtdeny_without, rtdeny_purged), publishes it
 * (rtdeny_publish) and frees the old one once every worker has passed a
 * quiescent point (ctl.c). Workers read the published set on every
 * decision (decide.c); entries are sorted by (kind, value) and looked up
 * by binary search. Pure: no I/O, no clock (now is passed in). The state
 * file's lines are formatted and parsed here; ctl.c reads and writes it. */
#ifndef CERTSPOA_RTDENY_H
#define CERTSPOA_RTDENY_H

#include <stddef.h>
#include <stdint.h>

#include "cert-t.h"
#include "rules-t.h"

/* The kinds, one table: X(CONSTANT, word used in commands and the state file). */
#define RTDENY_KIND_LIST(X) \
	X(RTD_THUMBPRINT, "thumbprint") \
	X(RTD_SERIAL,     "serial") \
	X(RTD_SPKI,       "spki")

#define RTDENY_KIND_ENUM(c, word) c,
enum rtdeny_kind { RTDENY_KIND_LIST(RTDENY_KIND_ENUM) RTDENY_KINDS };
#undef RTDENY_KIND_ENUM

#define RTDENY_MAX          1024   /* entries in a set */
#define RTDENY_VALUE_MAX    136    /* canonical value + NUL (a 64-octet serial is 130) */
#define RTDENY_COMMENT_MAX  128
#define RTDENY_ORIGIN_MAX   48
#define RTDENY_LINE_MAX     512    /* one state file line */
#define RTDENY_RULE         "runtime_deny"

struct rtdeny_entry {
	enum rtdeny_kind kind;
	char value[RTDENY_VALUE_MAX];     /* canonical: see rtdeny_norm() */
	int64_t added;                    /* unix time */
	int64_t expires;                  /* unix time; 0 = never */
	char origin[RTDENY_ORIGIN_MAX];   /* who added it: "uid=0/socat" */
	char comment[RTDENY_COMMENT_MAX]; /* printable ASCII */
};

struct rtdeny_set {
	size_t n;
	struct rtdeny_entry e[];          /* sorted by kind, then value */
};

const char *rtdeny_kind_name(enum rtdeny_kind k);
/* The kind named by s[0..n), exactly; -1 if none. */
int rtdeny_kind_parse(const char *s, size_t n, enum rtdeny_kind *k);

/* The canonical form of a value of kind k, into out (RTDENY_VALUE_MAX):
 * thumbprint: 40 or 64 hex digits, lowercase, ':' ignored; serial: as
 * deny_serials reads it (lists_norm_serial); spki: a base64 SHA-256 pin
 * (43 characters and '='). Returns 0, or -1 with the reason in err. */
int rtdeny_norm(enum rtdeny_kind k, const char *in, size_t len, char *out,
                char *err, size_t errlen);

/* Is v[0..n) a serial as rtdeny_norm() writes it: the DER INTEGER's
 * content bytes in lowercase hex, minimal (a negative serial starts with
 * 8..f)? The state file keeps serials in this form. */
int rtdeny_serial_is_canonical(const char *v, size_t n);

/* Copy text into a comment or origin field: at most cap - 1 bytes, every
 * byte outside printable ASCII (and, in origins, the space) becomes '?'. */
void rtdeny_clean(char *dst, size_t cap, const char *src, size_t len, int no_space);

/* An empty set (NULL on allocation failure). Free sets with free(). */
struct rtdeny_set *rtdeny_set_new(void);

/* A copy of s (NULL = empty) without its entries expired at now, with e
 * added or, if its kind and value are there, replaced (*replaced = 1).
 * NULL with the reason in err when the set is full or memory is short. */
struct rtdeny_set *rtdeny_with(const struct rtdeny_set *s, const struct rtdeny_entry *e,
                               int64_t now, int *replaced, char *err, size_t errlen);

/* A copy of s without (kind, value) and without entries expired at now;
 * *found says whether (kind, value) was there. NULL on allocation failure. */
struct rtdeny_set *rtdeny_without(const struct rtdeny_set *s, enum rtdeny_kind kind,
                                  const char *value, int64_t now, int *found);

/* How many entries of s have expired at now (0: nothing to purge). */
size_t rtdeny_expired(const struct rtdeny_set *s, int64_t now);

/* The entry (kind, value) in force at now, or NULL. */
const struct rtdeny_entry *rtdeny_find(const struct rtdeny_set *s, enum rtdeny_kind kind,
                                       const char *value, int64_t now);

/* The entry in force at now that the certificate matches (thumbprint: its
 * SHA-256 or SHA-1; serial; spki: its pin, when the extensions could be
 * read), or NULL. */
const struct rtdeny_entry *rtdeny_match(const struct rtdeny_set *s, const struct cert_facts *f,
                                        const struct cert_ext *x, int64_t now);

/* Turn d into a runtime denial when the certificate of ce matches an entry
 * of s in force at now and d allows (a shadowed allow included: a runtime
 * deny is enforced in every mode). Returns 1 if it did. */
int rtdeny_apply(const struct rtdeny_set *s, const struct cert_eval *ce, int64_t now,
                 int deny_status, struct trace *t, struct decision *d);

/* State file lines: "KIND VALUE EXPIRES ADDED ORIGIN COMMENT...".
 * rtdeny_format_line() writes one with its '\n'; returns the length, or
 * -1 if it does not fit. rtdeny_parse_line() reads one (without '\n');
 * returns 0, or -1 with the reason in err. */
int rtdeny_format_line(const struct rtdeny_entry *e, char *buf, size_t cap);
int rtdeny_parse_line(const char *line, size_t len, struct rtdeny_entry *e,
                      char *err, size_t errlen);

/* A whole state file: lines as above, '#' comments and blank lines
 * skipped, entries expired at now dropped. Returns a new set, or NULL with
 * "line N: why" in err (a state file that cannot be read whole is not half
 * applied: the caller refuses to start). */
struct rtdeny_set *rtdeny_parse_text(const char *text, size_t len, int64_t now,
                                     char *err, size_t errlen);

/* The published set (any thread; NULL = none), and publishing one (the
 * main thread; returns the previous one, which the caller frees once no
 * worker can still be reading it). */
const struct rtdeny_set *rtdeny_current(void);
struct rtdeny_set *rtdeny_publish(struct rtdeny_set *s);

#endif /* CERTSPOA_RTDENY_H */
