/* The contract every store keeps (oc_store.h), checked the same way for
   each backend: text round trips, compare-and-set, compare-and-remove, an
   exclusive lock across two store objects naming the same place. */
#ifndef STORE_CONTRACT_H
#define STORE_CONTRACT_H

#include "oc_store.h"

/* a and b name the same place (two processes' views of it); empty at start. */
void store_contract(oc_store *a, oc_store *b);

#endif
