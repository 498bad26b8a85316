/* signals: blocking the daemons' signals and waiting for them. */
#include "base/signals.h"

#include <pthread.h>

#include "base/log.h"

void signals_setup(sigset_t *set)
{
	/* a shell may start us with SIGINT ignored; an ignored signal never reaches sigwait */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int signals_wait(const sigset_t *set, const struct signal_actions *actions)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			sig = SIGTERM;
		if (sig == SIGHUP) {
			log_info("event=sighup");
			if (actions && actions->reload)
				actions->reload(actions->arg);
		} else if (sig == SIGUSR1) {
			log_reopen();
		} else {
			break;
		}
	}
	log_info("event=stopping signal=%d", sig);
	return sig;
}
