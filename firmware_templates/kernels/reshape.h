/* reshape.h: RESHAPE / SQUEEZE: a byte copy (or nothing when the planner aliases the buffers). */
#ifndef REID_KERNELS_RESHAPE_H
#define REID_KERNELS_RESHAPE_H

#include <stddef.h>
#include <stdint.h>

void reshape_copy(void *output, const void *input, size_t nbytes);

#endif
