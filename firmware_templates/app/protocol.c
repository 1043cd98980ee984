/* reidtool serial protocol, device side: CRC-32, frame decoder, request handling.
 * The definition is docs/protocol.md; host/protocol.py is the host side. Both are tested
 * against the test vectors of docs/protocol.md.
 */
#include "protocol.h"

#include <string.h>

/* ---- CRC-32: nibble table (64 bytes of rodata, two lookups per byte) ----------------- */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t proto_crc32(uint32_t crc, const uint8_t *data, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
    }
    return ~crc;
}

static uint16_t get_u16(const uint8_t *b) { return (uint16_t)(b[0] | ((uint16_t)b[1] << 8)); }
static uint32_t get_u32(const uint8_t *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static void put_u16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); b[2] = (uint8_t)(v >> 16); b[3] = (uint8_t)(v >> 24);
}
static void put_u64(uint8_t *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b + 4, (uint32_t)(v >> 32));
}
static void put_f32(uint8_t *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    put_u32(b, v);
}
static void put_str(uint8_t *b, size_t field, const char *s)
{
    size_t i = 0;
    memset(b, 0, field);
    if (s == NULL) return;
    for (; i + 1 < field && s[i] != '\0'; i++) b[i] = (uint8_t)s[i];
}

static uint8_t header_check(const uint8_t *h) { return (uint8_t)proto_crc32(0, h + 2, 5); }

/* ---- encoder -------------------------------------------------------------------------- */
size_t proto_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t seq, uint8_t status,
                    const uint8_t *payload, size_t len)
{
    size_t total = len + PROTO_OVERHEAD;
    if (len > PROTO_MAX_PAYLOAD || cap < total) return 0;
    if (len) memmove(out + PROTO_HEADER_SIZE, payload, len);
    out[0] = PROTO_SYNC0;
    out[1] = PROTO_SYNC1;
    out[2] = type;
    out[3] = seq;
    out[4] = status;
    put_u16(out + 5, (uint16_t)len);
    out[7] = header_check(out);
    put_u32(out + PROTO_HEADER_SIZE + len, proto_crc32(0, out + 2, PROTO_HEADER_SIZE - 2 + len));
    return total;
}

/* ---- decoder -------------------------------------------------------------------------- */
void proto_parser_init(proto_parser_t *p)
{
    p->n = 0;
    p->consume = 0;
    p->skipped = 0;
}

static void drop(proto_parser_t *p, size_t k, int count_as_skipped)
{
    if (k > p->n) k = p->n;
    memmove(p->buf, p->buf + k, p->n - k);
    p->n -= k;
    if (count_as_skipped) p->skipped += (uint32_t)k;
}

void proto_parser_push(proto_parser_t *p, uint8_t byte)
{
    if (p->consume) {
        drop(p, p->consume, 0);
        p->consume = 0;
    }
    if (p->n >= sizeof p->buf) drop(p, 1, 1); /* only if the caller skipped proto_parser_next */
    p->buf[p->n++] = byte;
}

int proto_parser_next(proto_parser_t *p, proto_event_t *ev)
{
    if (p->consume) {
        drop(p, p->consume, 0);
        p->consume = 0;
    }
    memset(ev, 0, sizeof *ev);
    for (;;) {
        if (p->n == 0) return PROTO_EV_NONE;
        if (p->buf[0] != PROTO_SYNC0) {
            const uint8_t *s = memchr(p->buf, PROTO_SYNC0, p->n);
            drop(p, s ? (size_t)(s - p->buf) : p->n, 1);
            continue;
        }
        if (p->n < 2) return PROTO_EV_NONE;
        if (p->buf[1] != PROTO_SYNC1) { drop(p, 1, 1); continue; }
        if (p->n < PROTO_HEADER_SIZE) return PROTO_EV_NONE;
        if (header_check(p->buf) != p->buf[7]) { drop(p, 1, 1); continue; }
        ev->type = p->buf[2];
        ev->seq = p->buf[3];
        ev->status = p->buf[4];
        ev->length = get_u16(p->buf + 5);
        if (ev->length > PROTO_MAX_PAYLOAD) {
            ev->kind = PROTO_EV_ERROR;
            ev->status = PROTO_BAD_LENGTH;
            drop(p, 1, 1);
            return PROTO_EV_ERROR;
        }
        size_t total = (size_t)ev->length + PROTO_OVERHEAD; /* <= PROTO_MAX_FRAME == sizeof buf */
        if (p->n < total) return PROTO_EV_NONE;
        uint32_t crc = proto_crc32(0, p->buf + 2, PROTO_HEADER_SIZE - 2 + ev->length);
        if (crc != get_u32(p->buf + PROTO_HEADER_SIZE + ev->length)) {
            ev->kind = PROTO_EV_ERROR;
            ev->status = PROTO_BAD_CRC;
            drop(p, 1, 1);
            return PROTO_EV_ERROR;
        }
        ev->kind = PROTO_EV_FRAME;
        ev->payload = p->buf + PROTO_HEADER_SIZE;
        p->consume = total;
        return PROTO_EV_FRAME;
    }
}

