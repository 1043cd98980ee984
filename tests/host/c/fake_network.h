/* Test-only stand-in for a generated <name>_network.h (interface of docs/architecture.md).
 * out[j] = (j + sum_i in[i] * ((i + j) % 7 + 1)) mod 256, three "layers" for profiling. */
#ifndef FAKE_NETWORK_H
#define FAKE_NETWORK_H
#include <stdint.h>
#ifndef FAKE_H
#define FAKE_H 32
#define FAKE_W 16
#endif
#define FAKE_NUM_LAYERS 3
#define FAKE_ARENA_SIZE 256
#define FAKE_WEIGHTS_SIZE 0
#define FAKE_MACS 0
#define FAKE_INPUT_H FAKE_H
#define FAKE_INPUT_W FAKE_W
#define FAKE_INPUT_C 3
#define FAKE_INPUT_SIZE (FAKE_H * FAKE_W * 3)
#define FAKE_INPUT_TYPE 1
#define FAKE_INPUT_SCALE 1.0f
#define FAKE_INPUT_ZERO_POINT 0
#define FAKE_OUTPUT_SIZE 64
#define FAKE_OUTPUT_TYPE 0
#define FAKE_OUTPUT_SCALE 0.0078125f
#define FAKE_OUTPUT_ZERO_POINT 0
typedef struct { const char *name; const char *op; uint32_t macs; } fake_layer_t;
extern const uint8_t fake_model_hash[32];
extern const fake_layer_t fake_layers[];
int fake_network_run(const void *in, void *out, uint8_t *arena);
#ifdef FAKE_PROFILING
void fake_profile_begin(int layer);
void fake_profile_end(int layer);
#endif
#endif
