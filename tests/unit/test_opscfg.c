/* Operator-facing config checks (issue 16): addresses validated in full at
 * -c, every narrowed integer range-checked, errors that say what to write
 * (allowed values, "did you mean"), list files that report every bad line,
 * and an allow list that is empty after comments refused at load. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cfg.h"
#include "lists.h"
#include "testcfg.h"
#include "testhelp.h"

static char *tmp_write(const char *text)
{
	static char path[8][64];
	static int next;
	char *p = path[next++ % 8];
	int fd;
	FILE *f;

	snprintf(p, 64, "/tmp/certspoa-opscfg-XXXXXX");
	fd = mkstemp(p);
	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		return NULL;
	}
	fputs(text, f);
	fclose(f);
	return p;
}

/* text must be refused with ":LINE: KEY: " and every one of the
 * substrings (NULL-terminated). */
static void refused_(int at, const char *text, int line, const char *key, ...)
{
	char err[4096], want[128];
	struct config *cfg = test_cfg_text(text, err, sizeof(err));
	const char *what;
	va_list ap;

	if (cfg) {
		unit_fail(__FILE__, at, "accepted: %s", text);
		cfg_free(cfg);
		return;
	}
	snprintf(want, sizeof(want), ":%d: %s: ", line, key);
	if (!strstr(err, want))
		unit_fail(__FILE__, at, "error '%s' lacks '%s'", err, want);
	va_start(ap, key);
	while ((what = va_arg(ap, const char *)))
		if (!strstr(err, what))
			unit_fail(__FILE__, at, "error '%s' lacks '%s'", err, what);
	va_end(ap);
}
#define REFUSED(text, line, key, ...) refused_(__LINE__, text, line, key, __VA_ARGS__, (const char *)NULL)

static void accepted_(int at, const char *text)
{
	char err[4096];
	struct config *cfg = test_cfg_text(text, err, sizeof(err));

	if (!cfg)
		unit_fail(__FILE__, at, "refused: %s: %s", text, err);
	cfg_free(cfg);
}
#define ACCEPTED(text) accepted_(__LINE__, text)

/* ---- item 2: addresses ---- */

TEST(opscfg_listen_port_above_65535_is_refused)
{
	/* was accepted, and bound port 93345 % 65536 = 27809 */
	REFUSED("[agent]\nlisten = 127.0.0.1:93345\n", 2, "listen", "port 93345 is out of range [0, 65535]");
	REFUSED("[agent]\nlisten = 127.0.0.1:65536\n", 2, "listen", "out of range");
	REFUSED("[agent]\nlisten = [::1]:100000\n", 2, "listen", "out of range");
	REFUSED("[agent]\nlisten = 127.0.0.1:0000065535\n", 2, "listen", "out of range");
	ACCEPTED("[agent]\nlisten = 127.0.0.1:65535\n");
	ACCEPTED("[agent]\nlisten = 127.0.0.1:0\n");
}

TEST(opscfg_listen_without_host_is_refused)
{
	/* was accepted by -c, and failed only at start */
	REFUSED("[agent]\nlisten = 28347\n", 2, "listen", "has no host", "127.0.0.1:28347");
	REFUSED("[agent]\nlisten = localhost\n", 2, "listen", "HOST:PORT");
	REFUSED("[agent]\nlisten = 127.0.0.1:\n", 2, "listen", "no port");
	REFUSED("[agent]\nlisten = 127.0.0.1:http\n", 2, "listen", "not a number");
	REFUSED("[agent]\nlisten = 127.0.0.1:-1\n", 2, "listen", "not a number");
	REFUSED("[agent]\nlisten = 127.0.0.1: 80\n", 2, "listen", "not a number");
}

TEST(opscfg_listen_bad_hosts_are_refused)
{
	static const char *const bad[] = {
		"bad_host:80", "999.1.1.1:80", "1.2.3:80", "-lead.example:80", "trail-.example:80",
		"a..b:80", "::1:80", "[::1:80", "[::g]:80", "[]:80", "[1.2.3.4]:80", "h ost:80",
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[agent]\nlisten = 127.0.0.1:1\nlisten = %s\n", bad[i]);
		REFUSED(text, 3, "listen", bad[i]);
	}
	ACCEPTED("[agent]\nlisten = localhost:80\nlisten = [::1]:80\nlisten = *:80\nlisten = :80\n"
	         "listen = agent-1.example.com:80\nlisten = 10.0.0.1:80\n");
}

