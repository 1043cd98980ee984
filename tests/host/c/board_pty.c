/* Test-only board support: the firmware application on a Linux pseudo-terminal.
 * Prints the pty's slave path on stdout, then serves the protocol on the master side; exits
 * when its stdin closes (so the test ends it cleanly and the sanitizers get to report).
 * The real `host` board belongs to toolchain/boards; this keeps the protocol tests independent.
 */
#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "board.h"

static int master = -1;
static int slave = -1;

void board_init(void)
{
    struct termios t;
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) { perror("pty"); exit(3); }
    const char *name = ptsname(master);
    slave = open(name, O_RDWR | O_NOCTTY); /* kept open: the pty survives host reconnects */
    if (slave < 0 || tcgetattr(slave, &t) != 0) { perror("slave"); exit(3); }
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    printf("%s\n", name);
    fflush(stdout);
}

void board_uart_write(const uint8_t *buf, size_t n)
{
    while (n) {
        ssize_t k = write(master, buf, n);
        if (k > 0) { buf += k; n -= (size_t)k; continue; }
        if (k < 0 && errno != EAGAIN && errno != EINTR) exit(4);
        struct pollfd p = {master, POLLOUT, 0};
        poll(&p, 1, 100);
    }
}

int board_uart_read(uint8_t *byte) { return read(master, byte, 1) == 1; }

void board_wait_for_event(void)
{
    struct pollfd p[2] = {{master, POLLIN, 0}, {0, POLLIN, 0}};
    poll(p, 2, -1);
    if (p[1].revents & (POLLIN | POLLHUP)) {
        char c;
        if (read(0, &c, 1) <= 0) exit(0);
    }
}

uint64_t board_counter_read(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *board_counter_unit(void) { return "ns"; }
const char *board_name(void) { return "test-pty"; }
size_t board_uart_rx_capacity(void) { return 4096; }
