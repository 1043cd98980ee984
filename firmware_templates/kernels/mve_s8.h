/* mve_s8.h: Helium (MVE) fast path, see docs/m55_kernels.md. */
#ifndef REID_KERNELS_MVE_S8_H
#define REID_KERNELS_MVE_S8_H
#endif