/* ---- device ----------------------------------------------------------------------------- */
static uint8_t scratch[PROTO_MAX_PAYLOAD]; /* reply payloads are built here */

static void send(proto_device_t *d, uint8_t type, uint8_t seq, uint8_t status,
                 const uint8_t *payload, size_t len)
{
    size_t n = proto_encode(d->tx, sizeof d->tx, type, seq, status, payload, len);
    if (n) d->cfg->write(d->tx, n);
}

static void reply_offset(proto_device_t *d, const proto_event_t *ev, uint8_t status)
{
    put_u32(scratch, d->expected);
    send(d, (uint8_t)(ev->type | PROTO_RESPONSE), ev->seq, status, scratch, 4);
}

static void reply_status(proto_device_t *d, const proto_event_t *ev, uint8_t status)
{
    send(d, (uint8_t)(ev->type | PROTO_RESPONSE), ev->seq, status, NULL, 0);
}

static size_t encode_info(const proto_device_config_t *c, uint8_t *b)
{
    memset(b, 0, PROTO_INFO_SIZE);
    put_u16(b + 0, PROTO_VERSION);
    put_u16(b + 2, PROTO_MAX_PAYLOAD);
    put_u32(b + 4, c->rx_window);
    put_str(b + 8, 16, c->firmware_version);
    put_str(b + 24, 24, c->board);
    memcpy(b + 48, c->model_hash, 32);
    b[80] = c->input_type;
    b[81] = c->output_type;
    put_u16(b + 82, c->input_h);
    put_u16(b + 84, c->input_w);
    put_u16(b + 86, c->input_c);
    /* 88..91 reserved (0) */
    put_u32(b + 92, c->input_size);
    put_f32(b + 96, c->input_scale);
    put_u32(b + 100, (uint32_t)c->input_zero_point);
    put_u32(b + 104, c->output_size);
    put_f32(b + 108, c->output_scale);
    put_u32(b + 112, (uint32_t)c->output_zero_point);
    put_u32(b + 116, c->arena_size);
    put_u32(b + 120, c->weights_size);
    put_u32(b + 124, c->num_layers);
    put_str(b + 128, 16, c->counter_unit);
    return PROTO_INFO_SIZE;
}

static void on_hello(proto_device_t *d, const proto_event_t *ev)
{
    const proto_device_config_t *c = d->cfg;
    uint8_t status = PROTO_OK;
    if (ev->length != 0 && ev->length != 32) { reply_status(d, ev, PROTO_BAD_LENGTH); return; }
    if (ev->length == 32 && memcmp(ev->payload, c->model_hash, 32) != 0) status = PROTO_MODEL_MISMATCH;
    size_t n = encode_info(c, scratch);
    send(d, PROTO_HELLO | PROTO_RESPONSE, ev->seq, status, scratch, n);
}

static void on_data(proto_device_t *d, const proto_event_t *ev)
{
    const proto_device_config_t *c = d->cfg;
    if (ev->length < 4) { reply_offset(d, ev, PROTO_BAD_LENGTH); return; }
    uint32_t offset = get_u32(ev->payload);
    uint32_t n = (uint32_t)ev->length - 4u;
    if (offset != d->expected && offset != 0u) { reply_offset(d, ev, PROTO_BAD_OFFSET); return; }
    if (n > c->input_size || offset > c->input_size - n) { reply_offset(d, ev, PROTO_BAD_LENGTH); return; }
    memcpy(c->input + offset, ev->payload + 4, n);
    d->expected = offset + n;
    reply_offset(d, ev, PROTO_OK);
}

