/* STM32N657 (Cortex-M55) startup for development boot: the debugger loads the image into
 * AXISRAM and starts it at Reset_Handler (see docs/boards.md). Secure state, no TrustZone set-up.
 *
 * The reset handler points VTOR at our table, copies .data, zeroes .bss, enables the FPU and
 * MVE (CPACR CP10/CP11) and calls main(). USART1 is external interrupt 159 (RM0486 vector
 * table; BOARD_USART1_IRQ in the Makefile).
 */
#include <stdint.h>

extern uint32_t __data_load__, __data_start__, __data_end__;
extern uint32_t __bss_start__, __bss_end__;
extern uint32_t __stack_top__;

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void board_usart1_handler(void);

#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define VTOR (*(volatile uint32_t *)0xE000ED08u)
#define NUM_EXTERNAL_IRQS 194

typedef void (*vector_t)(void);
extern const vector_t vector_table[16 + NUM_EXTERNAL_IRQS];

void Default_Handler(void)
{
    for (;;) {
    }
}

void Reset_Handler(void)
{
    __asm__ volatile("msr msp, %0" : : "r"(&__stack_top__) : "memory");
    VTOR = (uint32_t)(uintptr_t)vector_table;
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

__attribute__((section(".vectors"), used, aligned(1024))) const vector_t vector_table[16 + NUM_EXTERNAL_IRQS] = {
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
    [15] = Default_Handler, /* SysTick (unused: DWT CYCCNT is the counter) */
    [16 + BOARD_USART1_IRQ] = board_usart1_handler,
};
