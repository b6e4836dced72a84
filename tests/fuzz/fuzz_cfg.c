/* Fuzz target: the config loader (agent/cfg.c over inih), the thumbprint
 * list (agent/tplist.c) and the CA bundle loader (cert_store_load).
 *
 * The input is a config file. Before it is written to a scratch file, the
 * placeholders below are replaced by paths of files made at start-up, so a
 * checked-in seed can name them although the scratch directory differs on
 * every run:
 *   {{CA}}     a PEM file with one CA          {{CA2}}  two CAs and text between
 *   {{TP}}     a valid thumbprint list         {{EMPTY}} an empty file
 *   {{CRL}}    two CRLs of the first CA        {{DIR}}  the scratch directory
 *   {{SELF}}   the input file itself
 * With {{SELF}}, the fuzzed bytes are also read as a CA bundle, CRL file or
 * list; the target also reads every input as each of those on its own.
 * An input that mentions /dev, /proc, /sys or ".." is skipped: a config
 * naming /dev/zero as its CA file would hang on reading it, which is an
 * administrator's choice and not something the parser can be blamed for.
 * (The check is on the input before expansion: the scratch directory is in
 * /dev/shm when it can be, on tmpfs, hence no "..".)
 *
 * Invariants:
 * - cfg_load() either fails with a message that starts with the file name,
 *   or returns a config whose every value lies within its documented range,
 *   with a default policy, and stores/lists loaded where the policy needs
 *   them; cfg_free() releases it all (LeakSanitizer);
 * - tplist_parse_line() on every line agrees with a reference parser written
 *   here from the grammar in tplist.c, in its result and its digest bytes;
 * - tplist_load() on the same file succeeds exactly when every line is
 *   valid for the reference, and then holds as many distinct digests;
 * - cert_store_load() on the same file fails with a message that starts with
 *   the file name, or loads at least one anchor;
 * - cert_store_add_crls() on the same file, into a store of {{CA}}, fails
 *   with such a message or adds at least one CRL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert.h"
#include "cfg.h"
#include "fuzz.h"
#include "log.h"
#include "testpki.h"
#include "tplist.h"

#define NOW  1800000000LL
#define DAY  86400LL
#define CFG_INPUT_MAX       (64 * 1024)
#define TPLIST_LINE_MAX 4096           /* as in tplist.c */

static char dir[64];
static pid_t dir_owner;              /* only the process that made dir removes it */
static int verbose;                  /* FUZZ_VERBOSE set: one line per input */
static char p_ca[96], p_ca2[96], p_tp[96], p_empty[96], p_crl[96], p_self[96];

/* A new file each time: rewriting a truncated one makes ext4 flush it to
 * disk on close (auto_da_alloc), which cost 90% of the time in /tmp. */
static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "wb");

	FUZZ_ASSERT(f);
	FUZZ_ASSERT(fwrite(buf, 1, len, f) == len);
	FUZZ_ASSERT(fclose(f) == 0);
}

/* Append the PEM file at src to f. */
static void copy_pem(FILE *f, const char *src)
{
	char buf[4096];
	size_t n;
	FILE *s = fopen(src, "r");

	FUZZ_ASSERT(s);
	while ((n = fread(buf, 1, sizeof(buf), s)) > 0)
		FUZZ_ASSERT(fwrite(buf, 1, n, f) == n);
	fclose(s);
}

