/* Configuration lists: reading (inline or @file) and compiling them into
 * the sets the rules engine looks things up in. Runs at load time only. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "errbuf.h"
#include "cidr.h"
#include "dn.h"
#include "lists.h"
#include "strset.h"
#include "tplist.h"
#include "uri.h"

#define LIST_LINE_MAX 4096

const char *const id_kind_names[ID_KINDS] = {
	[ID_THUMBPRINT]        = "thumbprints",
	[ID_SERIAL]            = "serials",
	[ID_SUBJECT]           = "subjects",
	[ID_ISSUER]            = "issuers",
	[ID_ISSUER_THUMBPRINT] = "issuer_thumbprints",
	[ID_SPKI]              = "spki_pins",
	[ID_SPIFFE]            = "spiffe",
	[ID_URI]               = "uri",
	[ID_DNS]               = "dns",
	[ID_EMAIL]             = "email",
	[ID_IP]                = "ip",
	[ID_CN]                = "cn",
};

static const char *trim(const char *s, size_t *len)
{
	while (*len && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t' ||
	                s[*len - 1] == '\r' || s[*len - 1] == '\n'))
		(*len)--;
	return s;
}

void lists_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int list_foreach(const char *src, int plain_is_file, list_item_fn fn, void *arg,
                 char **file, char *err, size_t errlen)
{
	const char *path = NULL;
	int n = 0;

	if (file)
		*file = NULL;
	if (!src)
		return 0;
	if (src[0] == '@')
		path = src + 1;
	else if (plain_is_file)
		path = src;
	if (path) {
		FILE *f = fopen(path, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t got;
		int lineno = 0;

		if (!f) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (file && !(*file = strdup(path))) {
			fclose(f);
			set_err(err, errlen, "out of memory");
			return -1;
		}
		while ((got = getline(&line, &cap, f)) != -1) {
			size_t len = (size_t)got;
			const char *item;
			char *hash;
			char why[512];

			lineno++;
			if (len > LIST_LINE_MAX) {
				set_err(err, errlen, "%s:%d: line longer than %d characters", path, lineno, LIST_LINE_MAX);
				n = -1;
				break;
			}
			if ((hash = memchr(line, '#', len)))
				len = (size_t)(hash - line);
			item = trim(line, &len);
			if (!len)
				continue;
			if (fn(arg, item, len, why, sizeof(why)) < 0) {
				set_err(err, errlen, "%s:%d: %s", path, lineno, why);
				n = -1;
				break;
			}
			n++;
		}
		free(line);
		fclose(f);
		return n;
	}
	for (const char *p = src; *p; ) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *item = trim(p, &len);

		if (len) {
			if (fn(arg, item, len, err, errlen) < 0)
				return -1;
			n++;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return n;
}

/* ---- per-kind entry compilers ---- */

struct ctx {
	struct cfg_list *l;
	enum id_kind kind;         /* for identity lists */
	int what;                  /* for other lists: enum other_list */
};

enum other_list {
	OL_CURVES = 0,
	OL_SIGNATURE,
	OL_POLICIES,
	OL_HOSTNAME,               /* route sni/host: lowercase, "*.suffix" allowed */
	OL_PATH,
	OL_PLAIN,
	OL_CIDR,
	OL_COUNT
};

