/* Reading certificates from files for the command line (inspect,
 * explain, probe): PEM, DER and PKCS#12, the PKCS#12 password from the
 * environment or asked on the terminal. Never used by the agent's
 * message path. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "errbuf.h"
#include "cert-file.h"

#define CERT_FILE_MAX  (16 * 1024 * 1024)   /* bigger is not a certificate file */
#define CERT_PASS_MAX  1024

static const char *cert_ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	return why ? why : "unknown error";
}

static int read_whole(const char *path, unsigned char **buf, size_t *len,
                      char *err, size_t errlen)
{
	unsigned char *b = NULL, *nb;
	size_t n = 0, cap = 0;
	struct stat sb;
	ssize_t r;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "%s: %s", path, strerror(EISDIR));
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= CERT_FILE_MAX) {
				set_err(err, errlen, "%s: larger than %d MB: not a certificate file",
				        path, CERT_FILE_MAX >> 20);
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			if (!(nb = realloc(b, cap))) {
				set_err(err, errlen, "%s: out of memory", path);
				goto out;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

/* Read a password from the controlling terminal without echo. -1 when
 * there is no terminal. */
static int read_tty_password(const char *path, char *pw, size_t pwlen)
{
	struct termios old, quiet;
	size_t n = 0;
	ssize_t r;
	char c;
	int fd, rc = -1;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (tcgetattr(fd, &old) == -1)
		goto out;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (dprintf(fd, "PKCS#12 password for %s: ", path) < 0 ||
	    tcsetattr(fd, TCSAFLUSH, &quiet) == -1)
		goto out;
	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r != 1 || c == '\n' || c == '\r')
			break;
		if (n + 1 < pwlen)
			pw[n++] = c;
	}
	pw[n] = '\0';
	tcsetattr(fd, TCSAFLUSH, &old);
	rc = r == -1 ? -1 : 0;
out:
	close(fd);
	return rc;
}

/* Keep x in out[] while there is room; the rest are freed (read, not
 * returned). */
static void push_cert(X509 *x, X509 **out, int max, int *n)
{
	if (*n >= max) {
		X509_free(x);
		return;
	}
	out[(*n)++] = x;
}

/* The certificates of a PEM file in memory into out[0..*nout) (at least
 * one). Returns 0, or -1 with err set and nothing in out. */
static int read_pem(const char *path, const unsigned char *buf, size_t len,
                    X509 **out, int max, int *nout, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	unsigned long e;
	X509 *x;
	int n = 0, seen = 0;

	if (!bio) {
		set_err(err, errlen, "%s: out of memory", path);
		return -1;
	}
	/* other PEM blocks (keys, CRLs) are skipped */
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL) {
		seen++;
		push_cert(x, out, max, &n);
	}
	BIO_free(bio);
	e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		set_err(err, errlen, "%s: bad PEM data after certificate #%d: %s",
		        path, seen, cert_ossl_reason());
		goto fail;
	}
	if (seen == 0) {
		set_err(err, errlen, "%s: PEM file without a CERTIFICATE block", path);
		goto fail;
	}
	*nout = n;
	return 0;
fail:
	while (n > 0)
		X509_free(out[--n]);
	return -1;
}

/* The certificates of a PKCS#12 file into out[0..*nout) (at least one),
 * the key's first; the key into *keyout when keyout is not NULL. Returns
 * 0, or -1 with err set and nothing in out. */
static int read_p12(const char *path, PKCS12 *p12, X509 **out, int max, int *nout,
                    EVP_PKEY **keyout, char *err, size_t errlen)
{
	char pw[CERT_PASS_MAX];
	const char *pass = getenv("CERTSPOA_P12_PASSWORD"), *from = "CERTSPOA_P12_PASSWORD";
	STACK_OF(X509) *ca = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *leaf = NULL;
	int n = 0, i, mac = PKCS12_mac_present(p12);

	pw[0] = '\0';
	if (!pass) {
		if (mac && !PKCS12_verify_mac(p12, NULL, 0) && !PKCS12_verify_mac(p12, "", 0)) {
			if (read_tty_password(path, pw, sizeof(pw)) < 0) {
				set_err(err, errlen, "%s: PKCS#12 file needs a password: set "
				        "CERTSPOA_P12_PASSWORD (no terminal to ask on)", path);
				goto fail;
			}
			from = "the one typed";
		}
		pass = pw;     /* "": PKCS12_parse tries no password and the empty one */
	}
	if (mac && *pass && !PKCS12_verify_mac(p12, pass, -1)) {
		set_err(err, errlen, "%s: wrong PKCS#12 password (%s)", path, from);
		goto fail;
	}
	if (!PKCS12_parse(p12, pass, &pkey, &leaf, &ca)) {
		set_err(err, errlen, "%s: cannot read PKCS#12: %s", path, cert_ossl_reason());
		goto fail;
	}
	if (leaf) {
		push_cert(leaf, out, max, &n);
		leaf = NULL;
	}
	for (i = 0; i < sk_X509_num(ca); i++)
		push_cert(sk_X509_value(ca, i), out, max, &n);
	sk_X509_free(ca);        /* its certificates are in out[] or freed */
	ca = NULL;
	if (n == 0) {
		set_err(err, errlen, "%s: PKCS#12 file without a certificate", path);
		goto fail;
	}
	if (keyout && pkey) {    /* certspoa probe: the client's key */
		EVP_PKEY_free(*keyout);
		*keyout = pkey;
	} else {
		EVP_PKEY_free(pkey); /* not ours to look at */
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	*nout = n;
	return 0;
fail:
	OPENSSL_cleanse(pw, sizeof(pw));
	EVP_PKEY_free(pkey);
	X509_free(leaf);
	sk_X509_pop_free(ca, X509_free);
	while (n > 0)
		X509_free(out[--n]);
	return -1;
}

int cert_read_file(const char *path, X509 **out, int max, char *err, size_t errlen)
{
	return cert_read_file_key(path, out, max, NULL, err, errlen);
}

int cert_read_file_key(const char *path, X509 **out, int max, EVP_PKEY **key,
                       char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	size_t len = 0;
	X509 *x;
	int n = -1, got = 0;

	ERR_clear_error();
	if (!path || !out || max <= 0) {
		set_err(err, errlen, "cert_read_file: bad arguments");
		return -1;
	}
	if (read_whole(path, &buf, &len, err, errlen) < 0)
		goto out;
	if (len == 0) {
		set_err(err, errlen, "%s: empty file", path);
		goto out;
	}
	/* DER: one certificate spanning the file exactly */
	p = buf;
	x = d2i_X509(NULL, &p, (long)len);
	if (x && p == buf + len) {
		out[0] = x;
		n = 1;
		goto out;
	}
	X509_free(x);
	p = buf;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	if (p12 && p == buf + len) {
		if (read_p12(path, p12, out, max, &got, key, err, errlen) == 0)
			n = got;
		goto out;
	}
	if (memmem(buf, len, "-----BEGIN ", 11)) {
		ERR_clear_error();   /* read_pem() judges the queue */
		if (read_pem(path, buf, len, out, max, &got, err, errlen) == 0)
			n = got;
		goto out;
	}
	set_err(err, errlen, "%s: not a certificate: neither PEM, DER (one certificate, "
	        "nothing after it) nor PKCS#12", path);
out:
	PKCS12_free(p12);
	if (buf)
		OPENSSL_cleanse(buf, len);   /* a PKCS#12 file holds a private key */
	free(buf);
	ERR_clear_error();
	return n;
}
