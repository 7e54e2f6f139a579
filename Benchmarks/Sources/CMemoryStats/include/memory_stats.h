#ifndef USHER_MEMORY_STATS_H
#define USHER_MEMORY_STATS_H

#include <stddef.h>

/// Bytes glibc's allocator has handed out and not yet had back (mallinfo2: uordblks + hblkhd), main arena.
size_t usher_heap_in_use(void);

/// Returns free memory at the top of the heap to the system (malloc_trim(0)).
void usher_malloc_trim(void);

/// Resident set size of this process in bytes, from /proc/self/statm; 0 when unreadable.
size_t usher_resident_bytes(void);

#endif