TEST(opscfg_unix_path_longer_than_sun_path_is_refused)
{
	char text[400], path[200];

	/* 107 characters fit sockaddr_un's 108 with the NUL; 108 do not */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[ADDR_UNIX_PATH_MAX] = 0;
	snprintf(text, sizeof(text), "[agent]\nlisten = unix:%s\n", path);
	ACCEPTED(text);
	path[ADDR_UNIX_PATH_MAX] = 'a';
	path[ADDR_UNIX_PATH_MAX + 1] = 0;
	snprintf(text, sizeof(text), "[agent]\nlisten = unix:%s\n", path);
	REFUSED(text, 2, "listen", "108 characters: at most 107");
	snprintf(text, sizeof(text), "[agent]\nlisten = %s\n", path);
	REFUSED(text, 2, "listen", "at most 107");
	REFUSED("[agent]\nlisten = unix:\n", 2, "listen", "empty unix socket path");
}

TEST(opscfg_stats_listen_is_an_address_too)
{
	REFUSED("[stats]\nlisten = 127.0.0.1:70000\n", 2, "listen", "out of range");
	REFUSED("[stats]\nlisten = 9100\n", 2, "listen", "has no host");
	REFUSED("[agent]\n\n[stats]\nlisten = not_a_host:9100\n", 4, "listen", "neither");
	ACCEPTED("[stats]\nlisten = 127.0.0.1:9100\n");
	ACCEPTED("[stats]\nlisten = unix:/run/certspoa-stats.sock\n");
}

TEST(opscfg_trusted_proxies_cidrs_are_checked)
{
	REFUSED("[forwarded]\ntrusted_proxies = 10.0.0.0/33\n", 2, "trusted_proxies", "10.0.0.0/33");
	REFUSED("[forwarded]\ntrusted_proxies = 10.0.0.1/8\n", 2, "trusted_proxies", "host bits");
	REFUSED("[forwarded]\ntrusted_proxies = 10.0.0.0/8, 300.0.0.1\n", 2, "trusted_proxies", "300.0.0.1");
	REFUSED("[forwarded]\ntrusted_proxies = ::1/129\n", 2, "trusted_proxies", "::1/129");
	ACCEPTED("[forwarded]\ntrusted_proxies = 10.0.0.0/8, ::1, 192.168.1.7\n");
}

TEST(opscfg_addr_check_direct)
{
	char err[256];

	CHECK_EQ_INT(addr_check("127.0.0.1:1", err, sizeof(err)), 0);
	CHECK_EQ_INT(addr_check("[fe80::1]:65535", err, sizeof(err)), 0);
	CHECK_EQ_INT(addr_check("/run/x.sock", err, sizeof(err)), 0);
	CHECK_EQ_INT(addr_check("127.0.0.1:65536", err, sizeof(err)), -1);
	CHECK(strstr(err, "out of range") != NULL);
	CHECK_EQ_INT(addr_check("", err, sizeof(err)), -1);
	CHECK_EQ_INT(addr_check("1.2.3.4.5:80", err, sizeof(err)), -1);
	CHECK_EQ_INT(addr_check("127.0.0.1:+80", err, sizeof(err)), -1);
	CHECK_EQ_INT(addr_check("127.0.0.1:0x50", err, sizeof(err)), -1);
	CHECK_EQ_INT(addr_check("[::1]", err, sizeof(err)), -1);
	CHECK(strstr(err, "needs [IPV6]:PORT") != NULL);
	CHECK_EQ_INT(addr_check("[::1]:", err, sizeof(err)), -1);
	CHECK(strstr(err, "no port") != NULL);
}

/* ---- item 2: every integer that is narrowed to an int is range-checked,
 * one row per numeric key ---- */

