/* A config from INI text, for the unit tests: the text goes to a temporary
 * file, cfg_load() reads it, the file is removed. One copy of what the test
 * files used to repeat each on their own. */
#ifndef CERTSPOA_TESTCFG_H
#define CERTSPOA_TESTCFG_H

#include <stddef.h>

#include "cfg.h"

/* The temporary file's mkstemp template. cfg_load's errors start with the
 * file's name, so a test may check for this prefix (test_cfg does). */
#define TEST_CFG_TEMPLATE "/tmp/certspoa-cfg-XXXXXX"

/* The config, or NULL with the reason in err (cfg_load's message, or why
 * the temporary file could not be written). err may be NULL. */
struct config *test_cfg_text(const char *text, char *err, size_t errlen);

/* The same with the text formatted first (any length). */
struct config *test_cfg_textf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* CERTSPOA_TESTCFG_H */
