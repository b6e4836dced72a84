/* certspoa probe URL --cert C [--key K] [--chain F] [--ca F] [--sni S]
 *                [--trace-secret S] [--tls-max 1.2|1.3] [--timeout N] [--json]
 *
 * One request along the client-certificate path, from the client's end:
 *   1. TCP: the address reached;
 *   2. TLS: version, cipher, the server's chain (names, expiry), whether it
 *      verifies against --ca;
 *   3. whether the server asked for a client certificate (a
 *      CertificateRequest: OpenSSL calls the certificate callback only
 *      then, in TLS 1.2 and 1.3 alike), the acceptable CA names it listed
 *      and whether the client's chain leads to one of them;
 *   4. the certificate sent;
 *   5. the HTTP answer: status, X-Certspoa-* headers, the JSON body, and
 *      with --trace-secret the agent's trace;
 * then the diagnosis (probe-diag.c), naming the broken hop.
 *
 * The TLS client is OpenSSL driven here; HTTP is a minimal HTTP/1.1 GET
 * with Connection: close, bounded in size and time. Files are read with
 * the readers `inspect` uses (cert_read_file_key: PEM, DER, PKCS#12). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "probe.h"

#define PROBE_EXIT_BROKEN   2
#define PROBE_EXIT_USAGE    64
#define PROBE_MAX_CLIENT    16             /* client certificates: leaf + chain */
#define PROBE_RESP_MAX      (256 * 1024)   /* whole HTTP answer read */
#define PROBE_HEAD_MAX      (32 * 1024)    /* its header block */
#define PROBE_HOST_MAX      256
#define PROBE_PATH_MAX      2048
#define PROBE_SECRET_MAX    256
#define PROBE_KEY_FILE_MAX  (1024 * 1024)

struct probe_opts {
	const char *url, *cert, *key, *chain, *ca, *sni, *secret;
	int tls_max;          /* 0, TLS1_2_VERSION or TLS1_3_VERSION */
	int timeout;          /* seconds, per step */
	int json;
};

struct probe_url {
	char host[PROBE_HOST_MAX];     /* without brackets */
	char port[8];
	char path[PROBE_PATH_MAX];
	int is_ip;
	int v6;
};

struct server_cert {
	char subject[PROBE_NAME_MAX];
	char issuer[PROBE_NAME_MAX];
	int64_t not_after;
};

/* Everything seen, for the report; the diagnosis reads f. */
struct probe {
	struct probe_facts f;
	const struct probe_opts *o;
	struct probe_url u;
	int64_t now;

	/* client material */
	X509 *leaf;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;
	struct cert_facts leaf_facts;

	/* TCP / TLS */
	char addr[INET6_ADDRSTRLEN + 8];
	int tls_up;
	char tls_version[32], cipher[96], alpn[32];
	int nserver;
	struct server_cert server[PROBE_MAX_CHAIN];
	int server_verify;             /* SSL_get_verify_result */
	int cb_calls;
	char ca_names[PROBE_MAX_CA_NAMES][PROBE_NAME_MAX];
	int ca_match_idx;              /* the name the chain leads to, or -1 */

	struct probe_http http;        /* the answer */
};

/* ---- small helpers ---- */

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certspoa probe URL --cert FILE [--key FILE] [--chain FILE] [--ca FILE]\n"
	        "                      [--sni NAME] [--trace-secret S] [--tls-max 1.2|1.3]\n"
	        "                      [--timeout SECONDS] [--json]\n"
	        "\n"
	        "Send one HTTPS GET to URL with a client certificate and report each hop:\n"
	        "TCP, TLS (version, cipher, the server's chain), whether the server asked\n"
	        "for a client certificate and which CAs it accepts, the certificate sent,\n"
	        "the HTTP answer (status, X-Certspoa-* headers, JSON body, the agent's trace\n"
	        "with --trace-secret), then a diagnosis naming the broken hop.\n"
	        "\n"
	        "  --cert FILE    client certificate: PEM (leaf first, then intermediates,\n"
	        "                 may hold the key), DER or PKCS#12 (with its key; password\n"
	        "                 from CERTSPOA_P12_PASSWORD)\n"
	        "  --key FILE     private key (PEM or DER); encrypted: CERTSPOA_KEY_PASSWORD\n"
	        "  --chain FILE   intermediates to send after the leaf (PEM)\n"
	        "  --ca FILE      CAs to verify the server with (default: the system's)\n"
	        "  --sni NAME     TLS server name (default: the URL's host name)\n"
	        "  --trace-secret S   send X-Certspoa-Trace: S (certspoa.ini trace_secret)\n"
	        "  --tls-max V    highest TLS version to offer: 1.2 or 1.3\n"
	        "  --timeout N    seconds for each step (default 10)\n"
	        "  --json         one JSON object instead of the text report\n"
	        "\n"
	        "Exit status: 0 allowed, 1 denied, 2 it broke before the agent (or a bad\n"
	        "input file), 64 usage.\n");
}

