/* Single-producer (UART interrupt) / single-consumer (main loop) byte ring buffer.
 * The size is a power of two so the indices wrap with a mask; head and tail are free-running
 * 32-bit counters, written by one side each, so no lock is needed on a single core.
 */
#ifndef REIDTOOL_RINGBUF_H
#define REIDTOOL_RINGBUF_H

#include <stddef.h>
#include <stdint.h>

#ifndef BOARD_RX_RING_SIZE
#error "BOARD_RX_RING_SIZE must be defined (a power of two, at least one flow-control window)"
#endif
#if (BOARD_RX_RING_SIZE & (BOARD_RX_RING_SIZE - 1)) != 0
#error "BOARD_RX_RING_SIZE must be a power of two"
#endif

typedef struct {
    volatile uint32_t head;  /* written by the producer only */
    volatile uint32_t tail;  /* written by the consumer only */
    volatile uint32_t dropped; /* bytes lost because the ring was full */
    uint8_t data[BOARD_RX_RING_SIZE];
} ringbuf_t;

/* Producer side (interrupt): store one byte, or count it as dropped when full. */
static inline void ringbuf_put(ringbuf_t *r, uint8_t byte)
{
    uint32_t head = r->head;
    if (head - r->tail >= (uint32_t)BOARD_RX_RING_SIZE) {
        r->dropped++;
        return;
    }
    r->data[head & (BOARD_RX_RING_SIZE - 1u)] = byte;
    __asm__ volatile("" ::: "memory"); /* the byte is stored before head moves */
    r->head = head + 1u;
}

/* Consumer side (main loop): 1 and the oldest byte, or 0 when empty. */
static inline int ringbuf_get(ringbuf_t *r, uint8_t *byte)
{
    uint32_t tail = r->tail;
    if (tail == r->head)
        return 0;
    *byte = r->data[tail & (BOARD_RX_RING_SIZE - 1u)];
    __asm__ volatile("" ::: "memory");
    r->tail = tail + 1u;
    return 1;
}

#endif /* REIDTOOL_RINGBUF_H */
