/* Config loader: values, defaults, and errors that name file:line: key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "testcfg.h"
#include "testhelp.h"
#include "testpki.h"

/* Expect an error mentioning ":LINE: KEY" and a substring. */
static void expect_error(const char *text, int line, const char *key, const char *what)
{
	char err[512], want[128];
	struct config *cfg = test_cfg_text(text, err, sizeof(err));

	CHECK(cfg == NULL);
	cfg_free(cfg);
	snprintf(want, sizeof(want), ":%d: %s", line, key);
	if (!strstr(err, want) || !strstr(err, what))
		unit_fail(__FILE__, __LINE__, "error '%s' lacks '%s' or '%s'", err, want, what);
	/* the error names the file: test_cfg_text's TEST_CFG_TEMPLATE */
	CHECK(strncmp(err, "/tmp/certspoa-cfg-", 18) == 0);
}

TEST(cfg_defaults)
{
	char err[256];
	struct config *cfg = test_cfg_text("[agent]\n", err, sizeof(err));

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(cfg->nlisten, 1);
	CHECK_EQ_STR(cfg->listen[0], "127.0.0.1:12345");
	CHECK_EQ_INT(cfg->max_frame_size, 16380);
	CHECK_EQ_INT(cfg->hello_timeout_ms, 5000);
	CHECK_EQ_INT(cfg->idle_timeout_ms, 600000);
	CHECK(cfg->default_policy != NULL);
	CHECK_EQ_STR(cfg->default_policy->name, "default");
	CHECK_EQ_INT(cfg->default_policy->require_cert, 1);
	CHECK_EQ_INT(cfg->default_policy->verify, VERIFY_HAPROXY);
	CHECK_EQ_INT(cfg->default_policy->deny_status, 403);
	CHECK(cfg->default_policy->thumbprints == NULL);
	cfg_free(cfg);
}

TEST(cfg_values_and_several_listeners)
{
	char err[256];
	struct config *cfg = test_cfg_text(
		"; comment\n"
		"[agent]\n"
		"listen = 127.0.0.1:0\n"
		"listen = unix:/tmp/x.sock   ; inline comment\n"
		"threads = 3\n"
		"max_frame_size = 65536\n"
		"hello_timeout = 250ms\n"
		"idle_timeout = 2m\n"
		"fragmentation = no\n"
		"[policy default]\n"
		"require_cert = no\n"
		"deny_status = 495\n", err, sizeof(err));

	CHECK(cfg != NULL);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ_INT(cfg->nlisten, 2);
	CHECK_EQ_STR(cfg->listen[0], "127.0.0.1:0");
	CHECK_EQ_STR(cfg->listen[1], "unix:/tmp/x.sock");
	CHECK_EQ_INT(cfg->threads, 3);
	CHECK_EQ_INT(cfg->max_frame_size, 65536);
	CHECK_EQ_INT(cfg->hello_timeout_ms, 250);
	CHECK_EQ_INT(cfg->idle_timeout_ms, 120000);
	CHECK_EQ_INT(cfg->fragmentation, 0);
	CHECK_EQ_INT(cfg->default_policy->require_cert, 0);
	CHECK_EQ_INT(cfg->default_policy->deny_status, 495);
	cfg_free(cfg);
}

TEST(cfg_errors_name_file_line_key)
{
	expect_error("[agent]\nthreads = lots\n", 2, "threads", "not an integer");
	expect_error("[agent]\n\nthreads = 65\n", 3, "threads", "out of range");
	expect_error("[agent]\nmax_frame_size = 100\n", 2, "max_frame_size", "out of range");
	expect_error("[agent]\nhello_timeout = 5 parsecs\n", 2, "hello_timeout", "not a duration");
	expect_error("[agent]\nbogus = 1\n", 2, "bogus", "unknown key");
	expect_error("[policy default]\nverify = maybe\n", 2, "verify", "is not one of: haproxy, agent, both");
	expect_error("[policy default]\nrequire_cert = perhaps\n", 2, "require_cert", "is not one of: yes, no");
	expect_error("[policy default]\ndeny_status = 200\n", 2, "deny_status", "out of range");
	expect_error("threads = 2\n", 1, "threads", "outside of any section");
	expect_error("[agnet]\nthreads = 2\n", 1, "", "unknown section [agnet]");
	expect_error("[policy a]\n[policy a]\n", 2, "", "defined twice");
	expect_error("[policy a]\n[policy b]\n", 2, "", "none is named 'default'");
	expect_error("[agent]\nthis line has no equals sign\n", 2, "", "syntax error");
	expect_error("[policy default]\nverify = agent\n", 1, "verify", "no ca_file");
	expect_error("[policy default]\nthumbprints = /nonexistent/list.txt\n", 2,
	             "thumbprints", "No such file");
	expect_error("[policy default]\nverify = agent\nca_file = /nonexistent/ca.pem\n", 3,
	             "ca_file", "");
}

