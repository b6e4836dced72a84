/* SPOP 2.0 codec. Pure: no I/O, no allocation, no clock.
 *
 * Decoders take a cursor (*p, end), return 0 on success and advance *p,
 * or return -1 and leave *p untouched. Encoders do the same on (*p, end)
 * for output: -1 means "does not fit" and nothing useful was written. */
#ifndef CERTSPOA_SPOP_H
#define CERTSPOA_SPOP_H

#include <string.h>
#include "spop-t.h"

/* Varints ("peers" encoding), at most SPOP_VARINT_MAX_LEN bytes. */
int spop_get_varint(const char **p, const char *end, uint64_t *v);
int spop_put_varint(char **p, char *end, uint64_t v);

/* <varint length><bytes>: a name or a STRING/BINARY body. */
int spop_get_str(const char **p, const char *end, struct spop_str *s);
int spop_put_str(char **p, char *end, const char *s, size_t len);

/* TYPED-DATA. Reserved types (10-15) are an error. */
int spop_get_data(const char **p, const char *end, struct spop_data *d);
int spop_put_data(char **p, char *end, const struct spop_data *d);

/* Frame header. buf/len is one whole frame without its 4-byte length.
 * Returns 0, or -1 (status SPOP_ST_INVALID). The payload points into buf. */
int spop_parse_frame(const char *buf, size_t len, struct spop_frame *f);

/* HAPROXY-HELLO payload. On -1, *err says which status to disconnect with
 * (NO_VERSION, NO_FRAME_SIZE, NO_CAPS, BAD_VERSION, BAD_FRAME_SIZE, INVALID).
 * Unknown keys are skipped; comma lists are trimmed. err may be NULL; it is
 * SPOP_ST_NONE on success.
 * - Keys match on exact length and bytes. A known key with the wrong type is
 *   INVALID. "max-frame-size" may be any integer type; one that is negative
 *   or above UINT32_MAX is BAD_FRAME_SIZE. A repeated key: the last wins.
 * - Checked in this order: malformed list, version, frame size, capabilities.
 * - h is filled as far as parsing went, also on error (for logs).
 *   engine_id is { NULL, 0 } when absent (health checks send none). */
int spop_parse_hello(const char *p, size_t len, struct spop_hello *h,
                     enum spop_status *err);

/* HAPROXY-DISCONNECT payload ("status-code", "message"; both optional).
 * status-code may be any integer type within 0..UINT32_MAX; an absent
 * status is 0 and an absent message { NULL, 0 }. Unknown keys skipped. */
int spop_parse_disconnect(const char *p, size_t len, struct spop_disconnect *d);

/* NOTIFY payload iteration: a list of messages, each a name, one byte
 * NB-ARGS, then NB-ARGS KV items (name may be empty). */
int spop_get_message(const char **p, const char *end, struct spop_str *name,
                     unsigned int *nb_args);
int spop_get_arg(const char **p, const char *end, struct spop_str *name,
                 struct spop_data *val);

/* Frame encoding. spop_frame_begin() writes a 4-byte length placeholder and
 * the header, returning the frame start in *start; spop_frame_end() patches
 * the length. */
int spop_frame_begin(char **p, char *end, char **start, uint8_t type,
                     uint32_t flags, uint64_t stream_id, uint64_t frame_id);
int spop_frame_end(char *start, const char *p);

/* Whole frames, FIN set, stream-id and frame-id 0. capabilities NULL is
 * sent as ""; a NULL disconnect message sends spop_status_str(status). */
int spop_put_agent_hello(char **p, char *end, uint32_t max_frame_size,
                         const char *capabilities);
int spop_put_agent_disconnect(char **p, char *end, enum spop_status status,
                              const char *message);

/* ACK actions, written after spop_frame_begin(..., SPOP_FRM_ACK, ...).
 * scope must be a valid enum spop_scope. val NULL sends a NULL value, which
 * makes HAProxy unset the variable. */
int spop_put_set_var(char **p, char *end, enum spop_scope scope,
                     const char *name, size_t name_len,
                     const struct spop_data *val);
int spop_put_unset_var(char **p, char *end, enum spop_scope scope,
                       const char *name, size_t name_len);

/* Human text for a status code (never NULL). */
const char *spop_status_str(unsigned int status);

static inline int spop_str_eq(struct spop_str s, const char *lit, size_t lit_len)
{
	/* lit_len == 0 first: an absent view is { NULL, 0 } and memcmp()
	 * must not see a NULL pointer even for zero bytes */
	return s.len == lit_len && (lit_len == 0 || memcmp(s.ptr, lit, lit_len) == 0);
}
#define SPOP_STR_EQ(s, lit) spop_str_eq((s), (lit), sizeof(lit) - 1)

#endif /* CERTSPOA_SPOP_H */
