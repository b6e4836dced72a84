/* Single-writer counters: only the owning worker thread writes them, the
 * stats reader reads them from another thread. Relaxed atomic load + store
 * compile to plain moves on x86-64 (no lock prefix, no shared cache line
 * between workers), yet the cross-thread read is well defined. */
#ifndef CERTSPOA_COUNTER_H
#define CERTSPOA_COUNTER_H

#include <stdint.h>

#define CTR_ADD(x, n) \
	__atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define CTR_INC(x)    CTR_ADD(x, 1)
#define CTR_SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define CTR_GET(x)    __atomic_load_n(&(x), __ATOMIC_RELAXED)

#endif /* CERTSPOA_COUNTER_H */
