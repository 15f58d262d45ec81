/*
 * oc_interrupt: Ctrl-C during a long wait in C (a login). The wait is one
 * long C call, so the host's own handler (lua.c's sets a hook for the next
 * Lua instruction) could not act until the wait ran out. While a guard is
 * armed our handler notes the signal and the wait ends; releasing the guard
 * puts the host's handler back and raises the signal again, so the host
 * reacts as it always does.
 */
#ifndef OC_INTERRUPT_H
#define OC_INTERRUPT_H

#include <signal.h>

typedef struct oc_interrupt_guard {
    struct sigaction old;
    int armed;
} oc_interrupt_guard;

/* Arms the guard (an ignored Ctrl-C stays ignored) and clears the flag. */
void oc_interrupt_catch(oc_interrupt_guard *g);
/* Disarms it; a Ctrl-C that came meanwhile is raised again. Last: the
   host's handler may end the process. */
void oc_interrupt_release(oc_interrupt_guard *g);
/* The flag the handler sets, for waits that poll it. */
volatile sig_atomic_t *oc_interrupt_flag(void);

#endif
