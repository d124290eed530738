"""Record framing of the binary run files, cut incrementally from bytes as they are read.

A TensorBoard event file is a TFRecord stream: per record a little-endian u64 length, a
masked CRC of it (u32), the payload and the payload's CRC (u32). A W&B transaction log
(`run-<id>.wandb`) is a LevelDB-style log: a 7-byte file header, then 32 KiB blocks of
chunks, each with a 7-byte header (CRC u32, length u16, type u8: full, first, middle, last)
and a record split over chunks where it crosses a block. Both are written by appending, so a
trainer still writing leaves a partial record at the end: the framers hold it until the rest
arrives. The payloads are protocol buffers, decoded by the libraries that wrote them.
"""

from __future__ import annotations

import struct
from typing import Final

TFRECORD_HEADER: Final = struct.Struct("<QI")
TFRECORD_FOOTER_BYTES: Final = 4
MAX_RECORD_BYTES: Final = 64 << 20
"""A length beyond this is not a record of a scalar log (a damaged or foreign file): the
framer stops rather than buffer without bound."""

WANDB_FILE_HEADER_BYTES: Final = 7
WANDB_BLOCK_BYTES: Final = 32768
WANDB_CHUNK_HEADER: Final = struct.Struct("<IHB")
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


class TFRecordFramer:
    """Bytes of one event file in, complete record payloads out."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.damaged = False
        """A length no event file holds was met: the rest of this file is not read."""

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the payloads of the records they complete."""
        if self.damaged:
            return []
        buf = self._buf
        buf += data
        out: list[bytes] = []
        at = 0
        header = TFRECORD_HEADER.size
        while len(buf) - at >= header:
            (length, _) = TFRECORD_HEADER.unpack_from(buf, at)
            if length > MAX_RECORD_BYTES:
                self.damaged = True
                break
            end = at + header + length + TFRECORD_FOOTER_BYTES
            if end > len(buf):
                break
            out.append(bytes(buf[at + header : at + header + length]))
            at = end
        del buf[:at]
        return out

    def reset(self) -> None:
        """A new file (or a restarted one): forget the partial record held."""
        self._buf.clear()
        self.damaged = False


class WandbLogFramer:
    """Bytes of one W&B transaction log in, complete record payloads out."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0
        """File offset of `_buf[0]`: chunks never cross a block boundary, so cutting needs it."""
        self._record = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the payloads of the records they complete."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        at = 0
        if self._offset == 0:
            if len(buf) < WANDB_FILE_HEADER_BYTES:
                return out
            at = WANDB_FILE_HEADER_BYTES
        header = WANDB_CHUNK_HEADER.size
        while True:
            left = WANDB_BLOCK_BYTES - (self._offset + at) % WANDB_BLOCK_BYTES
            if left < header:  # the block's padding
                if len(buf) - at < left:
                    break
                at += left
                continue
            if len(buf) - at < header:
                break
            _, length, kind = WANDB_CHUNK_HEADER.unpack_from(buf, at)
            if length == 0 and kind == 0:  # zero fill up to the block's end
                if len(buf) - at < left:
                    break
                at += left
                continue
            end = at + header + length
            if end > len(buf):
                break
            chunk = bytes(buf[at + header : end])
            at = end
            if kind == _FULL:
                out.append(chunk)
                self._record.clear()
            elif kind == _FIRST:
                self._record[:] = chunk
            elif kind == _MIDDLE:
                self._record += chunk
            elif kind == _LAST:
                out.append(bytes(self._record + chunk))
                self._record.clear()
        self._offset += at
        del buf[:at]
        return out

    def reset(self) -> None:
        """A restarted file: start again at its header."""
        self._buf.clear()
        self._record.clear()
        self._offset = 0
