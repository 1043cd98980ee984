/* Cortex-M55 startup for QEMU mps3-an547: vector table, reset handler, fault loop.
 *
 * The reset handler copies .data from its load address, zeroes .bss, turns on the FPU and
 * MVE (CPACR CP10/CP11 full access) and calls main(). The vector table's entries 16 + n are
 * the NVIC's external interrupts: UART0 RX is IRQ 33 on the AN547 (QEMU hw/arm/mps2-tz.c).
 */
#include <stdint.h>

extern uint32_t __data_load__, __data_start__, __data_end__;
extern uint32_t __bss_start__, __bss_end__;
extern uint32_t __stack_top__;

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void board_uart0_rx_handler(void);
void board_systick_handler(void);

#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define NUM_EXTERNAL_IRQS 96

void Default_Handler(void)
{
    for (;;) {
    }
}

void Reset_Handler(void)
{
    uint32_t *src = &__data_load__;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;)
        *dst++ = *src++;
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;)
        *dst++ = 0u;
    CPACR |= 0xFu << 20; /* CP10, CP11: FPU and MVE */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    main();
    for (;;) {
    }
}

typedef void (*vector_t)(void);

__attribute__((section(".vectors"), used)) const vector_t vector_table[16 + NUM_EXTERNAL_IRQS] = {
    [0] = (vector_t)(uintptr_t)&__stack_top__,
    [1] = Reset_Handler,
    [2] = Default_Handler,  /* NMI */
    [3] = Default_Handler,  /* HardFault */
    [4] = Default_Handler,  /* MemManage */
    [5] = Default_Handler,  /* BusFault */
    [6] = Default_Handler,  /* UsageFault */
    [7] = Default_Handler,  /* SecureFault */
    [11] = Default_Handler, /* SVCall */
    [12] = Default_Handler, /* DebugMonitor */
    [14] = Default_Handler, /* PendSV */
    [15] = board_systick_handler,
    [16 + 33] = board_uart0_rx_handler,
};