static void remove_scratch(void)
{
	const char *const files[] = { p_ca, p_ca2, p_tp, p_empty, p_crl, p_self };

	if (getpid() != dir_owner)
		return;                      /* a replay child: the parent cleans up */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *k1 = testpki_make_key(), *k2 = testpki_make_key();
	X509 *ca[2];
	char pem1[128], pem2[128];
	FILE *f;
	static const char tp[] =
		"# trusted clients\n"
		"0123456789abcdef0123456789abcdef01234567\n"
		"01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF  # alice\n"
		"\n";

	(void)argc;
	(void)argv;
	log_min_level = LOG_ERR;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	snprintf(dir, sizeof(dir), "%s/certspoa-fuzzcfg-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	FUZZ_ASSERT(mkdtemp(dir));
	dir_owner = getpid();
	atexit(remove_scratch);
	snprintf(p_ca, sizeof(p_ca), "%s/ca.pem", dir);
	snprintf(p_ca2, sizeof(p_ca2), "%s/ca2.pem", dir);
	snprintf(p_tp, sizeof(p_tp), "%s/tp.txt", dir);
	snprintf(p_empty, sizeof(p_empty), "%s/empty", dir);
	snprintf(p_crl, sizeof(p_crl), "%s/crl.pem", dir);
	snprintf(p_self, sizeof(p_self), "%s/in.ini", dir);

	FUZZ_ASSERT(k1 && k2);
	ca[0] = testpki_make_cert("/CN=Fuzz CA one", k1, NULL, NULL,
	                          NOW - DAY, NOW + 365 * DAY, 1, NULL);
	ca[1] = testpki_make_cert("/CN=Fuzz CA two", k2, NULL, NULL,
	                          NOW - DAY, NOW + 365 * DAY, 1, NULL);
	FUZZ_ASSERT(ca[0] && ca[1]);
	FUZZ_ASSERT(testpki_write_pem(&ca[0], 1, pem1, sizeof(pem1)) == 0);
	FUZZ_ASSERT(testpki_write_pem(&ca[1], 1, pem2, sizeof(pem2)) == 0);
	f = fopen(p_ca, "w");
	FUZZ_ASSERT(f);
	copy_pem(f, pem1);
	fclose(f);
	f = fopen(p_ca2, "w");
	FUZZ_ASSERT(f);
	fputs("Fuzz CA one\n", f);
	copy_pem(f, pem1);
	fputs("\nsome text between the blocks\n", f);
	copy_pem(f, pem2);
	fclose(f);
	unlink(pem1);
	unlink(pem2);
	f = fopen(p_crl, "w");
	FUZZ_ASSERT(f);
	fuzz_write_crl(f, ca[0], k1, NOW - DAY, NOW + 7 * DAY, "1234");
	fuzz_write_crl(f, ca[0], k1, NOW, NOW + 14 * DAY, NULL);
	FUZZ_ASSERT(fclose(f) == 0);
	write_file(p_tp, tp, sizeof(tp) - 1);
	write_file(p_empty, "", 0);
	X509_free(ca[0]);
	X509_free(ca[1]);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	return 0;
}

/* Replace the placeholders; returns a malloc'ed buffer of *outlen bytes. */
static char *expand(const uint8_t *in, size_t n, size_t *outlen)
{
	const struct { const char *tok; const char *path; } subst[] = {
		{ "{{CA}}", p_ca }, { "{{CA2}}", p_ca2 }, { "{{TP}}", p_tp },
		{ "{{EMPTY}}", p_empty }, { "{{CRL}}", p_crl }, { "{{DIR}}", dir },
		{ "{{SELF}}", p_self },
	};
	enum { NSUBST = sizeof(subst) / sizeof(subst[0]) };
	size_t cap = n * 16 + 1, o = 0, i = 0;   /* a path is < 16 x its token */
	char *out = malloc(cap);

	FUZZ_ASSERT(out);
	while (i < n) {
		int t = NSUBST;

		if (in[i] == '{')
			for (t = 0; t < NSUBST; t++)
				if (n - i >= strlen(subst[t].tok) &&
				    memcmp(in + i, subst[t].tok, strlen(subst[t].tok)) == 0)
					break;
		if (t < NSUBST) {
			memcpy(out + o, subst[t].path, strlen(subst[t].path));
			o += strlen(subst[t].path);
			i += strlen(subst[t].tok);
		} else {
			out[o++] = (char)in[i++];
		}
	}
	*outlen = o;
	return out;
}

static int mentions(const char *buf, size_t n, const char *what)
{
	return memmem(buf, n, what, strlen(what)) != NULL;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reference for tplist_parse_line(), from its documented grammar: cut at
 * the first '#' or ';' that starts the line or follows a space or tab, trim, then 40 or 64 hex digits, or 20 or 32 hex pairs
 * with ':' between every pair. */
static int ref_parse_line(const char *s, size_t len, unsigned char out[32])
{
	size_t b = 0, e = len, n, i;

	for (i = 0; i < len; i++)
		if ((s[i] == '#' || s[i] == ';') && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			e = i;
			break;
		}

	while (b < e && (s[b] == ' ' || s[b] == '\t'))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' ||
	                 s[e - 1] == '\n'))
		e--;
	if (b == e)
		return 0;
	s += b;
	len = e - b;
	if (len == 40 || len == 64) {
		n = len / 2;
		for (i = 0; i < n; i++) {
			if (hexv(s[2 * i]) < 0 || hexv(s[2 * i + 1]) < 0)
				return -1;
			out[i] = (unsigned char)(hexv(s[2 * i]) << 4 | hexv(s[2 * i + 1]));
		}
		return (int)n;
	}
	if (len != 20 * 3 - 1 && len != 32 * 3 - 1)
		return -1;
	n = (len + 1) / 3;
	for (i = 0; i < n; i++) {
		if (hexv(s[3 * i]) < 0 || hexv(s[3 * i + 1]) < 0 ||
		    (i + 1 < n && s[3 * i + 2] != ':'))
			return -1;
		out[i] = (unsigned char)(hexv(s[3 * i]) << 4 | hexv(s[3 * i + 1]));
	}
	return (int)n;
}