TEST(opscfg_every_numeric_key_refuses_out_of_range)
{
	static const struct { const char *sec, *key, *val; } bad[] = {
		{ "agent", "threads", "65" },
		{ "agent", "threads", "4294967297" },          /* would wrap to 1 */
		{ "agent", "max_frame_size", "255" },
		{ "agent", "max_frame_size", "4294967552" },   /* would wrap to 256 */
		{ "agent", "max_message_size", "16777217" },
		{ "agent", "max_connections", "0" },
		{ "agent", "max_connections", "9223372036854775807" },
		{ "agent", "max_connections", "9223372036854775808" },
		{ "agent", "cache_size", "4194305" },
		{ "agent", "cache_size", "-1" },
		{ "agent", "hello_timeout", "0" },
		{ "agent", "hello_timeout", "2h" },
		{ "agent", "idle_timeout", "25h" },
		{ "agent", "idle_timeout", "4294967297ms" },    /* would wrap to 1 ms */
		{ "agent", "shutdown_timeout", "11m" },
		{ "agent", "reload_watch", "2d" },
		{ "agent", "reload_watch", "99999999999999999d" },
		{ "agent", "socket_mode", "01777" },
		{ "agent", "socket_mode", "0800" },
		{ "policy default", "min_rsa_bits", "16385" },
		{ "policy default", "max_lifetime_days", "36501" },
		{ "policy default", "warn_days", "3651" },
		{ "policy default", "max_sans", "0" },
		{ "policy default", "max_depth", "33" },
		{ "policy default", "clock_skew", "8d" },
		{ "policy default", "deny_status", "399" },
		{ "policy default", "deny_status", "600" },
		{ "policy default", "deny_status", "4294967699" }, /* would wrap to 403 */
	};
	char text[256], err[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", bad[i].sec, bad[i].key, bad[i].val);
		cfg = test_cfg_text(text, err, sizeof(err));
		if (cfg) {
			unit_fail(__FILE__, __LINE__, "[%s] %s = %s accepted", bad[i].sec, bad[i].key, bad[i].val);
			cfg_free(cfg);
		} else if (!strstr(err, bad[i].key)) {
			unit_fail(__FILE__, __LINE__, "'%s' does not name %s", err, bad[i].key);
		}
	}
}

/* ---- item 9: errors that help ---- */

TEST(opscfg_enum_error_lists_the_allowed_values)
{
	REFUSED("[policy default]\nverify = xx\n", 2, "verify", "'xx' is not one of: haproxy, agent, both");
	REFUSED("[agent]\nlog_level = verbose\n", 2, "log_level", "is not one of: error, warn, info, debug");
	REFUSED("[policy default]\nmode = audit\n", 2, "mode", "enforce, shadow");
	REFUSED("[forwarded]\ntrusted_proxies = 10.0.0.1\nformat = pem\n", 3, "format", "rfc9440, xfcc");
}

TEST(opscfg_unknown_key_did_you_mean)
{
	REFUSED("[policy default]\nverfy = agent\n", 2, "verfy", "did you mean 'verify'?");
	REFUSED("[agent]\nlisen = 127.0.0.1:1\n", 2, "lisen", "did you mean 'listen'?");
	REFUSED("[agent]\nidle_timout = 1s\n", 2, "idle_timout", "did you mean 'idle_timeout'?");
	REFUSED("[policy default]\nallow_thumbprint = ab\n", 2, "allow_thumbprint", "did you mean 'allow_thumbprints'?");
	/* a key of another section says where it belongs */
	REFUSED("[policy default]\nthreads = 2\n", 2, "threads", "it belongs in [agent]");
	REFUSED("[agent]\ntrusted_proxies = 10.0.0.1\n", 2, "trusted_proxies", "belongs in [forwarded]");
	/* nothing close: no guess */
	REFUSED("[agent]\nfrobnicate = 1\n", 2, "frobnicate", "unknown key in [agent]");
	{
		char err[1024];
		struct config *cfg = test_cfg_text("[agent]\nfrobnicate = 1\n", err, sizeof(err));

		CHECK(cfg == NULL);
		CHECK(strstr(err, "did you mean") == NULL);
		cfg_free(cfg);
	}
}

TEST(opscfg_unknown_section_did_you_mean)
{
	char err[1024];
	struct config *cfg;

	cfg = test_cfg_text("[polcy default]\nverify = agent\n", err, sizeof(err));
	CHECK(cfg == NULL);
	cfg_free(cfg);
	CHECK(strstr(err, ":1: unknown section [polcy default]: did you mean [policy NAME]?") != NULL);
	cfg = test_cfg_text("[agnet]\nthreads = 2\n", err, sizeof(err));
	CHECK(cfg == NULL);
	cfg_free(cfg);
	CHECK(strstr(err, "unknown section [agnet]: did you mean [agent]?") != NULL);
	/* nothing close: every section is named */
	cfg = test_cfg_text("[frobnicate]\n", err, sizeof(err));
	CHECK(cfg == NULL);
	cfg_free(cfg);
	CHECK(strstr(err, "unknown section [frobnicate] (sections: [agent], [stats], [forwarded], "
	                  "[route NAME], [policy NAME])") != NULL);
}