static void input_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A bad input: one line on stderr, then exit 2. */
static void input_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "certspoa probe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Copy at most outlen-1 bytes, "..." when cut. */
static void copy_cut(char *out, size_t outlen, const char *in, size_t inlen)
{
	if (outlen == 0)
		return;
	if (inlen < outlen) {
		memcpy(out, in, inlen);
		out[inlen] = '\0';
		return;
	}
	memcpy(out, in, outlen - 1);
	out[outlen - 1] = '\0';
	if (outlen > 4)
		memcpy(out + outlen - 4, "...", 3);
}

static void name_str(const X509_NAME *n, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;

	out[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(b, &p);
		if (len > 0 && p)
			copy_cut(out, outlen, p, (size_t)len);
	}
	BIO_free(b);
}

static void ossl_err(char *out, size_t outlen)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	snprintf(out, outlen, "%s", why ? why : "unknown OpenSSL error");
}

/* ---- inputs ---- */

struct key_pw {
	int asked;
};

static int key_pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct key_pw *k = u;
	const char *pw = getenv("CERTSPOA_KEY_PASSWORD");
	size_t n;

	(void)rwflag;
	k->asked = 1;
	if (!pw || size <= 0)
		return -1;
	n = strlen(pw);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pw, n);
	return (int)n;
}

/* A PEM file (a "-----BEGIN " line) without any "PRIVATE KEY-----" block:
 * a certificate file given where the key was expected. */
static int pem_without_key(BIO *b)
{
	char *buf = malloc(PROBE_KEY_FILE_MAX);
	int n, r = 0;

	if (buf && BIO_reset(b) == 0 && (n = BIO_read(b, buf, PROBE_KEY_FILE_MAX)) > 0)
		r = memmem(buf, (size_t)n, "-----BEGIN ", 11) != NULL &&
		    memmem(buf, (size_t)n, "PRIVATE KEY-----", 16) == NULL;
	free(buf);
	return r;
}

/* A private key from a PEM (first key block, encrypted ones with
 * CERTSPOA_KEY_PASSWORD) or DER file. NULL with why in err; *none = 1 when
 * the file holds no key at all (PEM without a key block). */
static EVP_PKEY *read_key(const char *path, int *none, char *err, size_t errlen)
{
	struct key_pw k = { 0 };
	EVP_PKEY *pkey = NULL;
	struct stat sb;
	BIO *b = NULL;
	int fd;

	*none = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &sb) == -1 || S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, fd == -1 ? strerror(errno) : strerror(EISDIR));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	close(fd);
	if (sb.st_size > PROBE_KEY_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 1 MB: not a key file", path);
		return NULL;
	}
	ERR_clear_error();
	if (!(b = BIO_new_file(path, "rb"))) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(b, NULL, key_pw_cb, &k);
	if (!pkey && k.asked) {
		if (getenv("CERTSPOA_KEY_PASSWORD"))
			snprintf(err, errlen, "%s: the private key is encrypted and CERTSPOA_KEY_PASSWORD "
			         "does not decrypt it", path);
		else
			snprintf(err, errlen, "%s: the private key is encrypted: set CERTSPOA_KEY_PASSWORD "
			         "to its password", path);
		goto out;
	}
	if (!pkey) {
		ERR_clear_error();
		if (BIO_reset(b) == 0)
			pkey = d2i_PrivateKey_bio(b, NULL);
		if (!pkey) {
			*none = pem_without_key(b);
			snprintf(err, errlen, "%s: no private key in it (PEM or DER)", path);
		}
	}
out:
	BIO_free(b);
	ERR_clear_error();
	return pkey;
}

/* --cert, --key, --chain: the leaf, its key, the chain to send. */
static int load_client(struct probe *p)
{
	X509 *certs[PROBE_MAX_CLIENT] = { 0 }, *more[PROBE_MAX_CLIENT] = { 0 };
	unsigned char *der = NULL;
	char err[1024];
	int n, m = 0, i, none, len, rc = -1;

	n = cert_read_file_key(p->o->cert, certs, PROBE_MAX_CLIENT, &p->key, err, sizeof(err));
	if (n <= 0) {
		input_err("--cert %s", err);
		return -1;
	}
	if (p->o->chain) {
		m = cert_read_file(p->o->chain, more, PROBE_MAX_CLIENT, err, sizeof(err));
		if (m < 0) {
			input_err("--chain %s", err);
			goto out;
		}
	}
	if (p->o->key) {
		EVP_PKEY *k = read_key(p->o->key, &none, err, sizeof(err));

		if (!k) {
			input_err("--key %s", err);
			goto out;
		}
		EVP_PKEY_free(p->key);
		p->key = k;
	} else if (!p->key) {
		p->key = read_key(p->o->cert, &none, err, sizeof(err));
		if (!p->key) {
			if (none)
				input_err("%s has no private key: give it with --key", p->o->cert);
			else
				input_err("--cert %s", err);
			goto out;
		}
	}
	if (X509_check_private_key(certs[0], p->key) != 1) {
		input_err("the private key (%s) does not match the certificate in %s",
		          p->o->key ? p->o->key : p->o->cert, p->o->cert);
		ERR_clear_error();
		goto out;
	}
	len = i2d_X509(certs[0], &der);
	if (len <= 0 || cert_get_facts(certs[0], der, (size_t)len, &p->leaf_facts) < 0) {
		input_err("%s: the certificate's name, serial or validity cannot be read",
		          p->o->cert);
		goto out;
	}
	if (!(p->chain = sk_X509_new_null()))
		goto out;
	for (i = 1; i < n; i++) {
		if (!sk_X509_push(p->chain, certs[i]))
			goto out;
		certs[i] = NULL;
	}
	for (i = 0; i < m; i++) {
		if (!sk_X509_push(p->chain, more[i]))
			goto out;
		more[i] = NULL;
	}
	p->leaf = certs[0];
	certs[0] = NULL;
	copy_cut(p->f.client_issuer, sizeof(p->f.client_issuer), p->leaf_facts.issuer,
	         strlen(p->leaf_facts.issuer));
	p->f.client_not_after = p->leaf_facts.not_after;
	p->f.client_expired = p->leaf_facts.not_after < p->now;
	rc = 0;
out:
	OPENSSL_free(der);
	for (i = 0; i < PROBE_MAX_CLIENT; i++) {
		X509_free(certs[i]);
		X509_free(more[i]);
	}
	return rc;
}

