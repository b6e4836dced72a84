/* The CRL disk cache in state_dir, read side (see crl-cache.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "cert.h"
#include "cfg.h"
#include "crl-cache.h"
#include "errbuf.h"
#include "lists.h"

char *crl_cache_read_small(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n == 0 || n > max) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int crl_cache_each(const char *dir, size_t max, crl_cache_fn fn, void *arg,
                   char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;

	if (!(d = opendir(dir))) {
		set_err(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096], why[192] = "";
		size_t n = strlen(de->d_name), ulen = 0, dlen = 0;
		char *url = NULL, *der = NULL;
		X509_CRL *crl = NULL;
		struct stat sb;

		if (n < 9 || strncmp(de->d_name, "crl-", 4) != 0 || strcmp(de->d_name + n - 4, ".url") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    !(url = crl_cache_read_small(path, CERT_CDP_URL_MAX, &ulen)) || strlen(url) != ulen)
			goto next;
		if (cfg_url_cache_path(dir, "crl", url, "der", path, sizeof(path)) < 0 ||
		    stat(path, &sb) == -1 || !(der = crl_cache_read_small(path, max, &dlen))) {
			fn(arg, url, NULL, 0, "the copy (.der) is missing, empty or too large");
			goto next;
		}
		crl = cert_crl_parse(der, dlen, why, sizeof(why));
		fn(arg, url, crl, (int64_t)sb.st_mtime, crl ? NULL : why);
next:
		X509_CRL_free(crl);
		free(url);
		free(der);
	}
	closedir(d);
	return 0;
}

int crl_cache_check(const struct config *cfg, X509_CRL *crl, int64_t now,
                    char *why, size_t whylen)
{
	X509 *iss = NULL;
	int rc;

	for (const struct policy *p = cfg->policies; p && !iss; p = p->next)
		iss = cert_store_crl_issuer(p->store, crl);
	if (!iss) {
		set_err(why, whylen, "not signed by a CA of the policies' stores (bad CRL signature or unknown issuer)");
		return -1;
	}
	rc = cert_crl_check(crl, iss, now, 60, why, whylen);
	X509_free(iss);
	return rc;
}

struct wanted {
	const char *url;
	int found;
};

static int match_url(void *arg, const char *item, size_t len, char *err, size_t errlen)
{
	struct wanted *w = arg;

	(void)err;
	(void)errlen;
	if (strlen(w->url) == len && memcmp(w->url, item, len) == 0)
		w->found = 1;
	return 0;
}

int crl_cache_wanted(const struct config *cfg, const char *url)
{
	struct wanted w = { url, 0 };
	char err[256];

	if (cfg->crl_fetch == CRL_FETCH_CDP)
		return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
	if (cfg->crl_urls && list_foreach(cfg->crl_urls, 0, match_url, &w, NULL, err, sizeof(err)) < 0)
		return 0;
	return w.found;
}
