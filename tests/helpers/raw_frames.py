"""Writes hand-encoded ChangeRecord frames to stdout, for values no well-behaved encoder would produce.

Usage: raw_frames.py SPEC...   where SPEC is LSN:ORDINAL:OP[:COMMIT_TIME_US] (decimal or 0x hex), one frame each.
"""
import sys


def varint(n):
    n &= (1 << 64) - 1  # negative int64 values are ten-byte varints, as protobuf encodes them
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(num, value):
    return varint(num << 3) + varint(value)


out = bytearray()
for spec in sys.argv[1:]:
    parts = [int(p, 0) for p in spec.split(":")]
    lsn, ordinal, op = parts[:3]
    msg = field(2, lsn) + (field(3, ordinal) if ordinal else b"") + field(4, 1) + field(8, op)
    if len(parts) > 3:
        msg += field(6, parts[3])
    msg += b"\x52\x05items"  # table = "items"
    out += varint(len(msg)) + msg
sys.stdout.buffer.write(bytes(out))
