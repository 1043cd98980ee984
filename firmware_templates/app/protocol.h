/* reidtool serial protocol, device side (the definition: docs/protocol.md).
 *
 * Frame (little-endian):  A5 5A | type | seq | status | len u16 | hcheck | payload[len] | crc32 u32
 * hcheck = low byte of CRC-32 over bytes 2..6; crc32 covers bytes 2 .. end of payload.
 *
 * No dynamic allocation: the parser holds one frame in a fixed buffer; the request handler
 * writes DATA chunks into the caller's static input buffer after a bounds check. The module
 * knows no board: bytes come in through proto_device_rx(), replies leave through the
 * configuration's write callback, so the same code runs on every board and in the host test.
 */
#ifndef REIDTOOL_PROTOCOL_H
#define REIDTOOL_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1u
#define PROTO_SYNC0 0xA5u
#define PROTO_SYNC1 0x5Au
#define PROTO_HEADER_SIZE 8u
#define PROTO_TRAILER_SIZE 4u
#define PROTO_OVERHEAD (PROTO_HEADER_SIZE + PROTO_TRAILER_SIZE)
/* 1024 data bytes of a DATA chunk + its u32 offset, or an output tensor + its u64 counter: a
 * project whose output exceeds 1024 bytes is built with -DPROTO_MAX_PAYLOAD=output + 8 (its
 * Makefile, from toolchain/boards/project.py); INFO reports the value to the host. */
#ifndef PROTO_MAX_PAYLOAD
#define PROTO_MAX_PAYLOAD 1032u
#endif
#define PROTO_MAX_FRAME (PROTO_MAX_PAYLOAD + PROTO_OVERHEAD)
#define PROTO_INFO_SIZE 144u
#define PROTO_RESPONSE 0x80u

enum proto_type {
    PROTO_HELLO = 0x01,
    PROTO_DATA = 0x02,
    PROTO_INFER = 0x03,
    PROTO_PROFILE = 0x04,
    PROTO_RESET = 0x05,
    PROTO_BOOT = 0x40
};

enum proto_status {
    PROTO_OK = 0,
    PROTO_BAD_CRC = 1,
    PROTO_BAD_LENGTH = 2,
    PROTO_UNKNOWN_TYPE = 3,
    PROTO_BUSY = 4,
    PROTO_MODEL_MISMATCH = 5,
    PROTO_BAD_OFFSET = 6,
    PROTO_INCOMPLETE = 7,
    PROTO_NETWORK_ERROR = 8,
    PROTO_UNSUPPORTED = 9
};

/* CRC-32 (IEEE, reflected 0xEDB88320, init/xor-out 0xFFFFFFFF); chain with crc = previous. */
uint32_t proto_crc32(uint32_t crc, const uint8_t *data, size_t n);

/* ---- decoder ------------------------------------------------------------------------ */
enum proto_event_kind { PROTO_EV_NONE = 0, PROTO_EV_FRAME = 1, PROTO_EV_ERROR = 2 };

typedef struct {
    int kind;              /* proto_event_kind */
    uint8_t type, seq, status;   /* status: the frame's, or PROTO_BAD_CRC / PROTO_BAD_LENGTH */
    uint16_t length;       /* payload length announced by the header */
    const uint8_t *payload; /* PROTO_EV_FRAME: valid until the next proto_parser_* call */
} proto_event_t;

typedef struct {
    uint8_t buf[PROTO_MAX_FRAME];
    size_t n;              /* bytes held, always <= PROTO_MAX_FRAME */
    size_t consume;        /* bytes of the last emitted frame still to drop */
    uint32_t skipped;      /* bytes discarded while hunting for frames */
} proto_parser_t;

void proto_parser_init(proto_parser_t *p);
/* Add one received byte. Call proto_parser_next() until it returns PROTO_EV_NONE before the
 * next push: then the buffer can never overflow. */
void proto_parser_push(proto_parser_t *p, uint8_t byte);
int proto_parser_next(proto_parser_t *p, proto_event_t *ev);

/* Encode one frame into out (cap bytes); returns its size, 0 if it does not fit. */
size_t proto_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t seq, uint8_t status,
                    const uint8_t *payload, size_t len);

/* ---- device (request handling) ------------------------------------------------------- */
typedef struct {
    const char *firmware_version;   /* <= 15 characters are sent */
    const char *board;              /* <= 23 characters are sent */
    const char *counter_unit;       /* "instructions", "cycles", "s" ... (<= 15) */
    const uint8_t *model_hash;      /* 32 bytes, SHA-256 of the .tflite */
    uint8_t input_type, output_type; /* 0 int8, 1 uint8, 2 float32 */
    uint16_t input_h, input_w, input_c;
    uint32_t input_size, output_size;
    float input_scale, output_scale;
    int32_t input_zero_point, output_zero_point;
    uint32_t arena_size, weights_size, num_layers;
    uint32_t rx_window;             /* bytes the host may have in flight (<= RX ring capacity) */
    uint8_t *input;                 /* input_size bytes, static */
    uint8_t *output;                /* output_size bytes, static */
    int (*run)(const uint8_t *input, uint8_t *output);       /* 0 = ok */
    uint64_t (*counter)(void);
    /* Runs the network once with per-layer counting into counts[num_layers]; NULL when the
     * firmware was built without profiling (PROFILE then answers PROTO_UNSUPPORTED). */
    int (*profile)(const uint8_t *input, uint8_t *output, uint64_t *counts);
    uint64_t *layer_counts;         /* num_layers entries when profile != NULL */
    void (*write)(const uint8_t *buf, size_t n);
} proto_device_config_t;

typedef struct {
    const proto_device_config_t *cfg;
    proto_parser_t parser;
    uint32_t expected;              /* next DATA offset accepted (bytes of input received) */
    uint8_t tx[PROTO_MAX_FRAME];
} proto_device_t;

/* Reset the protocol state and announce the board with a BOOT frame. */
void proto_device_init(proto_device_t *d, const proto_device_config_t *cfg);
/* Feed one received byte; answers every request it completes. */
void proto_device_rx(proto_device_t *d, uint8_t byte);

#endif /* REIDTOOL_PROTOCOL_H */
