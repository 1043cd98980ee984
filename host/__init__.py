"""The host harness: the serial protocol (docs/protocol.md), transports, board sessions and
on-device evaluation.

Modules:
    protocol      frames, CRC-32, the byte-fed `Packetizer`, payload codecs
    transport     `open_transport(url)`: socket://, ptys, real ports, loop://; `TransportLogger`
    faults        `FaultyTransport`: drops, corrupts, duplicates bytes; resets the board
    session       `BoardSession`: hello/info, infer, profile, reset with retries and resync
    embedding_log `device_embeddings.log`, append-only and resumable
    device_eval   `hil_eval(loaded, ports=...)`: metrics.json["device"]; `BoardSource`
    validate      `validate(dir, port=... | board=...)`: validation.json
"""