static int input_ready(proto_device_t *d, uint32_t size, uint32_t crc)
{
    const proto_device_config_t *c = d->cfg;
    return size == c->input_size && d->expected == c->input_size &&
           proto_crc32(0, c->input, c->input_size) == crc;
}

static void on_infer(proto_device_t *d, const proto_event_t *ev)
{
    const proto_device_config_t *c = d->cfg;
    if (ev->length != 8) { reply_offset(d, ev, PROTO_BAD_LENGTH); return; }
    if (c->output_size + 8u > PROTO_MAX_PAYLOAD) { reply_offset(d, ev, PROTO_UNSUPPORTED); return; }
    if (!input_ready(d, get_u32(ev->payload), get_u32(ev->payload + 4))) {
        reply_offset(d, ev, PROTO_INCOMPLETE);
        return;
    }
    uint64_t t0 = c->counter();
    int rc = c->run(c->input, c->output);
    uint64_t t1 = c->counter();
    if (rc != 0) { reply_offset(d, ev, PROTO_NETWORK_ERROR); return; }
    put_u64(scratch, t1 - t0);
    memcpy(scratch + 8, c->output, c->output_size);
    send(d, PROTO_INFER | PROTO_RESPONSE, ev->seq, PROTO_OK, scratch, 8u + c->output_size);
}

static void on_profile(proto_device_t *d, const proto_event_t *ev)
{
    const proto_device_config_t *c = d->cfg;
    const uint32_t per_page = (PROTO_MAX_PAYLOAD - 8u) / 8u;
    if (ev->length != 2) { reply_status(d, ev, PROTO_BAD_LENGTH); return; }
    if (c->profile == NULL || c->layer_counts == NULL) { reply_status(d, ev, PROTO_UNSUPPORTED); return; }
    uint32_t first = get_u16(ev->payload);
    if (first > c->num_layers) { reply_status(d, ev, PROTO_BAD_LENGTH); return; }
    if (first == 0) {
        if (d->expected != c->input_size) { reply_status(d, ev, PROTO_INCOMPLETE); return; }
        if (c->profile(c->input, c->output, c->layer_counts) != 0) {
            reply_status(d, ev, PROTO_NETWORK_ERROR);
            return;
        }
    }
    uint32_t count = c->num_layers - first;
    if (count > per_page) count = per_page;
    put_u16(scratch, (uint16_t)c->num_layers);
    put_u16(scratch + 2, (uint16_t)first);
    put_u16(scratch + 4, (uint16_t)count);
    put_u16(scratch + 6, 0);
    for (uint32_t i = 0; i < count; i++) put_u64(scratch + 8 + 8 * i, c->layer_counts[first + i]);
    send(d, PROTO_PROFILE | PROTO_RESPONSE, ev->seq, PROTO_OK, scratch, 8u + 8u * count);
}

void proto_device_init(proto_device_t *d, const proto_device_config_t *cfg)
{
    d->cfg = cfg;
    d->expected = 0;
    proto_parser_init(&d->parser);
    send(d, PROTO_BOOT, 0, PROTO_OK, NULL, 0);
}

void proto_device_rx(proto_device_t *d, uint8_t byte)
{
    proto_event_t ev;
    int kind, reset = 0;
    proto_parser_push(&d->parser, byte);
    while ((kind = proto_parser_next(&d->parser, &ev)) != PROTO_EV_NONE) {
        if (ev.type & PROTO_RESPONSE || ev.type == PROTO_BOOT) continue; /* not a request */
        if (kind == PROTO_EV_ERROR) { reply_status(d, &ev, ev.status); continue; }
        switch (ev.type) {
        case PROTO_HELLO: on_hello(d, &ev); break;
        case PROTO_DATA: on_data(d, &ev); break;
        case PROTO_INFER: on_infer(d, &ev); break;
        case PROTO_PROFILE: on_profile(d, &ev); break;
        case PROTO_RESET:
            if (ev.length != 0) { reply_status(d, &ev, PROTO_BAD_LENGTH); break; }
            reply_status(d, &ev, PROTO_OK);
            reset = 1;
            break;
        default: reply_status(d, &ev, PROTO_UNKNOWN_TYPE); break;
        }
        if (reset) break;
    }
    if (reset) proto_device_init(d, d->cfg);
}
