/* Test-only copy of the board interface of docs/architecture.md ("The C side"). */
#ifndef BOARD_H
#define BOARD_H
#include <stddef.h>
#include <stdint.h>
void board_init(void);
void board_uart_write(const uint8_t *buf, size_t n);
int board_uart_read(uint8_t *byte);
void board_wait_for_event(void);
uint64_t board_counter_read(void);
const char *board_counter_unit(void);
const char *board_name(void);
size_t board_uart_rx_capacity(void);
#endif
