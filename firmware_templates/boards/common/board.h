/* Board support interface: the only functions the firmware application calls.
 * Every board folder implements it (docs/architecture.md "The C side", docs/boards.md).
 */
#ifndef REIDTOOL_BOARD_H
#define REIDTOOL_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Clocks, FPU/MVE, the UART (receive interrupt on) and the counter. Called once, first. */
void board_init(void);
/* Blocking write of n bytes to the serial port. */
void board_uart_write(const uint8_t *buf, size_t n);
/* Non-blocking: takes one byte from the receive ring buffer; 1 when a byte was read, else 0. */
int board_uart_read(uint8_t *byte);
/* Size of the receive ring buffer: how many bytes the host may have in flight. */
size_t board_uart_rx_capacity(void);
/* Sleep until an interrupt (WFI on hardware; poll() on the host). */
void board_wait_for_event(void);
/* Monotonic counter in board_counter_unit() units. */
uint64_t board_counter_read(void);
/* "instructions" | "cycles" | "ns". */
const char *board_counter_unit(void);
/* The board's name as reidtool knows it. */
const char *board_name(void);

#endif /* REIDTOOL_BOARD_H */
