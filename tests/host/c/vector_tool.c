/* Test-only driver of firmware_templates/app/protocol.c: reads commands on stdin, prints
 * results, so the Python test can check the C side against docs/protocol.md's vectors.
 *   crc HEX                         -> crc32 as 8 hex digits
 *   frame TYPE SEQ STATUS HEX|-     -> the encoded frame in hex
 *   decode HEX|-                    -> one line per event, then "end SKIPPED PENDING"
 * Event lines: "F type seq status payloadhex|-" or "E type seq status length".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

static char line[1 << 20];
static uint8_t bytes[1 << 19];
static uint8_t out[PROTO_MAX_FRAME];
static proto_parser_t parser;

static size_t unhex(const char *s, uint8_t *b, size_t cap)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0) return 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        b[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void print_hex(const uint8_t *b, size_t n)
{
    if (n == 0) fputs("-", stdout);
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

int main(void)
{
    while (fgets(line, sizeof line, stdin)) {
        char cmd[16], arg[sizeof line];
        unsigned t, s, st;
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "crc %s", arg) == 1) {
            size_t n = unhex(arg, bytes, sizeof bytes);
            printf("%08x\n", (unsigned)proto_crc32(0, bytes, n));
        } else if (sscanf(line, "frame %x %x %x %s", &t, &s, &st, arg) == 4) {
            size_t n = unhex(arg, bytes, sizeof bytes);
            size_t k = proto_encode(out, sizeof out, (uint8_t)t, (uint8_t)s, (uint8_t)st, bytes, n);
            print_hex(out, k);
            putchar('\n');
        } else if (sscanf(line, "%15s %s", cmd, arg) == 2 && strcmp(cmd, "decode") == 0) {
            size_t n = unhex(arg, bytes, sizeof bytes);
            proto_event_t ev;
            proto_parser_init(&parser);
            for (size_t i = 0; i < n; i++) {
                proto_parser_push(&parser, bytes[i]);
                int kind;
                while ((kind = proto_parser_next(&parser, &ev)) != PROTO_EV_NONE) {
                    if (kind == PROTO_EV_FRAME) {
                        printf("F %02x %02x %02x ", ev.type, ev.seq, ev.status);
                        print_hex(ev.payload, ev.length);
                        putchar('\n');
                    } else {
                        printf("E %02x %02x %02x %u\n", ev.type, ev.seq, ev.status, ev.length);
                    }
                }
            }
            printf("end %u %zu\n", (unsigned)parser.skipped, parser.n);
        } else {
            printf("?\n");
        }
        fflush(stdout);
    }
    return 0;
}
