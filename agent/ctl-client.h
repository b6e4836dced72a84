/* `certspoa ctl`: the admin socket's command-line client. */
#ifndef CERTSPOA_CTL_CLIENT_H
#define CERTSPOA_CTL_CLIENT_H

/* certspoa ctl [-f|-c CONFIG | -S SOCKET] COMMAND...: send one command,
 * print the answer. Exit 0, 1 when the agent answered "error: ...",
 * 69 (EX_UNAVAILABLE) when it cannot be reached, 64 on usage errors. */
int ctl_client_main(int argc, char **argv);

#endif /* CERTSPOA_CTL_CLIENT_H */