/* Every line: parse_line vs the reference. Returns whether the whole file
 * is a valid list, and counts its distinct digests. */
static int check_lines(const char *buf, size_t n, size_t *distinct)
{
	unsigned char (*seen)[33] = malloc((n / 20 + 1) * sizeof(*seen));
	size_t nseen = 0, i = 0;
	int valid = 1;

	FUZZ_ASSERT(seen);
	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - buf - i) : n - i;
		unsigned char got[32], want[32];
		int r = tplist_parse_line(buf + i, len, got);
		int w = ref_parse_line(buf + i, len, want);

		FUZZ_ASSERT(r == w);
		FUZZ_ASSERT(r <= 0 || memcmp(got, want, (size_t)r) == 0);
		if (r < 0 || len > TPLIST_LINE_MAX)
			valid = 0;
		if (r > 0) {
			size_t k;

			for (k = 0; k < nseen; k++)
				if (seen[k][0] == r && memcmp(seen[k] + 1, got, (size_t)r) == 0)
					break;
			if (k == nseen) {
				seen[nseen][0] = (unsigned char)r;
				memcpy(seen[nseen] + 1, got, (size_t)r);
				nseen++;
			}
		}
		i += len + 1;
	}
	free(seen);
	*distinct = nseen;
	return valid;
}