TEST(cfg_long_line_is_an_error_not_truncated)
{
	char text[600];

	snprintf(text, sizeof(text), "[policy default]\nthumbprints = /tmp/%0400d\n", 0);
	expect_error(text, 2, "", "longer than");
}

TEST(cfg_missing_file)
{
	char err[256];
	struct config *cfg = cfg_load("/nonexistent/certspoa.ini", err, sizeof(err));

	CHECK(cfg == NULL);
	CHECK(strstr(err, "/nonexistent/certspoa.ini: No such file") != NULL);
}

TEST(cfg_loads_ca_and_thumbprints)
{
	EVP_PKEY *k = testpki_make_key();
	X509 *ca = testpki_make_cert("/CN=cfg test CA", k, NULL, NULL, 0, 4102444800LL, 1, NULL);
	char pem[128], list[] = "/tmp/certspoa-tp-XXXXXX", text[512], err[512];
	struct config *cfg;
	int fd;

	CHECK(ca != NULL && testpki_write_pem(&ca, 1, pem, sizeof(pem)) == 0);
	fd = mkstemp(list);
	CHECK(fd >= 0);
	CHECK(write(fd, "# two entries\nAB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01\n"
	                "0000000000000000000000000000000000000000000000000000000000000000\n", 139) == 139);
	close(fd);
	snprintf(text, sizeof(text), "[policy default]\nverify = both\nca_file = %s\nthumbprints = %s\n",
	         pem, list);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg != NULL);
	if (cfg) {
		CHECK(cfg->default_policy->store != NULL);
		CHECK(cfg->default_policy->thumbprints != NULL);
		CHECK_EQ_INT(cfg->default_policy->verify, VERIFY_BOTH);
	} else {
		fprintf(stderr, "  %s\n", err);
	}
	cfg_free(cfg);
	unlink(pem);
	unlink(list);
	X509_free(ca);
	EVP_PKEY_free(k);
}

TEST(cfg_duration_parser)
{
	long ms;

	CHECK(cfg_parse_duration("250", &ms) == 0 && ms == 250);
	CHECK(cfg_parse_duration("250ms", &ms) == 0 && ms == 250);
	CHECK(cfg_parse_duration("3s", &ms) == 0 && ms == 3000);
	CHECK(cfg_parse_duration("2m", &ms) == 0 && ms == 120000);
	CHECK(cfg_parse_duration("1h", &ms) == 0 && ms == 3600000);
	CHECK(cfg_parse_duration("", &ms) < 0);
	CHECK(cfg_parse_duration("-1s", &ms) < 0);
	CHECK(cfg_parse_duration("1d", &ms) == 0 && ms == 86400000);
	CHECK(cfg_parse_duration("1w", &ms) < 0);
	CHECK(cfg_parse_duration("s", &ms) < 0);
	CHECK(cfg_parse_duration("99999999999999999999", &ms) < 0);
}

TEST(cfg_example_config_loads_as_printed)
{
	char path[] = "/tmp/certspoa-example-XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct config *cfg;

	CHECK(f != NULL);
	if (!f)
		return;
	cfg_print_example(f);
	fclose(f);
	cfg = cfg_load(path, err, sizeof(err));
	if (!cfg)
		unit_fail(__FILE__, __LINE__, "example config does not load: %s", err);
	cfg_free(cfg);
	unlink(path);
}
