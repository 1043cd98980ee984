/* lut.c: one table lookup per element; the table holds the oracle's own outputs for the 256
 * possible inputs, so the result is its bytes by construction. In place is allowed. On Helium
 * cores: 16 lookups per gather load (VLDRB.U8 with byte offsets: the index x + 128 is the
 * input byte with its top bit flipped), in a tail-predicated loop, 5 instructions per 16
 * elements. */
#include "lut.h"
#include "mve_s8.h"

void lut_s8(const int8_t *table, const int8_t *input, int8_t *output, size_t n)
{
#if REID_MVE
    const uint8x16_t flip = vdupq_n_u8(0x80);
    __asm__ volatile("dlstp.8 lr, %[n]\n"
                     "1:\n\t"
                     "vldrb.u8 q0, [%[in]], #16\n\t"
                     "veor q0, q0, %q[flip]\n\t"
                     "vldrb.u8 q1, [%[table], q0]\n\t"
                     "vstrb.8 q1, [%[out]], #16\n\t"
                     "letp lr, 1b"
                     : [in] "+r"(input), [out] "+r"(output)
                     : [n] "r"(n), [table] "r"(table), [flip] "w"(flip)
                     : "q0", "q1", "lr", "memory");
#else
    size_t i;
    for (i = 0; i < n; ++i) {
        output[i] = table[(int32_t)input[i] + 128];
    }
#endif
}
