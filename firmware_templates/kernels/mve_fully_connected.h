/* mve_fully_connected.h: Helium (MVE) fast path, see docs/m55_kernels.md. */
#ifndef REID_KERNELS_MVE_FULLY_CONNECTED_H
#define REID_KERNELS_MVE_FULLY_CONNECTED_H
#endif