/* https://host[:port][/path]; no user info, no fragment. */
static int parse_url(const char *url, struct probe_url *u, char *err, size_t errlen)
{
	const char *h, *he, *p, *s;
	char *end;
	long port = 443;
	size_t i;

	if (strncasecmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "the URL must start with https://");
		return -1;
	}
	for (s = url; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			snprintf(err, errlen, "the URL has a space or a control character");
			return -1;
		}
	h = url + 8;
	if (*h == '[') {
		he = strchr(h, ']');
		if (!he) {
			snprintf(err, errlen, "unterminated [IPv6] host");
			return -1;
		}
		h++;
		p = he + 1;
		u->v6 = 1;
	} else {
		he = h + strcspn(h, ":/?#");
		p = he;
	}
	if (he == h || (size_t)(he - h) >= sizeof(u->host)) {
		snprintf(err, errlen, "no host, or a host longer than %zu bytes", sizeof(u->host) - 1);
		return -1;
	}
	memcpy(u->host, h, (size_t)(he - h));
	u->host[he - h] = '\0';
	for (i = 0; u->host[i]; i++)
		if (u->host[i] == '@') {
			snprintf(err, errlen, "user information in the URL is not supported");
			return -1;
		}
	if (*p == ':') {
		errno = 0;
		port = strtol(p + 1, &end, 10);
		if (errno || end == p + 1 || port < 1 || port > 65535 ||
		    (*end && *end != '/' && *end != '?')) {
			snprintf(err, errlen, "bad port in the URL");
			return -1;
		}
		p = end;
	} else if (*p && *p != '/' && *p != '?') {
		snprintf(err, errlen, "bad URL after the host");
		return -1;
	}
	snprintf(u->port, sizeof(u->port), "%ld", port);
	s = strchr(p, '#');
	i = s ? (size_t)(s - p) : strlen(p);
	if (i + 2 > sizeof(u->path)) {
		snprintf(err, errlen, "path longer than %zu bytes", sizeof(u->path) - 2);
		return -1;
	}
	if (i == 0 || *p != '/') {
		u->path[0] = '/';
		memcpy(u->path + 1, p, i);
		u->path[i + 1] = '\0';
	} else {
		memcpy(u->path, p, i);
		u->path[i] = '\0';
	}
	{
		struct in6_addr a6;
		struct in_addr a4;

		u->is_ip = inet_pton(AF_INET, u->host, &a4) == 1 || inet_pton(AF_INET6, u->host, &a6) == 1;
	}
	return 0;
}

/* ---- TCP ---- */

static int set_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs, .tv_usec = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		return -1;
	return 0;
}

/* Each address of the host in turn, non-blocking connect bounded by the
 * timeout; the socket is blocking (with timeouts) afterwards. */
