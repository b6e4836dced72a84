/* SPOP 2.0 types: frame and data types, status codes, limits.
 * See doc/SPOE.txt and ../shared/SPOP-NOTES.md. */
#ifndef CERTSPOA_SPOP_T_H
#define CERTSPOA_SPOP_T_H

#include <stddef.h>
#include <stdint.h>

#define SPOP_VERSION            "2.0"
#define SPOP_MIN_FRAME_SIZE     256
#define SPOP_DEFAULT_FRAME_SIZE 16380
#define SPOP_MAX_FRAME_SIZE     (1U << 20)   /* our own hard ceiling */
#define SPOP_VARINT_MAX_LEN     10
#define SPOP_FRAME_HDR_MAX      (4 + 1 + 4 + 2 * SPOP_VARINT_MAX_LEN)

enum spop_frame_type {
	SPOP_FRM_UNSET          = 0,   /* fragment continuation (2.6) */
	SPOP_FRM_HAPROXY_HELLO  = 1,
	SPOP_FRM_HAPROXY_DISCON = 2,
	SPOP_FRM_NOTIFY         = 3,
	SPOP_FRM_AGENT_HELLO    = 101,
	SPOP_FRM_AGENT_DISCON   = 102,
	SPOP_FRM_ACK            = 103,
};

#define SPOP_FL_FIN   0x00000001U
#define SPOP_FL_ABORT 0x00000002U

enum spop_data_type {
	SPOP_DATA_NULL   = 0,
	SPOP_DATA_BOOL   = 1,
	SPOP_DATA_INT32  = 2,
	SPOP_DATA_UINT32 = 3,
	SPOP_DATA_INT64  = 4,
	SPOP_DATA_UINT64 = 5,
	SPOP_DATA_IPV4   = 6,
	SPOP_DATA_IPV6   = 7,
	SPOP_DATA_STR    = 8,
	SPOP_DATA_BIN    = 9,
	SPOP_DATA_TYPES         /* 10-15 are reserved */
};

#define SPOP_DATA_TYPE_MASK  0x0F
#define SPOP_DATA_FL_TRUE    0x10

enum spop_action_type {
	SPOP_ACT_SET_VAR   = 1,
	SPOP_ACT_UNSET_VAR = 2,
};

enum spop_scope {
	SPOP_SCOPE_PROC = 0,
	SPOP_SCOPE_SESS = 1,
	SPOP_SCOPE_TXN  = 2,
	SPOP_SCOPE_REQ  = 3,
	SPOP_SCOPE_RES  = 4,
};

/* AGENT-DISCONNECT / HAPROXY-DISCONNECT status codes. */
enum spop_status {
	SPOP_ST_NONE            = 0,
	SPOP_ST_IO              = 1,
	SPOP_ST_TIMEOUT         = 2,
	SPOP_ST_TOO_BIG         = 3,
	SPOP_ST_INVALID         = 4,
	SPOP_ST_NO_VERSION      = 5,
	SPOP_ST_NO_FRAME_SIZE   = 6,
	SPOP_ST_NO_CAPS         = 7,
	SPOP_ST_BAD_VERSION     = 8,
	SPOP_ST_BAD_FRAME_SIZE  = 9,
	SPOP_ST_FRAG_NOT_SUPP   = 10,
	SPOP_ST_INTERLACED      = 11,
	SPOP_ST_FRAMEID_NOTFOUND = 12,
	SPOP_ST_RES             = 13,
	SPOP_ST_UNKNOWN         = 99,
	SPOP_ST_COUNT                  /* sentinel: size of lookup tables */
};

/* A view on bytes owned by somebody else (usually a receive buffer).
 * Never NUL-terminated; compare with spop_str_eq(). */
struct spop_str {
	const char *ptr;
	size_t len;
};

/* One decoded TYPED-DATA value. Strings and binaries point into the frame. */
struct spop_data {
	enum spop_data_type type;
	union {
		int boolean;
		int64_t sint;          /* INT32, INT64 */
		uint64_t uint;         /* UINT32, UINT64 */
		unsigned char ipv4[4];
		unsigned char ipv6[16];
		struct spop_str str;   /* STR, BIN */
	} u;
};

/* A frame whose 4-byte length prefix has been removed. */
struct spop_frame {
	uint8_t type;
	uint32_t flags;
	uint64_t stream_id;
	uint64_t frame_id;
	const char *payload;
	size_t len;
};

/* What we keep of a HAPROXY-HELLO. */
struct spop_hello {
	int has_version;          /* "supported-versions" was present */
	int version_ok;           /* ... and listed "2.0" (major 2) */
	int has_max_frame_size;
	uint32_t max_frame_size;
	int has_capabilities;
	int cap_pipelining;
	int cap_async;
	int cap_fragmentation;
	int healthcheck;
	struct spop_str engine_id;
};

/* What we keep of a HAPROXY-DISCONNECT. */
struct spop_disconnect {
	uint32_t status;
	struct spop_str message;
};

#endif /* CERTSPOA_SPOP_T_H */
