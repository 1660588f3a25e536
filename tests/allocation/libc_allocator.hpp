// glibc's own allocator entry points: a test binary that defines malloc and friends to watch
// every allocation (C++ new, the thread pool, BLAS alike) forwards to these.
#pragma once

#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* pointer);
}