TEST(opscfg_bool_error_lists_the_values)
{
	REFUSED("[agent]\nfragmentation = maybe\n", 2, "fragmentation", "'maybe' is not one of: yes, no");
}

TEST(opscfg_list_file_reports_every_bad_line)
{
	char text[512], err[4096];
	char *list = tmp_write("# clients\n"
	                       "zz\n"
	                       "0123456789abcdef0123456789abcdef01234567\n"
	                       "nothex\n"
	                       "\n"
	                       "12\n");
	struct config *cfg;

	CHECK(list != NULL);
	snprintf(text, sizeof(text), "[policy default]\nallow_thumbprints = @%s\n", list);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	cfg_free(cfg);
	/* the first as before, then every other one */
	CHECK(strstr(err, ":2: allow_thumbprints: ") != NULL);
	CHECK(strstr(err, ":2: 'zz' is not") != NULL);
	CHECK(strstr(err, "; line 4: 'nothex'") != NULL);
	CHECK(strstr(err, "; line 6: '12'") != NULL);
	CHECK(strstr(err, "line 3") == NULL);
	CHECK(strstr(err, "more") == NULL);
	unlink(list);
}

TEST(opscfg_list_file_caps_the_bad_lines_shown)
{
	char text[512], err[8192], body[4096] = "", want[64];
	size_t n = 0;
	char *list;
	struct config *cfg;

	for (int i = 1; i <= LIST_ERRORS_SHOWN + 7; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "bad%d\n", i);
	list = tmp_write(body);
	CHECK(list != NULL);
	snprintf(text, sizeof(text), "[policy default]\ndeny_thumbprints = @%s\n", list);
	cfg = test_cfg_text(text, err, sizeof(err));
	CHECK(cfg == NULL);
	cfg_free(cfg);
	snprintf(want, sizeof(want), "; line %d: 'bad%d'", LIST_ERRORS_SHOWN, LIST_ERRORS_SHOWN);
	CHECK(strstr(err, want) != NULL);
	snprintf(want, sizeof(want), "'bad%d'", LIST_ERRORS_SHOWN + 1);
	CHECK(strstr(err, want) == NULL);
	snprintf(want, sizeof(want), "and 7 more (%d bad lines in all)", LIST_ERRORS_SHOWN + 7);
	if (!strstr(err, want))
		unit_fail(__FILE__, __LINE__, "'%s' lacks '%s'", err, want);
	unlink(list);
}

TEST(opscfg_empty_allow_list_is_an_error)
{
	char text[512];
	char *empty = tmp_write("# nobody trusted yet\n\n   ; still nobody\n");

	CHECK(empty != NULL);
	if (!empty)
		return;
	/* was loaded, and then denied every client (cert_untrusted) */
	snprintf(text, sizeof(text), "[policy default]\nallow_thumbprints = @%s\n", empty);
	REFUSED(text, 2, "allow_thumbprints", "holds no entry", "would deny everyone");
	snprintf(text, sizeof(text), "[policy default]\nthumbprints = %s\n", empty);
	REFUSED(text, 2, "thumbprints", "holds no entry");
	snprintf(text, sizeof(text), "[policy default]\nallow_cn = @%s\n", empty);
	REFUSED(text, 2, "allow_cn", "holds no entry");
	snprintf(text, sizeof(text), "[policy default]\nallow_spiffe = @%s\n", empty);
	REFUSED(text, 2, "allow_spiffe", "holds no entry");
	REFUSED("[policy default]\nallow_cn = , ,\n", 2, "allow_cn", "holds no entry");
	/* an empty deny list denies nobody: unchanged, accepted */
	snprintf(text, sizeof(text), "[policy default]\ndeny_thumbprints = @%s\ndeny_cn = @%s\n", empty, empty);
	ACCEPTED(text);
	unlink(empty);
}
