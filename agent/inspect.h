/* certspoa inspect FILE [FILE...]: print, for every certificate in the
 * files (PEM, DER or PKCS#12), what a policy can match on, one
 * "key: value" per line. */
#ifndef CERTSPOA_INSPECT_H
#define CERTSPOA_INSPECT_H

/* argv[0] is "inspect". Returns a sysexits code: EX_OK, EX_USAGE,
 * EX_DATAERR (a file that is no certificate, or cannot be decrypted) or
 * EX_NOINPUT (a file that does not exist or cannot be opened). Every file
 * is tried; the code is that of the first failure. */
int inspect_main(int argc, char **argv);

#endif /* CERTSPOA_INSPECT_H */