static int tcp_connect(struct probe *p)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char why[256] = "no address";
	int fd = -1, r, soerr, fl;
	socklen_t sl;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* no AI_ADDRCONFIG: on a host with loopback only it hides 127.0.0.1;
	 * every address is tried in turn anyway */
	r = getaddrinfo(p->u.host, p->u.port, &hints, &res);
	if (r != 0) {
		snprintf(p->f.error, sizeof(p->f.error), "%s: %s", p->u.host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		char host[INET6_ADDRSTRLEN] = "?";
		struct pollfd pfd;

		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, host, sizeof(host));
		else if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, host, sizeof(host));
		snprintf(p->addr, sizeof(p->addr), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
		         host, p->u.port);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			snprintf(why, sizeof(why), "%s: %s", p->addr, strerror(errno));
			continue;
		}
		r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r == -1 && errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			do
				r = poll(&pfd, 1, p->o->timeout * 1000);
			while (r == -1 && errno == EINTR);
			if (r == 0) {
				snprintf(why, sizeof(why), "%s: no answer within %d s (a firewall drops it?)",
				         p->addr, p->o->timeout);
				close(fd);
				fd = -1;
				continue;
			}
			sl = sizeof(soerr);
			if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
				soerr = errno;
			r = soerr ? -1 : 0;
			errno = soerr;
		}
		if (r == -1) {
			snprintf(why, sizeof(why), "%s: %s", p->addr, strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		fl = fcntl(fd, F_GETFL);
		if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
		    set_timeouts(fd, p->o->timeout) == -1) {
			snprintf(why, sizeof(why), "%s: %s", p->addr, strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(p->f.error, sizeof(p->f.error), "%s", why);
	return fd;
}

/* ---- TLS ---- */

/* A socket timeout (SO_RCVTIMEO/SO_SNDTIMEO) as OpenSSL reports it: a
 * retry on a blocking socket, or a syscall error with EAGAIN. */
static int ssl_timed_out(int e)
{
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
	       (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct probe *p = SSL_get_app_data(ssl);

	if (!p || !(where & SSL_CB_ALERT) || !(where & SSL_CB_READ) || p->f.alert)
		return;
	if ((ret >> 8) != SSL3_AL_FATAL)
		return;
	p->f.alert = 1;
	p->f.alert_code = ret & 0xff;
	snprintf(p->f.alert_desc, sizeof(p->f.alert_desc), "%s", SSL_alert_desc_string_long(ret));
	p->f.alert_after_handshake = SSL_is_init_finished(ssl);
}

/* Does the client's chain lead to this CA name: the leaf's issuer, or the
 * subject or issuer of a certificate sent after it. */
static int chain_leads_to(const struct probe *p, const X509_NAME *n)
{
	int i;

	if (X509_NAME_cmp(X509_get_issuer_name(p->leaf), n) == 0)
		return 1;
	for (i = 0; i < sk_X509_num(p->chain); i++) {
		X509 *c = sk_X509_value(p->chain, i);

		if (X509_NAME_cmp(X509_get_subject_name(c), n) == 0 ||
		    X509_NAME_cmp(X509_get_issuer_name(c), n) == 0)
			return 1;
	}
	return 0;
}

/* Called by OpenSSL only when the server sent a CertificateRequest (the
 * client side of tls_prepare_client_certificate), TLS 1.2 and 1.3. The
 * certificate is sent whatever the CA names say, as OpenSSL (and curl)
 * do: the report says whether they matched. */
static int cert_cb(SSL *ssl, void *arg)
{
	struct probe *p = arg;
	const STACK_OF(X509_NAME) *names;
	int i, n;

	if (p->cb_calls++ == 0) {
		p->f.cert_requested = 1;
		names = SSL_get_client_CA_list(ssl);
		n = sk_X509_NAME_num(names);
		p->f.nca_names = n > 0 ? n : 0;
		for (i = 0; i < n; i++) {
			const X509_NAME *nm = sk_X509_NAME_value(names, i);

			if (i < PROBE_MAX_CA_NAMES)
				name_str(nm, p->ca_names[i], sizeof(p->ca_names[i]));
			if (p->ca_match_idx < 0 && chain_leads_to(p, nm)) {
				p->ca_match_idx = i;
				p->f.ca_match = 1;
			}
		}
	}
	if (SSL_use_certificate(ssl, p->leaf) != 1 || SSL_use_PrivateKey(ssl, p->key) != 1 ||
	    SSL_set1_chain(ssl, p->chain) != 1)
		return 0;
	p->f.cert_sent = 1;
	return 1;
}

static void collect_tls(struct probe *p, SSL *ssl)
{
	STACK_OF(X509) *sc = SSL_get_peer_cert_chain(ssl);
	const unsigned char *alpn = NULL;
	unsigned int alen = 0;
	int i;

	p->tls_up = 1;
	snprintf(p->tls_version, sizeof(p->tls_version), "%s", SSL_get_version(ssl));
	snprintf(p->cipher, sizeof(p->cipher), "%s", SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
	SSL_get0_alpn_selected(ssl, &alpn, &alen);
	if (alpn && alen)
		copy_cut(p->alpn, sizeof(p->alpn), (const char *)alpn, alen);
	p->server_verify = (int)SSL_get_verify_result(ssl);
	for (i = 0; i < sk_X509_num(sc) && p->nserver < PROBE_MAX_CHAIN; i++) {
		X509 *x = sk_X509_value(sc, i);
		struct server_cert *s = &p->server[p->nserver++];
		const ASN1_TIME *na = X509_get0_notAfter(x);
		struct tm tm;

		name_str(X509_get_subject_name(x), s->subject, sizeof(s->subject));
		name_str(X509_get_issuer_name(x), s->issuer, sizeof(s->issuer));
		s->not_after = na && ASN1_TIME_to_tm(na, &tm) == 1 ? (int64_t)timegm(&tm) : 0;
	}
}

/* ---- HTTP ---- */

static int write_all(SSL *ssl, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t off = 0;
	int n;

	while (off < len) {
		n = SSL_write(ssl, buf + off, (int)(len - off));
		if (n <= 0) {
			int e = SSL_get_error(ssl, n);

			if (ssl_timed_out(e))
				snprintf(err, errlen, "sending the request timed out");
			else
				snprintf(err, errlen, "sending the request failed (%s)",
				         e == SSL_ERROR_SSL ? ERR_reason_error_string(ERR_peek_last_error())
				                            : strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Read the answer until the server closes, Content-Length is reached,
 * or PROBE_RESP_MAX. Returns the bytes read, -1 on an error before any
 * complete header block (why in p->f.error). */
static long read_answer(struct probe *p, SSL *ssl, char *buf, size_t cap)
{
	struct timespec start, now;
	size_t len = 0;
	int n, e;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (len == cap)
			break;
		/* each read waits --timeout at most (SO_RCVTIMEO); the whole
		 * answer too, against a server that trickles it */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > p->o->timeout) {
			if (probe_http_head_end(buf, len))
				break;
			snprintf(p->f.error, sizeof(p->f.error), "no complete answer within %d s",
			         p->o->timeout);
			return -1;
		}
		n = SSL_read(ssl, buf + len, (int)(cap - len));
		if (n > 0) {
			len += (size_t)n;
			if (probe_http_complete(buf, len))
				break;
			if (len >= PROBE_HEAD_MAX && !probe_http_head_end(buf, len)) {
				snprintf(p->f.error, sizeof(p->f.error), "header block larger than %d KB",
				         PROBE_HEAD_MAX / 1024);
				return -1;
			}
			continue;
		}
		e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN && len == 0) {
			snprintf(p->f.error, sizeof(p->f.error), "the server closed the connection "
			         "without answering");
			return -1;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			break;
		if (probe_http_head_end(buf, len))
			break;          /* closed without close_notify, after the headers */
		if (p->f.alert)
			snprintf(p->f.error, sizeof(p->f.error), "the server sent a TLS alert: %s",
			         p->f.alert_desc);
		else if (ssl_timed_out(e))
			snprintf(p->f.error, sizeof(p->f.error), "no answer within %d s", p->o->timeout);
		else if (e == SSL_ERROR_SSL)
			ossl_err(p->f.error, sizeof(p->f.error));
		else
			snprintf(p->f.error, sizeof(p->f.error), "the connection closed%s%s",
			         errno ? ": " : " before an answer", errno ? strerror(errno) : "");
		return -1;
	}
	return (long)len;
}

/* The answer's fields into the facts: X-Certspoa-* headers first, the
 * JSON body's for what they did not carry. */
static int parse_answer(struct probe *p, const char *buf, size_t len)
{
	struct probe_http *a = &p->http;
	const char *v;

	if (probe_http_parse(buf, len, a) < 0) {
		snprintf(p->f.error, sizeof(p->f.error), "%s", a->error);
		return -1;
	}
	p->f.status = a->status;
	if ((v = probe_http_hdr(a, "x-certspoa-code")))
		snprintf(p->f.code, sizeof(p->f.code), "%s", v);
	if ((v = probe_http_hdr(a, "x-certspoa-rule")))
		snprintf(p->f.rule, sizeof(p->f.rule), "%s", v);
	if ((v = probe_http_hdr(a, "x-certspoa-trace")))
		snprintf(p->f.trace, sizeof(p->f.trace), "%s", v);
	probe_json_str(a->body, a->body_len, "detail", p->f.detail, sizeof(p->f.detail));
	if (!p->f.code[0])
		probe_json_str(a->body, a->body_len, "code", p->f.code, sizeof(p->f.code));
	if (!p->f.rule[0])
		probe_json_str(a->body, a->body_len, "rule", p->f.rule, sizeof(p->f.rule));
	return 0;
}

static int http_exchange(struct probe *p, SSL *ssl)
{
	char req[PROBE_PATH_MAX + PROBE_HOST_MAX + PROBE_SECRET_MAX + 256], hosthdr[PROBE_HOST_MAX + 16];
	char *buf;
	long n;
	int k, rc = -1;

	if (strcmp(p->u.port, "443") == 0)
		snprintf(hosthdr, sizeof(hosthdr), p->u.v6 ? "[%s]" : "%s", p->u.host);
	else
		snprintf(hosthdr, sizeof(hosthdr), p->u.v6 ? "[%s]:%s" : "%s:%s", p->u.host, p->u.port);
	k = snprintf(req, sizeof(req),
	             "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certspoa-probe/%s\r\n"
	             "Accept: */*\r\nConnection: close\r\n%s%s%s\r\n",
	             p->u.path, hosthdr, CERTSPOA_VERSION,
	             p->o->secret ? "X-Certspoa-Trace: " : "", p->o->secret ? p->o->secret : "",
	             p->o->secret ? "\r\n" : "");
	if (k < 0 || (size_t)k >= sizeof(req)) {
		snprintf(p->f.error, sizeof(p->f.error), "request too long");
		return -1;
	}
	if (write_all(ssl, req, (size_t)k, p->f.error, sizeof(p->f.error)) < 0)
		return -1;
	if (!(buf = malloc(PROBE_RESP_MAX))) {
		snprintf(p->f.error, sizeof(p->f.error), "out of memory");
		return -1;
	}
	n = read_answer(p, ssl, buf, PROBE_RESP_MAX);
	if (n >= 0 && parse_answer(p, buf, (size_t)n) == 0)
		rc = 0;
	free(buf);
	return rc;
}

/* The whole path. Sets p->f.stage to where it stopped. */
static void run_probe(struct probe *p)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	const char *sni;
	int fd, r, e;
	char why[256];

	p->f.stage = PROBE_ST_TCP;
	fd = tcp_connect(p);
	if (fd == -1)
		return;
	p->f.stage = PROBE_ST_TLS;
	if (!(ctx = SSL_CTX_new(TLS_client_method()))) {
		ossl_err(p->f.error, sizeof(p->f.error));
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (p->o->tls_max)
		SSL_CTX_set_max_proto_version(ctx, p->o->tls_max);
	if (p->o->ca ? SSL_CTX_load_verify_locations(ctx, p->o->ca, NULL) != 1
	             : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ossl_err(why, sizeof(why));
		snprintf(p->f.error, sizeof(p->f.error), "cannot load the CAs to check the server with: %s", why);
		goto out;
	}
	/* the server's chain is checked and reported, not enforced: the
	 * question is the client certificate */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_cb(ctx, cert_cb, p);
	if (!(ssl = SSL_new(ctx))) {
		ossl_err(p->f.error, sizeof(p->f.error));
		goto out;
	}
	SSL_set_app_data(ssl, p);
	SSL_set_info_callback(ssl, info_cb);
	sni = p->o->sni ? p->o->sni : (p->u.is_ip ? NULL : p->u.host);
	if (sni && *sni)
		SSL_set_tlsext_host_name(ssl, sni);
	if (p->u.is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), p->u.host);
	else
		SSL_set1_host(ssl, p->u.host);
	SSL_set_alpn_protos(ssl, (const unsigned char *)"\x08http/1.1", 9);
	SSL_set_fd(ssl, fd);
	r = SSL_connect(ssl);
	if (r != 1) {
		e = SSL_get_error(ssl, r);
		if (p->f.alert)
			snprintf(p->f.error, sizeof(p->f.error), "the server sent a TLS alert: %s",
			         p->f.alert_desc);
		else if (ssl_timed_out(e))
			snprintf(p->f.error, sizeof(p->f.error), "no TLS answer within %d s (is it TLS?)",
			         p->o->timeout);
		else if (e == SSL_ERROR_SSL)
			ossl_err(p->f.error, sizeof(p->f.error));
		else
			snprintf(p->f.error, sizeof(p->f.error), "the server closed the connection "
			         "during the handshake");
		goto out;
	}
	collect_tls(p, ssl);
	p->f.stage = PROBE_ST_HTTP;
	if (http_exchange(p, ssl) == 0)
		p->f.stage = PROBE_ST_DONE;
	if (p->f.stage == PROBE_ST_DONE)
		SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	ERR_clear_error();
}

/* ---- the report ---- */

#define KEY_WIDTH 16

/* Bytes from the network or the certificates: control bytes, DEL and
 * '\' as \xHH. */
static void put_esc(FILE *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

static void line(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line(const char *key, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	size_t klen = strlen(key);
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
	printf("%s:%*s", key, klen + 1 < KEY_WIDTH ? (int)(KEY_WIDTH - klen - 1) : 1, "");
	put_esc(stdout, buf, strlen(buf));
	putchar('\n');
}

static const char *verify_text(const struct probe *p)
{
	if (!p->tls_up || p->nserver == 0)
		return "no server certificate";
	if (p->server_verify == X509_V_OK)
		return p->o->ca ? "yes (against --ca)" : "yes (against the system's CAs)";
	return X509_verify_cert_error_string(p->server_verify);
}

static void report_text(const struct probe *p, const char *diag)
{
	char when[40];
	int i;

	line("url", "%s", p->o->url);
	if (p->addr[0])
		line("tcp", "%s %s", p->addr, p->f.stage > PROBE_ST_TCP ? "connected" : "failed");
	if (p->tls_up) {
		line("tls", "%s, %s%s%s", p->tls_version, p->cipher, p->alpn[0] ? ", ALPN " : "", p->alpn);
		for (i = 0; i < p->nserver; i++) {
			cert_time_iso8601(p->server[i].not_after, when, sizeof(when));
			line("server_cert", "%d: %s (issuer %s), expires %s (%lld days)", i,
			     p->server[i].subject, p->server[i].issuer, when,
			     cert_days_until(p->server[i].not_after, p->now));
		}
		line("server_verify", "%s", verify_text(p));
	}
	if (p->f.stage > PROBE_ST_TLS || p->tls_up || p->f.cert_requested) {
		if (!p->f.cert_requested) {
			line("cert_request", "no: the server did not ask for a client certificate");
		} else {
			line("cert_request", "yes, %d acceptable CA name%s", p->f.nca_names,
			     p->f.nca_names == 1 ? "" : "s");
			for (i = 0; i < p->f.nca_names && i < PROBE_MAX_CA_NAMES; i++)
				line("acceptable_ca", "%s", p->ca_names[i]);
			if (p->f.nca_names > PROBE_MAX_CA_NAMES)
				line("acceptable_ca", "... %d more", p->f.nca_names - PROBE_MAX_CA_NAMES);
			if (p->f.nca_names == 0)
				line("chain_match", "the server listed no CA names (any certificate may do)");
			else if (p->f.ca_match)
				line("chain_match", "yes: your chain leads to %s",
				     p->ca_match_idx < PROBE_MAX_CA_NAMES ? p->ca_names[p->ca_match_idx] : "one of them");
			else
				line("chain_match", "NO: your certificate's issuer %s is not among them (most "
				     "clients that choose by this list send no certificate; probe sent it anyway)",
				     p->f.client_issuer);
		}
	}
	cert_time_iso8601(p->leaf_facts.not_after, when, sizeof(when));
	if (p->f.cert_sent)
		line("sent", "%s (sha256 %s, expires %s, %lld days) + %d chain certificate%s",
		     p->leaf_facts.subject, p->leaf_facts.sha256_hex, when,
		     cert_days_until(p->leaf_facts.not_after, p->now), sk_X509_num(p->chain),
		     sk_X509_num(p->chain) == 1 ? "" : "s");
	else
		line("sent", "nothing: %s", p->f.cert_requested ? "the certificate could not be used"
		     : p->f.stage <= PROBE_ST_TCP ? "not connected" : "the server did not ask");
	if (p->f.alert)
		line("tls_alert", "%s (%d)%s", p->f.alert_desc, p->f.alert_code,
		     p->f.alert_after_handshake ? ", after the handshake (TLS 1.3)" : "");
	if (p->f.status) {
		line("http_status", "%d", p->f.status);
		for (i = 0; i < p->http.nhdrs; i++)
			if (strcmp(p->http.hdrs[i].name, "x-certspoa-trace") != 0)
				line("header", "%s: %s", p->http.hdrs[i].name, p->http.hdrs[i].value);
		if (p->http.body_len) {
			size_t n = p->http.body_len;

			while (n && (p->http.body[n - 1] == '\n' || p->http.body[n - 1] == '\r'))
				n--;
			if (n > PROBE_BODY_SHOW)
				n = PROBE_BODY_SHOW;
			printf("body:%*s", KEY_WIDTH - 5, "");
			put_esc(stdout, p->http.body, n);
			if (n < p->http.body_len && p->http.body_len - n > 2)
				printf("...");
			putchar('\n');
		}
		if (p->f.trace[0])
			line("trace", "%s", p->f.trace);
		else if (p->o->secret)
			line("trace", "(none: the agent's trace_secret differs, or the frontend does not "
			     "return X-Certspoa-Trace)");
	}
	if (p->f.stage != PROBE_ST_DONE && p->f.error[0])
		line("error", "%s", p->f.error);
	line("diagnosis", "%s", diag);
}

static void json_str(FILE *out, const char *s, size_t n)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_s(const char *s)
{
	json_str(stdout, s, strlen(s));
}

static void report_json(const struct probe *p, const char *diag, enum probe_diag_id id)
{
	char when[40];
	int i;

	printf("{\"url\":");
	json_s(p->o->url);
	printf(",\"tcp\":{\"address\":");
	json_s(p->addr);
	printf(",\"connected\":%s}", p->f.stage > PROBE_ST_TCP ? "true" : "false");
	printf(",\"tls\":{\"ok\":%s", p->tls_up ? "true" : "false");
	if (p->tls_up) {
		printf(",\"version\":");
		json_s(p->tls_version);
		printf(",\"cipher\":");
		json_s(p->cipher);
		printf(",\"alpn\":");
		json_s(p->alpn);
		printf(",\"server_verify\":");
		json_s(verify_text(p));
		printf(",\"server_chain\":[");
		for (i = 0; i < p->nserver; i++) {
			cert_time_iso8601(p->server[i].not_after, when, sizeof(when));
			printf("%s{\"subject\":", i ? "," : "");
			json_s(p->server[i].subject);
			printf(",\"issuer\":");
			json_s(p->server[i].issuer);
			printf(",\"not_after\":\"%s\",\"days_left\":%lld}", when,
			       cert_days_until(p->server[i].not_after, p->now));
		}
		printf("]");
	}
	if (p->f.alert) {
		printf(",\"alert\":");
		json_s(p->f.alert_desc);
		printf(",\"alert_code\":%d,\"alert_after_handshake\":%s", p->f.alert_code,
		       p->f.alert_after_handshake ? "true" : "false");
	}
	printf("},\"cert_request\":{\"seen\":%s,\"ca_names\":[", p->f.cert_requested ? "true" : "false");
	for (i = 0; i < p->f.nca_names && i < PROBE_MAX_CA_NAMES; i++) {
		if (i)
			putchar(',');
		json_s(p->ca_names[i]);
	}
	printf("],\"ca_names_total\":%d,\"chain_matches\":%s}", p->f.nca_names,
	       !p->f.cert_requested || p->f.nca_names == 0 ? "null" : p->f.ca_match ? "true" : "false");
	cert_time_iso8601(p->leaf_facts.not_after, when, sizeof(when));
	printf(",\"client_cert\":{\"subject\":");
	json_s(p->leaf_facts.subject);
	printf(",\"issuer\":");
	json_s(p->leaf_facts.issuer);
	printf(",\"sha256\":\"%s\",\"not_after\":\"%s\",\"chain_certs\":%d,\"sent\":%s}",
	       p->leaf_facts.sha256_hex, when, sk_X509_num(p->chain), p->f.cert_sent ? "true" : "false");
	printf(",\"http\":");
	if (!p->f.status) {
		printf("null");
	} else {
		printf("{\"status\":%d,\"headers\":{", p->f.status);
		for (i = 0; i < p->http.nhdrs; i++) {
			if (i)
				putchar(',');
			json_s(p->http.hdrs[i].name);
			putchar(':');
			json_s(p->http.hdrs[i].value);
		}
		printf("},\"body\":");
		json_str(stdout, p->http.body, p->http.body_len > PROBE_BODY_SHOW ? PROBE_BODY_SHOW : p->http.body_len);
		printf(",\"code\":");
		json_s(p->f.code);
		printf(",\"rule\":");
		json_s(p->f.rule);
		printf(",\"detail\":");
		json_s(p->f.detail);
		printf(",\"trace\":");
		json_s(p->f.trace);
		printf("}");
	}
	printf(",\"error\":");
	json_s(p->f.stage == PROBE_ST_DONE ? "" : p->f.error);
	printf(",\"diagnosis_id\":\"%s\",\"diagnosis\":", probe_diag_table[id].name);
	json_s(diag);
	printf(",\"exit\":%d}\n", probe_diag_table[id].exit_code);
}

/* ---- main ---- */

static int parse_args(int argc, char **argv, struct probe_opts *o)
{
	static const struct option longopts[] = {
		{ "cert",         required_argument, NULL, 'c' },
		{ "key",          required_argument, NULL, 'k' },
		{ "chain",        required_argument, NULL, 'C' },
		{ "ca",           required_argument, NULL, 'a' },
		{ "sni",          required_argument, NULL, 's' },
		{ "trace-secret", required_argument, NULL, 't' },
		{ "tls-max",      required_argument, NULL, 'T' },
		{ "timeout",      required_argument, NULL, 'w' },
		{ "json",         no_argument,       NULL, 'j' },
		{ "help",         no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	long v;
	int opt;
	size_t i;

	o->timeout = 10;
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'C': o->chain = optarg; break;
		case 'a': o->ca = optarg; break;
		case 's': o->sni = optarg; break;
		case 'j': o->json = 1; break;
		case 't':
			o->secret = optarg;
			if (strlen(optarg) > PROBE_SECRET_MAX) {
				fprintf(stderr, "certspoa probe: --trace-secret longer than %d bytes\n",
				        PROBE_SECRET_MAX);
				return -1;
			}
			for (i = 0; optarg[i]; i++)
				if ((unsigned char)optarg[i] < 0x20 || optarg[i] == 0x7f) {
					fprintf(stderr, "certspoa probe: --trace-secret has a control character\n");
					return -1;
				}
			break;
		case 'T':
			if (strcmp(optarg, "1.2") == 0) {
				o->tls_max = TLS1_2_VERSION;
			} else if (strcmp(optarg, "1.3") == 0) {
				o->tls_max = TLS1_3_VERSION;
			} else {
				fprintf(stderr, "certspoa probe: --tls-max is 1.2 or 1.3\n");
				return -1;
			}
			break;
		case 'w':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 300) {
				fprintf(stderr, "certspoa probe: --timeout is 1 to 300 seconds\n");
				return -1;
			}
			o->timeout = (int)v;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1 || !o->cert) {
		fprintf(stderr, "certspoa probe: %s\n", optind != argc - 1 ? "give exactly one URL"
		        : "--cert is required");
		usage(stderr);
		return -1;
	}
	o->url = argv[optind];
	return 0;
}

int probe_main(int argc, char **argv)
{
	struct probe_opts o = { 0 };
	struct probe *p;
	OSSL_PROVIDER *legacy = NULL;
	char err[256], diag[PROBE_SENTENCE_MAX];
	enum probe_diag_id id;
	int r, rc = PROBE_EXIT_BROKEN;

	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : PROBE_EXIT_USAGE;
	if (!(p = calloc(1, sizeof(*p)))) {
		fprintf(stderr, "certspoa probe: out of memory\n");
		return PROBE_EXIT_BROKEN;
	}
	p->o = &o;
	p->ca_match_idx = -1;
	p->server_verify = -1;
	p->now = (int64_t)time(NULL);
	signal(SIGPIPE, SIG_IGN);
	if (parse_url(o.url, &p->u, err, sizeof(err)) < 0) {
		fprintf(stderr, "certspoa probe: %s: %s\n", o.url, err);
		rc = PROBE_EXIT_USAGE;
		goto out;
	}
	/* PKCS#12 files from older tools use RC2 and 3DES; harmless if absent */
	legacy = OSSL_PROVIDER_try_load(NULL, "legacy", 1);
	ERR_clear_error();
	if (load_client(p) < 0)
		goto out;
	run_probe(p);
	id = probe_diagnose(&p->f, diag, sizeof(diag));
	if (o.json)
		report_json(p, diag, id);
	else
		report_text(p, diag);
	rc = probe_diag_table[id].exit_code;
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = PROBE_EXIT_BROKEN;
out:
	if (legacy)
		OSSL_PROVIDER_unload(legacy);
	X509_free(p->leaf);
	EVP_PKEY_free(p->key);
	sk_X509_pop_free(p->chain, X509_free);
	probe_http_free(&p->http);
	free(p);
	return rc;
}
