/*
 * LD_PRELOAD shim for Debian's slirp 1:1.0.17 on amd64 (see tests/slirprig.py).
 *
 * slirp's main loop (src/main.c) means "block forever" as tmp_time = -1, stores
 * it as timeout.tv_usec = (u_int)tmp_time and then tests tv_usec == -1 to wait
 * 5 s instead. With a 64-bit long the cast leaves 4294967295, the test misses,
 * select() fails with EINVAL and slirp exits 1 right after its banner. Any
 * out-of-range timeout becomes the 5 s slirp meant; its PPP timers use SIGALRM,
 * which interrupts select() anyway.
 *
 * Build: gcc -shared -fPIC -o slirp_select_shim.so slirp_select_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/select.h>

typedef int (*select_fn)(int, fd_set *, fd_set *, fd_set *, struct timeval *);

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
           struct timeval *timeout)
{
    static select_fn real_select;

    if (real_select == NULL)
        real_select = (select_fn)dlsym(RTLD_NEXT, "select");
    if (timeout != NULL
        && (timeout->tv_sec < 0 || timeout->tv_usec < 0 || timeout->tv_usec > 999999)) {
        timeout->tv_sec = 5;
        timeout->tv_usec = 0;
    }
    return real_select(nfds, readfds, writefds, exceptfds, timeout);
}