static int need_set(struct cfg_list *l, char *err, size_t errlen)
{
	if (!l->set && !(l->set = strset_new())) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int add_str(struct cfg_list *l, const char *s, size_t len, char *err, size_t errlen)
{
	if (need_set(l, err, errlen) < 0)
		return -1;
	if (strset_add(l->set, s, len) < 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int add_cidr(struct cfg_list *l, const char *item, size_t len, char *err, size_t errlen)
{
	char buf[64];
	struct cidr c;

	if (len >= sizeof(buf)) {
		set_err(err, errlen, "'%.*s' is not an address or CIDR range", (int)(len > 60 ? 60 : len), item);
		return -1;
	}
	memcpy(buf, item, len);
	buf[len] = 0;
	if (cidr_parse(buf, &c) < 0) {
		set_err(err, errlen, "'%s' is not an address or CIDR range (host bits must be zero)", buf);
		return -1;
	}
	if (!l->cidrs && !(l->cidrs = calloc(1, sizeof(*l->cidrs)))) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (cidr_list_add(l->cidrs, &c) < 0) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

size_t lists_norm_serial(const char *in, size_t len, char *out, size_t outlen)
{
	size_t n = 0, i = 0;
	int neg = 0;

	if (len && in[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (len - i > 2 && in[i] == '0' && (in[i + 1] == 'x' || in[i + 1] == 'X'))
		i += 2;
	if (neg && n + 1 < outlen)
		out[n++] = '-';
	for (; i < len; i++) {
		char c = (char)tolower((unsigned char)in[i]);

		if (c == ':')
			continue;
		if (!isxdigit((unsigned char)c))
			return 0;
		if (c == '0' && n == (size_t)neg)
			continue;              /* leading zero */
		if (n + 1 >= outlen)
			return 0;
		out[n++] = c;
	}
	if (n == (size_t)neg) {
		if (n + 1 >= outlen)
			return 0;
		out[n++] = '0';
	}
	out[n] = 0;
	return n;
}

static int valid_hostname_pattern(const char *s)
{
	if (s[0] == '*') {
		if (s[1] != '.' || !s[2])
			return 0;
		s += 2;
	}
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '.' || *s == '_'))
			return 0;
	return 1;
}

static int id_item(void *arg, const char *item, size_t len, char *err, size_t errlen)
{
	struct ctx *c = arg;
	struct cfg_list *l = c->l;
	char buf[1024], canon[1024];
	unsigned char d[32];
	int r;

	if (len >= sizeof(buf)) {
		set_err(err, errlen, "entry longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, item, len);
	buf[len] = 0;
	switch (c->kind) {
	case ID_THUMBPRINT:
	case ID_ISSUER_THUMBPRINT:
		r = tplist_parse_line(buf, len, d);
		if (r != 20 && r != 32) {
			set_err(err, errlen, "'%s' is not a SHA-1 or SHA-256 hex digest", buf);
			return -1;
		}
		if ((!l->tp && !(l->tp = tplist_new())) || tplist_add(l->tp, d, (size_t)r) < 0) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case ID_SERIAL: {
		size_t sl = strcspn(buf, " \t"), n;
		const char *dn = buf + sl;

		n = lists_norm_serial(buf, sl, canon, sizeof(canon));
		if (!n) {
			set_err(err, errlen, "'%.*s' is not a hex serial number", (int)sl, buf);
			return -1;
		}
		while (*dn == ' ' || *dn == '\t')
			dn++;
		if (*dn) {
			/* "SERIAL ISSUER-DN": that serial from that issuer only */
			canon[n++] = '|';
			if (dn_canon_text(dn, strlen(dn), canon + n, sizeof(canon) - n) < 0) {
				set_err(err, errlen, "'%s' is not a distinguished name", dn);
				return -1;
			}
		}
		return add_str(l, canon, strlen(canon), err, errlen);
	}
	case ID_SUBJECT:
	case ID_ISSUER:
		if (dn_canon_text(buf, len, canon, sizeof(canon)) < 0) {
			set_err(err, errlen, "'%s' is not a distinguished name (CN=a,O=b or /O=b/CN=a)", buf);
			return -1;
		}
		return add_str(l, canon, strlen(canon), err, errlen);
	case ID_SPKI:
		if (len != 44 || buf[43] != '=' || strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43) {
			set_err(err, errlen, "'%s' is not a base64 SHA-256 SPKI pin (44 characters)", buf);
			return -1;
		}
		return add_str(l, buf, len, err, errlen);
	case ID_SPIFFE:
		if (strncmp(buf, "spiffe://", 9) != 0 || len == 9 || buf[9] == '/') {
			set_err(err, errlen, "'%s' is not spiffe://TRUST-DOMAIN[/path]", buf);
			return -1;
		}
		while (len > 10 && buf[len - 1] == '/')
			buf[--len] = 0;
		/* the trust domain is case-insensitive, the path is not */
		for (size_t i = 9; i < len && buf[i] != '/'; i++)
			buf[i] = (char)tolower((unsigned char)buf[i]);
		return add_str(l, buf, len, err, errlen);
	case ID_URI:
		return add_str(l, buf, len, err, errlen);
	case ID_DNS:
		lists_lower(buf);
		if (!valid_hostname_pattern(buf)) {
			set_err(err, errlen, "'%s' is not a DNS name or *.suffix pattern", buf);
			return -1;
		}
		return add_str(l, buf, len, err, errlen);
	case ID_EMAIL:
		lists_lower(buf);
		if (!strchr(buf, '@')) {
			set_err(err, errlen, "'%s' is not an email address", buf);
			return -1;
		}
		return add_str(l, buf, len, err, errlen);
	case ID_IP:
		return add_cidr(l, buf, len, err, errlen);
	case ID_CN:
		lists_lower(buf);
		return add_str(l, buf, len, err, errlen);
	case ID_KINDS:
		break;
	}
	set_err(err, errlen, "internal error");
	return -1;
}

static int other_item(void *arg, const char *item, size_t len, char *err, size_t errlen)
{
	struct ctx *c = arg;
	char buf[256];
	ASN1_OBJECT *obj;
	int nid;

	if (len >= sizeof(buf)) {
		set_err(err, errlen, "entry longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, item, len);
	buf[len] = 0;
	switch (c->what) {
	case OL_CURVES:
		if (strcasecmp(buf, "P-256") == 0)
			snprintf(buf, sizeof(buf), "prime256v1");
		else if (strcasecmp(buf, "P-384") == 0)
			snprintf(buf, sizeof(buf), "secp384r1");
		else if (strcasecmp(buf, "P-521") == 0)
			snprintf(buf, sizeof(buf), "secp521r1");
		if (OBJ_sn2nid(buf) == NID_undef) {
			set_err(err, errlen, "'%s' is not a curve name (e.g. prime256v1, secp384r1)", buf);
			return -1;
		}
		return add_str(c->l, buf, strlen(buf), err, errlen);
	case OL_SIGNATURE:
		nid = OBJ_sn2nid(buf);
		if (nid == NID_undef) {
			char up[256];

			snprintf(up, sizeof(up), "%s", buf);
			for (char *q = up; *q; q++)
				*q = (char)toupper((unsigned char)*q);
			nid = OBJ_sn2nid(up);
		}
		if (nid == NID_undef) {
			set_err(err, errlen, "'%s' is not a digest name (e.g. md5, sha1)", buf);
			return -1;
		}
		snprintf(buf, sizeof(buf), "%d", nid);
		return add_str(c->l, buf, strlen(buf), err, errlen);
	case OL_POLICIES:
		if (!(obj = OBJ_txt2obj(buf, 1))) {
			set_err(err, errlen, "'%s' is not a dotted OID", buf);
			return -1;
		}
		OBJ_obj2txt(buf, sizeof(buf), obj, 1);
		ASN1_OBJECT_free(obj);
		return add_str(c->l, buf, strlen(buf), err, errlen);
	case OL_HOSTNAME:
		lists_lower(buf);
		if (len > 1 && buf[len - 1] == '.')
			buf[--len] = 0;    /* requests are compared without it */
		if (!valid_hostname_pattern(buf)) {
			set_err(err, errlen, "'%s' is not a host name or *.suffix pattern", buf);
			return -1;
		}
		return add_str(c->l, buf, len, err, errlen);
	case OL_PATH: {
		/* requests are routed on their normalized path: a prefix must be
		 * in that form already, or it could never match */
		char norm[sizeof(buf)];
		enum uri_err ue;
		size_t nl = 0;

		if (buf[0] != '/') {
			set_err(err, errlen, "'%s' does not start with '/'", buf);
			return -1;
		}
		ue = uri_path_norm(buf, len, norm, sizeof(norm), &nl);
		if (ue != URI_OK) {
			set_err(err, errlen, "'%s': %s", buf, uri_err_str[ue]);
			return -1;
		}
		if (nl != len || strncasecmp(norm, buf, len) != 0) {
			set_err(err, errlen, "'%s' is not a normalized path (write '%.*s')", buf, (int)nl, norm);
			return -1;
		}
		return add_str(c->l, buf, len, err, errlen);
	}
	case OL_PLAIN:
		return add_str(c->l, buf, len, err, errlen);
	case OL_CIDR:
		return add_cidr(c->l, buf, len, err, errlen);
	}
	set_err(err, errlen, "internal error");
	return -1;
}

static int compile_other(struct cfg_list *l, int what, char *err, size_t errlen)
{
	struct ctx c = { .l = l, .what = what };

	return list_foreach(l->src, 0, other_item, &c, &l->file, err, errlen) < 0 ? -1 : 0;
}

/* "ab12...ef, 0011..." (SHA-1/SHA-256 hex digests) rather than a path? */
static int looks_inline_digests(const char *src)
{
	unsigned char d[32];

	for (const char *p = src; *p; ) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int r = tplist_parse_line(p, len, d);

		if (r != 20 && r != 32)
			return 0;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 1;
}

int lists_compile_policy(struct policy *p, int *line, const char **key,
                         char *err, size_t errlen)
{
	static const struct {
		size_t off;
		int what;
		const char *key;
	} others[] = {
		{ offsetof(struct policy, allowed_curves), OL_CURVES, "allowed_curves" },
		{ offsetof(struct policy, forbid_signature), OL_SIGNATURE, "forbid_signature" },
		{ offsetof(struct policy, require_policies), OL_POLICIES, "require_policies" },
	};
	static char keybuf[64];

	for (int side = 0; side < 2; side++) {
		for (int k = 0; k < ID_KINDS; k++) {
			struct cfg_list *l = side ? &p->deny[k] : &p->allow[k];
			struct ctx c = { .l = l, .kind = (enum id_kind)k };
			int plain_file = k == ID_THUMBPRINT || k == ID_ISSUER_THUMBPRINT;

			if (!l->src)
				continue;
			if (plain_file && looks_inline_digests(l->src))
				plain_file = 0;
			if (list_foreach(l->src, plain_file, id_item, &c, &l->file, err, errlen) < 0) {
				*line = l->line;
				if (l->key)
					snprintf(keybuf, sizeof(keybuf), "%s", l->key);
				else
					snprintf(keybuf, sizeof(keybuf), "%s_%s", side ? "deny" : "allow", id_kind_names[k]);
				*key = keybuf;
				return -1;
			}
		}
	}
	/* an allow list that turns out empty allows nobody (fail closed): it
	 * must not look like "no list" */
	for (int side = 0; side < 2; side++) {
		for (int k = 0; k < ID_KINDS; k++) {
			struct cfg_list *l = side ? &p->deny[k] : &p->allow[k];

			if (l->src && (k == ID_THUMBPRINT || k == ID_ISSUER_THUMBPRINT) && !l->tp &&
			    !(l->tp = tplist_new())) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
	}
	p->thumbprints = p->allow[ID_THUMBPRINT].tp;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct cfg_list *l = (struct cfg_list *)(void *)((char *)p + others[i].off);

		if (l->src && compile_other(l, others[i].what, err, errlen) < 0) {
			*line = l->line;
			*key = others[i].key;
			return -1;
		}
	}
	return 0;
}

int lists_compile_route(struct route *r, int *line, const char **key,
                        char *err, size_t errlen)
{
	const struct {
		struct cfg_list *l;
		int what;
		const char *key;
	} v[] = {
		{ &r->sni, OL_HOSTNAME, "sni" },
		{ &r->host, OL_HOSTNAME, "host" },
		{ &r->path_prefix, OL_PATH, "path_prefix" },
		{ &r->frontend, OL_PLAIN, "frontend" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (v[i].l->src && compile_other(v[i].l, v[i].what, err, errlen) < 0) {
			*line = v[i].l->line;
			*key = v[i].key;
			return -1;
		}
	}
	return 0;
}

int lists_compile_fwd(struct fwd_config *f, int *line, const char **key,
                      char *err, size_t errlen)
{
	if (compile_other(&f->trusted_proxies, OL_CIDR, err, errlen) < 0) {
		*line = f->trusted_proxies.line;
		*key = "trusted_proxies";
		return -1;
	}
	return 0;
}

void cfg_list_free(struct cfg_list *l)
{
	free(l->src);
	free(l->file);
	tplist_free(l->tp);
	strset_free(l->set);
	if (l->cidrs) {
		cidr_list_free(l->cidrs);
		free(l->cidrs);
	}
	memset(l, 0, sizeof(*l));
}
