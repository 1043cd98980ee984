/* mve_depthwise_conv_2d.h: Helium (MVE) fast path, see docs/m55_kernels.md. */
#ifndef REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H
#define REID_KERNELS_MVE_DEPTHWISE_CONV_2D_H
#endif
