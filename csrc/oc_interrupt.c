#include "oc_interrupt.h"

#include <string.h>

static volatile sig_atomic_t interrupted;

/* The handler: notes the signal, nothing else (async-signal-safe). */
static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

void oc_interrupt_catch(oc_interrupt_guard *g)
{
    struct sigaction sa;
    interrupted = 0;
    g->armed = 0;
    if (sigaction(SIGINT, NULL, &g->old) != 0 || g->old.sa_handler == SIG_IGN)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    g->armed = sigaction(SIGINT, &sa, NULL) == 0;
}

void oc_interrupt_release(oc_interrupt_guard *g)
{
    if (!g->armed)
        return;
    g->armed = 0;
    sigaction(SIGINT, &g->old, NULL);
    if (interrupted)
        raise(SIGINT);
}

volatile sig_atomic_t *oc_interrupt_flag(void)
{
    return &interrupted;
}