static void check_config(const struct config *cfg)
{
	int ndefault = 0;

	FUZZ_ASSERT(cfg->nlisten >= 1 && cfg->nlisten <= CFG_MAX_LISTEN);
	for (int i = 0; i < cfg->nlisten; i++)
		FUZZ_ASSERT(cfg->listen[i] && cfg->listen[i][0]);
	FUZZ_ASSERT(cfg->threads >= 0 && cfg->threads <= 64);
	FUZZ_ASSERT(cfg->max_frame_size >= 256 && cfg->max_frame_size <= (1 << 20));
	FUZZ_ASSERT(cfg->max_message_size >= 256 && cfg->max_message_size <= (16 << 20));
	FUZZ_ASSERT(cfg->max_connections >= 1 && cfg->max_connections <= 1000000);
	FUZZ_ASSERT(cfg->hello_timeout_ms >= 1 && cfg->hello_timeout_ms <= 3600000);
	FUZZ_ASSERT(cfg->idle_timeout_ms >= 1 && cfg->idle_timeout_ms <= 86400000);
	FUZZ_ASSERT(cfg->shutdown_timeout_ms >= 0 && cfg->shutdown_timeout_ms <= 600000);
	FUZZ_ASSERT(cfg->cache_size >= 0 && cfg->cache_size <= (1 << 22));
	FUZZ_ASSERT(cfg->fragmentation == 0 || cfg->fragmentation == 1);
	FUZZ_ASSERT(cfg->log_level >= 0 && cfg->log_level < LOG_LEVELS);
	FUZZ_ASSERT(cfg->policies && cfg->default_policy);
	for (const struct policy *p = cfg->policies; p; p = p->next) {
		FUZZ_ASSERT(p->name[0] && strlen(p->name) < CFG_NAME_MAX);
		for (const struct policy *q = p->next; q; q = q->next)
			FUZZ_ASSERT(strcmp(p->name, q->name) != 0);
		ndefault += strcmp(p->name, "default") == 0;
		FUZZ_ASSERT(p->verify >= 0 && p->verify < VERIFY_MODES);
		FUZZ_ASSERT(p->require_cert == 0 || p->require_cert == 1);
		FUZZ_ASSERT(p->deny_status >= 400 && p->deny_status <= 599);
		if (p->verify != VERIFY_HAPROXY)
			FUZZ_ASSERT(p->ca_file && p->store);
		FUZZ_ASSERT(!p->ca_file == !p->store);
		FUZZ_ASSERT(!p->allow[ID_THUMBPRINT].src == !p->thumbprints);
		if (p->store)
			FUZZ_ASSERT(cert_store_count(p->store) >= 1);
		FUZZ_ASSERT(p->crl_check >= 0 && p->crl_check < CRL_CHECKS);
		FUZZ_ASSERT(p->crl_missing >= 0 && p->crl_missing < CRL_MISSINGS);
		if (p->crl_file) {
			FUZZ_ASSERT(p->verify != VERIFY_HAPROXY && p->crl_count >= 1);
			FUZZ_ASSERT(p->verify_flags ==
			            ((p->crl_check == CRL_CHECK_LEAF ? CERT_VF_CRL_LEAF : CERT_VF_CRL_ALL) |
			             (p->crl_missing == CRL_MISSING_ALLOW ? CERT_VF_CRL_MISSING_OK : 0U)));
		} else {
			FUZZ_ASSERT(p->verify_flags == 0 && p->crl_count == 0);
		}
	}
	/* the default is the one named so, or the only policy */
	if (ndefault)
		FUZZ_ASSERT(strcmp(cfg->default_policy->name, "default") == 0);
	else
		FUZZ_ASSERT(cfg->policies == cfg->default_policy && !cfg->policies->next);
}

static void check_error(const char *err, const char *path)
{
	FUZZ_ASSERT(memchr(err, 0, 512));
	FUZZ_ASSERT(strncmp(err, path, strlen(path)) == 0);
	FUZZ_ASSERT(err[strlen(path)] == ':');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct config *cfg;
	struct tplist *l;
	struct cert_store *st;
	struct cert_crl_info ci;
	size_t n, distinct;
	char *text;
	int valid;

	if (!dir[0])
		LLVMFuzzerInitialize(NULL, NULL);
	if (size > CFG_INPUT_MAX)
		return 0;
	if (mentions((const char *)data, size, "..") ||
	    mentions((const char *)data, size, "/dev") ||
	    mentions((const char *)data, size, "/proc") ||
	    mentions((const char *)data, size, "/sys"))
		return 0;
	text = expand(data, size, &n);
	write_file(p_self, text, n);

	memset(err, 0, sizeof(err));
	cfg = cfg_load(p_self, err, sizeof(err));
	if (cfg)
		check_config(cfg);
	else
		check_error(err, p_self);
	if (verbose)
		fprintf(stderr, "fuzz_cfg: %s\n", cfg ? "config loaded" : err);
	cfg_free(cfg);

	valid = check_lines(text, n, &distinct);
	memset(err, 0, sizeof(err));
	l = tplist_load(p_self, err, sizeof(err));
	FUZZ_ASSERT(!l == !valid);
	if (l)
		FUZZ_ASSERT(tplist_count(l) == distinct);
	else
		check_error(err, p_self);
	tplist_free(l);

	memset(err, 0, sizeof(err));
	st = cert_store_load(p_self, err, sizeof(err));
	if (st)
		FUZZ_ASSERT(cert_store_count(st) >= 1);
	else
		check_error(err, p_self);
	cert_store_free(st);

	st = cert_store_load(p_ca, err, sizeof(err));
	FUZZ_ASSERT(st);
	memset(err, 0, sizeof(err));
	if (cert_store_add_crls(st, p_self, &ci, err, sizeof(err)) == 0)
		FUZZ_ASSERT(ci.count >= 1);
	else
		check_error(err, p_self);
	cert_store_free(st);

	free(text);
	return 0;
}
