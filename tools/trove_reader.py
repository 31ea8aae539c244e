#!/usr/bin/python3
"""trove_reader.py: an independent reader of trove files, written from docs/FORMAT.md alone.

It shares no code with the C library (src/) or the Python binding (python/trove): it exists to
check that the specification is complete and that the C library follows it. Python standard
library + numpy. XXH3-64 comes from python3-xxhash when installed, else from a pure
Python + numpy implementation here; zstd-compressed tensors need python3-zstandard (Debian).

API:
    read(path)    -> (meta, {name: numpy array})   bfloat16 tensors are returned as float32
                                                   (exact) unless bfloat16="uint16"
    digest(path)  -> model digest, lowercase hex (section 7)
    verify(path)  -> True, or raises TroveReaderError (chunk checksums, padding, stored digests)
    open_file(path) -> TroveFile with .meta, .header, .tensors (list of Entry), .tensor(name)
CLI:
    python3 tools/trove_reader.py FILE [--verify] [--digest]   prints a JSON summary
Errors: TroveReaderError(kind, message, offset) with kind one of
    "io", "not_trove", "version", "corrupt", "checksum", "limit", "unsupported".
"""

import base64
import hashlib
import json
import math
import mmap
import os
import struct
import sys

import numpy as np

# ---- constants of the spec -------------------------------------------------------------------
MAGIC = b"\xffTRV\r\n\x1a\n"                         # section 2
END_MAGIC = b"TROVEEND"                             # section 3
BOM = 0x01020304
FORMAT_MAJOR = 1
PREAMBLE = 64
TRAILER = 64

COMPAT_SIGNED = 1 << 0
COMPAT_DIGESTS = 1 << 1
INCOMPAT_ZSTD = 1 << 0
INCOMPAT_ENCRYPTED = 1 << 1
KNOWN_INCOMPAT = INCOMPAT_ZSTD                      # ENCRYPTED is an envelope: refused here

LIMIT_HEADER_BYTES = 256 << 20                      # section 8
LIMIT_TENSORS = 1 << 20
LIMIT_NAME_BYTES = 1024
LIMIT_DEPTH = 64
LIMIT_ITEMS = 1 << 24                               # CBOR items in the header (fixed)
BOMB_RATIO, BOMB_SLACK = 1024, 1 << 20              # logical <= 1024 x stored + 1 MiB
ENC_MAGIC = b"\xffTRVENC\n"                        # section 11.2: encrypted envelope
MAX_RANK = 8
U64_MAX = (1 << 64) - 1

LEAF_BYTES = 4 << 20                                # section 7
TENSOR_PREFIX = b"trove-tensor-v1"
MODEL_PREFIX = b"trove-model-v1"

# section 5.1: name -> (size, little-endian numpy dtype or None for bfloat16)
DTYPES = {
    "bool": (1, np.dtype(np.bool_)),
    "int8": (1, np.dtype("i1")),
    "int16": (2, np.dtype("<i2")),
    "int32": (4, np.dtype("<i4")),
    "int64": (8, np.dtype("<i8")),
    "uint8": (1, np.dtype("u1")),
    "uint16": (2, np.dtype("<u2")),
    "uint32": (4, np.dtype("<u4")),
    "uint64": (8, np.dtype("<u8")),
    "float16": (2, np.dtype("<f2")),
    "bfloat16": (2, None),
    "float32": (4, np.dtype("<f4")),
    "float64": (8, np.dtype("<f8")),
}


class TroveReaderError(Exception):
    """A file this reader refuses. kind names the class of problem (see module doc)."""

    def __init__(self, kind, message, offset=None):
        where = "" if offset is None else " (at byte %d)" % offset
        super().__init__("%s: %s%s" % (kind, message, where))
        self.kind = kind
        self.message = message
        self.offset = offset


def _fail(kind, message, offset=None):
    raise TroveReaderError(kind, message, offset)


# ---- XXH3-64, seed 0 ------------------------------------------------------------------------------
# python3-xxhash (Debian) when present; otherwise the pure Python + numpy version below, written
# from the XXH3 specification (xxhash 0.8), so that this reader needs nothing beyond numpy.
# TROVE_READER_PURE_XXH3=1 forces the fallback (the tests compare both).
M64 = (1 << 64) - 1
P32_1, P32_2, P32_3 = 0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D
P64_1, P64_2, P64_3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
P64_4, P64_5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
K_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e")


def _r64(b, i):
    return int.from_bytes(b[i:i + 8], "little")


def _r32(b, i):
    return int.from_bytes(b[i:i + 4], "little")


def _xxh64_avalanche(h):
    h ^= h >> 33
    h = h * P64_2 & M64
    h ^= h >> 29
    h = h * P64_3 & M64
    return h ^ (h >> 32)


def _xxh3_avalanche(h):
    h ^= h >> 37
    h = h * 0x165667919E3779F9 & M64
    return h ^ (h >> 32)


def _fold(a, b):
    p = a * b
    return (p & M64) ^ (p >> 64)


def _mix16(b, i, s):
    return _fold(_r64(b, i) ^ _r64(K_SECRET, s), _r64(b, i + 8) ^ _r64(K_SECRET, s + 8))


def _xxh3_short(b):
    n, k = len(b), K_SECRET
    if n == 0:
        return _xxh64_avalanche(_r64(k, 56) ^ _r64(k, 64))
    if n <= 3:
        combined = (b[0] << 16) | (b[n >> 1] << 24) | b[n - 1] | (n << 8)
        return _xxh64_avalanche(combined ^ (_r32(k, 0) ^ _r32(k, 4)))
    if n <= 8:
        x = (_r32(b, n - 4) + (_r32(b, 0) << 32)) ^ (_r64(k, 8) ^ _r64(k, 16))
        rot = ((x << 49) | (x >> 15)) & M64, ((x << 24) | (x >> 40)) & M64
        x ^= rot[0] ^ rot[1]
        x = x * 0x9FB21C651E98DF25 & M64
        x ^= (x >> 35) + n
        x = x * 0x9FB21C651E98DF25 & M64
        return x ^ (x >> 28)
    if n <= 16:
        lo = _r64(b, 0) ^ (_r64(k, 24) ^ _r64(k, 32))
        hi = _r64(b, n - 8) ^ (_r64(k, 40) ^ _r64(k, 48))
        swapped = int.from_bytes(lo.to_bytes(8, "little"), "big")
        return _xxh3_avalanche((n + swapped + hi + _fold(lo, hi)) & M64)
    acc = n * P64_1 & M64
    if n <= 128:
        pairs = [(0, 0)]
        if n > 32:
            pairs.append((16, 32))
            if n > 64:
                pairs.append((32, 64))
                if n > 96:
                    pairs.append((48, 96))
        for off, sec in pairs:
            acc += _mix16(b, off, sec) + _mix16(b, n - 16 - off, sec + 16)
        return _xxh3_avalanche(acc & M64)
    for i in range(8):  # 129..240
        acc += _mix16(b, 16 * i, 16 * i)
    acc = _xxh3_avalanche(acc & M64)
    for i in range(8, n // 16):
        acc += _mix16(b, 16 * i, 16 * (i - 8) + 3)
    acc += _mix16(b, n - 16, 136 - 17)
    return _xxh3_avalanche(acc & M64)


def _xxh3_long(b):
    n = len(b)
    u64 = np.uint64
    keys = np.array([[_r64(K_SECRET, 8 * s + 8 * i) for i in range(8)] for s in range(16)],
                    dtype=u64)                                      # (stripe, lane)
    scramble = np.array([_r64(K_SECRET, 128 + 8 * i) for i in range(8)], dtype=u64)
    swap = [1, 0, 3, 2, 5, 4, 7, 6]
    acc = np.array([P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1], dtype=u64)
    lo32 = u64(0xFFFFFFFF)

    def stripes_sum(data, key):
        """Per-lane sums of what accumulate_512 adds for stripes data (k, 8) and keys (k, 8)."""
        dk = data ^ key
        prod = (dk & lo32) * (dk >> u64(32))
        return prod.sum(axis=0, dtype=u64) + data.sum(axis=0, dtype=u64)[swap]

    nblocks = (n - 1) // 1024
    with np.errstate(over="ignore"):
        if nblocks:
            blocks = np.frombuffer(b, dtype="<u8", count=nblocks * 128).reshape(nblocks, 16, 8)
            dk = blocks ^ keys
            sums = ((dk & lo32) * (dk >> u64(32))).sum(axis=1, dtype=u64) \
                + blocks.sum(axis=1, dtype=u64)[:, swap]
            a = [int(x) for x in acc]
            sc = [int(x) for x in scramble]
            for row in sums.tolist():  # the scramble between blocks is sequential
                for i in range(8):
                    x = (a[i] + row[i]) & M64
                    a[i] = ((x ^ (x >> 47) ^ sc[i]) * P32_1) & M64
            acc = np.array(a, dtype=u64)
        rest = ((n - 1) - 1024 * nblocks) // 64
        if rest:
            data = np.frombuffer(b, dtype="<u8", count=rest * 8,
                                 offset=1024 * nblocks).reshape(rest, 8)
            acc += stripes_sum(data, keys[:rest])
        last = np.frombuffer(b, dtype="<u8", count=8, offset=n - 64).reshape(1, 8)
        lastkey = np.array([[_r64(K_SECRET, 192 - 64 - 7 + 8 * i) for i in range(8)]], dtype=u64)
        acc += stripes_sum(last, lastkey)
    a = [int(x) for x in acc]
    result = n * P64_1 & M64
    for i in range(4):
        result += _fold(a[2 * i] ^ _r64(K_SECRET, 11 + 16 * i),
                        a[2 * i + 1] ^ _r64(K_SECRET, 11 + 16 * i + 8))
    return _xxh3_avalanche(result & M64)


def xxh3_64_pure(data):
    """XXH3-64 with seed 0, in Python and numpy (about 100 MB/s on long inputs)."""
    b = bytes(data) if len(data) <= 240 else memoryview(data).cast("B")
    return _xxh3_short(b) if len(b) <= 240 else _xxh3_long(b)


def _xxh3(data):
    if os.environ.get("TROVE_READER_PURE_XXH3") != "1":
        try:
            import xxhash
            return xxhash.xxh3_64_intdigest(data)
        except ImportError:
            pass
    return xxh3_64_pure(data)


# ---- canonical CBOR (section 4) ---------------------------------------------------------------
class _Decoder:
    """Strict decoder of the canonical CBOR subset; offsets in errors are relative to `base`."""

    def __init__(self, buf, base=0, max_depth=LIMIT_DEPTH):
        self.buf = buf
        self.pos = 0
        self.base = base
        self.max_depth = max_depth
        self.items = 0

    def fail(self, message, at=None):
        _fail("corrupt", "header CBOR: " + message, self.base + (self.pos if at is None else at))

    def need(self, n):
        if n > len(self.buf) - self.pos:
            self.fail("item needs %d bytes, %d remain" % (n, len(self.buf) - self.pos))

    def argument(self, info, start):
        if info < 24:
            return info
        if info == 31:
            self.fail("indefinite length", start)
        if info > 27:
            self.fail("reserved additional information %d" % info, start)
        n = 1 << (info - 24)
        self.need(n)
        value = int.from_bytes(self.buf[self.pos:self.pos + n], "big")
        self.pos += n
        minimum = {1: 24, 2: 1 << 8, 4: 1 << 16, 8: 1 << 32}[n]
        if value < minimum:
            self.fail("argument %d not in its shortest form" % value, start)
        return value

    def item(self, depth):
        start = self.pos
        self.items += 1
        if self.items > LIMIT_ITEMS:
            _fail("limit", "header CBOR: more than %d items (section 8)" % LIMIT_ITEMS,
                  self.base + start)
        self.need(1)
        initial = self.buf[self.pos]
        self.pos += 1
        major, info = initial >> 5, initial & 31
        if major == 7:
            if info == 20:
                return False
            if info == 21:
                return True
            if info == 22:
                return None
            if info == 27:
                self.need(8)
                raw = bytes(self.buf[self.pos:self.pos + 8])
                self.pos += 8
                value = struct.unpack(">d", raw)[0]
                if value != value and raw != b"\x7f\xf8\x00\x00\x00\x00\x00\x00":
                    self.fail("NaN not in its canonical form 0x7FF8000000000000", start)
                return value
            if info in (25, 26):
                self.fail("half or single float (only float64 is canonical)", start)
            self.fail("simple value or break 0x%02x not allowed" % initial, start)
        if major == 6:
            self.fail("tag not allowed", start)
        arg = self.argument(info, start)
        if major == 0:
            return arg
        if major == 1:
            if arg > (1 << 63) - 1:
                self.fail("negative integer below -2^63", start)
            return -1 - arg
        if major in (2, 3):
            self.need(arg)
            raw = bytes(self.buf[self.pos:self.pos + arg])
            self.pos += arg
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8", "strict")  # refuses overlongs, surrogates, > U+10FFFF
            except UnicodeDecodeError as e:
                self.fail("invalid UTF-8 in text string (%s)" % e.reason, start)
        if depth + 1 > self.max_depth:
            _fail("limit", "header CBOR: nesting deeper than %d (section 8)" % self.max_depth,
                  self.base + start)
        remaining = len(self.buf) - self.pos
        if major == 4:
            if arg > remaining:
                self.fail("array of %d items in %d remaining bytes" % (arg, remaining), start)
            return [self.item(depth + 1) for _ in range(arg)]
        # major 5: map
        if arg > remaining // 2:
            self.fail("map of %d entries in %d remaining bytes" % (arg, remaining), start)
        out = {}
        prev = None
        for _ in range(arg):
            kstart = self.pos
            self.need(1)
            if self.buf[self.pos] >> 5 != 3:
                self.fail("map key is not a text string", kstart)
            key = self.item(depth + 1)
            kraw = key.encode("utf-8")
            if "\0" in key:
                self.fail("map key contains NUL", kstart)
            if prev is not None:
                order = (len(prev), prev) < (len(kraw), kraw)
                if kraw == prev:
                    self.fail("duplicate map key %r" % key, kstart)
                if not order:
                    self.fail("map keys not in canonical order (%r after %r)"
                              % (key, prev.decode("utf-8")), kstart)
            prev = kraw
            out[key] = self.item(depth + 1)
        return out


def cbor_decode(buf, max_depth=LIMIT_DEPTH, base=0):
    """Decode one canonical CBOR item filling buf exactly; refuses anything non-canonical."""
    dec = _Decoder(memoryview(buf), base, max_depth)
    value = dec.item(0)
    if dec.pos != len(dec.buf):
        dec.fail("%d trailing bytes after the top item" % (len(dec.buf) - dec.pos))
    return value


def _head(major, arg):
    if arg < 24:
        return bytes([(major << 5) | arg])
    for info, n in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < (1 << (8 * n)):
            return bytes([(major << 5) | info]) + arg.to_bytes(n, "big")
    raise ValueError("CBOR argument out of range")


def cbor_encode(value):
    """Canonical CBOR of a Python tree (None, bool, int, float, str, bytes, list, dict)."""
    out = bytearray()
    _encode_into(out, value)
    return bytes(out)


def _encode_into(out, v):
    if v is None:
        out.append(0xF6)
    elif v is True:
        out.append(0xF5)
    elif v is False:
        out.append(0xF4)
    elif isinstance(v, int):
        if v >= 0:
            if v > U64_MAX:
                raise ValueError("integer above 2^64-1")
            out += _head(0, v)
        else:
            if v < -(1 << 63):
                raise ValueError("integer below -2^63")
            out += _head(1, -1 - v)
    elif isinstance(v, float):
        out.append(0xFB)
        out += b"\x7f\xf8\x00\x00\x00\x00\x00\x00" if v != v else struct.pack(">d", v)
    elif isinstance(v, str):
        raw = v.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(v, (bytes, bytearray, memoryview)):
        raw = bytes(v)
        out += _head(2, len(raw)) + raw
    elif isinstance(v, (list, tuple)):
        out += _head(4, len(v))
        for x in v:
            _encode_into(out, x)
    elif isinstance(v, dict):
        keys = sorted((k.encode("utf-8"), k) for k in v)
        keys.sort(key=lambda kk: (len(kk[0]), kk[0]))
        out += _head(5, len(keys))
        for raw, k in keys:
            out += _head(3, len(raw)) + raw
            _encode_into(out, v[k])
    else:
        raise TypeError("cannot encode %r in CBOR" % type(v))


# ---- file structure ----------------------------------------------------------------------------
class Entry:
    """One validated tensor directory entry (section 5)."""

    __slots__ = ("name", "dtype", "shape", "offset", "size", "align", "chunk", "xxh3", "codec",
                 "blake2b", "count", "nbytes", "raw")

    def as_json(self):
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape),
                "offset": self.offset, "size": self.size, "align": self.align,
                "chunk": self.chunk, "codec": self.codec, "nbytes": self.nbytes,
                "blake2b": None if self.blake2b is None else self.blake2b.hex()}


def _is_uint(v):
    return type(v) is int and v >= 0


def _pow2_in(v, lo, hi):
    return _is_uint(v) and lo <= v <= hi and v & (v - 1) == 0


class TroveFile:
    """A trove file opened and validated as section 3 says (tensor bytes not read yet)."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size == 0:
                    _fail("not_trove", "empty file")
                self.mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            _fail("io", "cannot open %s: %s" % (path, e.strerror))
        self.buf = memoryview(self.mm)
        self.size = size
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def close(self):
        buf, self.buf = getattr(self, "buf", None), None
        if buf is not None:
            buf.release()
        mm, self.mm = getattr(self, "mm", None), None
        if mm is not None:
            try:
                mm.close()
            except BufferError:
                pass  # arrays still view it; the mapping goes when they do

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # section 3, in the order the spec prescribes
    def _open(self):
        b, size = self.buf, self.size
        if size >= len(ENC_MAGIC) and bytes(b[0:8]) == ENC_MAGIC:
            _fail("not_trove", "the file is an encrypted trove envelope (section 11.2): "
                  "decrypt it first", 0)
        if size < len(MAGIC) or bytes(b[0:8]) != MAGIC:
            _fail("not_trove", "bad magic: not a trove file", 0)
        if size < PREAMBLE + TRAILER:
            _fail("corrupt", "file of %d bytes is shorter than preamble + trailer (128): "
                  "truncated" % size)
        major, minor, bom = struct.unpack_from("<HHI", b, 8)
        if major != FORMAT_MAJOR:
            _fail("version", "file format version %d.%d, this reader reads version %d.x only"
                  % (major, minor, FORMAT_MAJOR), 8)
        if bom != BOM:
            _fail("corrupt", "byte-order mark is 0x%08x, expected 0x%08x" % (bom, BOM), 12)
        self.version = (major, minor)
        t = size - TRAILER
        (hoff, hlen, compat, ro_compat, incompat, hxxh3, check) = struct.unpack_from("<7Q", b, t)
        if bytes(b[t + 56:t + 64]) != END_MAGIC:
            _fail("corrupt", "end magic missing: truncated or unfinished file", t + 56)
        if _xxh3(bytes(b[0:PREAMBLE]) + bytes(b[t:t + 48])) != check:
            _fail("checksum", "trailer check does not match the preamble and trailer", t + 48)
        unknown = incompat & ~KNOWN_INCOMPAT
        if incompat & INCOMPAT_ENCRYPTED:
            _fail("unsupported", "file is an encrypted envelope (incompat bit ENCRYPTED): "
                  "decrypt it first", t + 32)
        if unknown:
            _fail("version", "unknown incompat feature bits 0x%x: this reader must refuse "
                  "the file" % unknown, t + 32)
        self.compat, self.ro_compat, self.incompat = compat, ro_compat, incompat
        if hoff < PREAMBLE:
            _fail("corrupt", "header_offset %d is inside the preamble" % hoff, t)
        if hoff + hlen > U64_MAX or hoff + hlen != size - TRAILER:
            _fail("corrupt", "header [%d, +%d) does not end where the trailer begins (%d)"
                  % (hoff, hlen, size - TRAILER), t)
        if hlen > LIMIT_HEADER_BYTES:
            _fail("limit", "header of %d bytes exceeds the limit %d" % (hlen, LIMIT_HEADER_BYTES),
                  t + 8)
        hbytes = b[hoff:hoff + hlen]
        if _xxh3(hbytes) != hxxh3:
            _fail("checksum", "header checksum (header_xxh3) does not match", hoff)
        self.header_offset, self.header_length = hoff, hlen
        self.header_bytes = bytes(hbytes)
        header = cbor_decode(self.header_bytes, LIMIT_DEPTH, base=hoff)
        self._check_header(header)

    def _check_header(self, header):
        hoff = self.header_offset
        if not isinstance(header, dict):
            _fail("corrupt", "header is not a map", hoff)
        if "meta" not in header or not isinstance(header["meta"], dict):
            _fail("corrupt", "header has no 'meta' map", hoff)
        if "tensors" not in header or not isinstance(header["tensors"], list):
            _fail("corrupt", "header has no 'tensors' array", hoff)
        self.header = header
        self.meta = header["meta"]
        dirs = header["tensors"]
        if len(dirs) > LIMIT_TENSORS:
            _fail("limit", "%d tensors exceed the limit %d" % (len(dirs), LIMIT_TENSORS), hoff)
        entries, names = [], set()
        cursor = PREAMBLE
        any_zstd = False
        for i, d in enumerate(dirs):
            e = self._check_entry(i, d)
            if e.name in names:
                _fail("corrupt", "tensor name %r appears twice" % e.name, hoff)
            names.add(e.name)
            if e.codec is not None:
                any_zstd = True
            # section 5.2: layout rule
            want = (cursor + e.align - 1) // e.align * e.align
            if e.offset != want:
                _fail("corrupt", "tensor %r at offset %d, layout rule says %d"
                      % (e.name, e.offset, want), hoff)
            end = e.offset + e.size
            if end > U64_MAX or end > self.header_offset:
                _fail("corrupt", "tensor %r [%d, +%d) runs past the header (%d)"
                      % (e.name, e.offset, e.size, self.header_offset), hoff)
            e.raw = (cursor, e.offset)  # padding run before this tensor
            cursor = end
            entries.append(e)
        if cursor != self.header_offset:
            _fail("corrupt", "tensors end at %d but the header starts at %d (hole)"
                  % (cursor, self.header_offset), hoff)
        if any_zstd and not self.incompat & INCOMPAT_ZSTD:
            _fail("corrupt", "a tensor is zstd-compressed but the ZSTD incompat bit is clear",
                  hoff)
        self.tensors = entries
        self.by_name = {e.name: e for e in entries}

    def _check_entry(self, i, d):
        hoff = self.header_offset

        def bad(msg):
            _fail("corrupt", "tensor entry %d: %s" % (i, msg), hoff)

        if not isinstance(d, dict):
            bad("not a map")
        for key in ("name", "dtype", "shape", "offset", "size", "align", "chunk", "xxh3"):
            if key not in d:
                bad("missing required key '%s'" % key)
        e = Entry()
        name = d["name"]
        if not isinstance(name, str):
            bad("name is not a string")
        nraw = name.encode("utf-8")
        if not 1 <= len(nraw) <= LIMIT_NAME_BYTES:
            if len(nraw) > LIMIT_NAME_BYTES:
                _fail("limit", "tensor entry %d: name of %d bytes exceeds %d"
                      % (i, len(nraw), LIMIT_NAME_BYTES), hoff)
            bad("empty name")
        if "\0" in name:
            bad("name contains NUL")
        e.name = name
        if not isinstance(d["dtype"], str) or d["dtype"] not in DTYPES:
            _fail("corrupt" if not isinstance(d["dtype"], str) else "unsupported",
                  "tensor %r: unknown dtype %r" % (name, d["dtype"]), hoff)
        e.dtype = d["dtype"]
        shape = d["shape"]
        if not isinstance(shape, list) or not all(_is_uint(x) for x in shape):
            bad("shape is not an array of unsigned integers")
        if len(shape) > MAX_RANK:
            bad("rank %d exceeds %d" % (len(shape), MAX_RANK))
        e.shape = tuple(shape)
        count = 1
        for x in shape:
            count *= x
            if count > U64_MAX:
                bad("element count overflows 64 bits")
        nbytes = count * DTYPES[e.dtype][0]
        if nbytes > U64_MAX:
            bad("byte size overflows 64 bits")
        e.count, e.nbytes = count, nbytes
        for key in ("offset", "size"):
            if not _is_uint(d[key]):
                bad("'%s' is not an unsigned integer" % key)
        e.offset, e.size = d["offset"], d["size"]
        if not _pow2_in(d["align"], 64, 65536):
            bad("align %r is not a power of two in 64..65536" % (d["align"],))
        if not _pow2_in(d["chunk"], 4096, 1 << 30):
            bad("chunk %r is not a power of two in 4096..2^30" % (d["chunk"],))
        e.align, e.chunk = d["align"], d["chunk"]
        nchunks = (e.size + e.chunk - 1) // e.chunk
        if not isinstance(d["xxh3"], bytes) or len(d["xxh3"]) != 8 * nchunks:
            bad("xxh3 must be %d bytes (8 per chunk)" % (8 * nchunks))
        e.xxh3 = d["xxh3"]
        e.codec = d.get("codec")
        if e.codec is not None:
            if e.codec != "zstd":
                _fail("unsupported", "tensor %r: unknown codec %r" % (name, e.codec), hoff)
            if nbytes > BOMB_RATIO * e.size + BOMB_SLACK:
                _fail("limit", "tensor %r: %d logical bytes from %d stored bytes exceed the "
                      "1024:1 + 1 MiB compression limit (section 8)" % (name, nbytes, e.size),
                      hoff)
        elif e.size != nbytes:
            bad("size %d != logical bytes %d of an uncompressed tensor" % (e.size, nbytes))
        e.blake2b = d.get("blake2b")
        if e.blake2b is not None and (not isinstance(e.blake2b, bytes) or len(e.blake2b) != 32):
            bad("blake2b is not 32 bytes")
        return e

    # ---- tensor bytes ----------------------------------------------------------------------
    def stored(self, e):
        return self.buf[e.offset:e.offset + e.size]

    def logical(self, e):
        """Logical little-endian bytes of e (a view of the mapping unless compressed)."""
        data = self.stored(e)
        if e.codec is None:
            return data
        try:
            import zstandard
        except ImportError:
            _fail("unsupported", "tensor %r is zstd-compressed and python3-zstandard is "
                  "not installed" % e.name)
        try:
            params = zstandard.get_frame_parameters(data)
        except zstandard.ZstdError as ex:
            _fail("corrupt", "tensor %r: bad zstd frame: %s" % (e.name, ex), e.offset)
        if params.content_size not in (e.nbytes, zstandard.CONTENTSIZE_UNKNOWN):
            _fail("corrupt", "tensor %r: zstd frame declares %d bytes, the shape needs %d"
                  % (e.name, params.content_size, e.nbytes), e.offset)
        try:
            obj = zstandard.ZstdDecompressor().decompressobj()
            out = obj.decompress(bytes(data))
            if not obj.eof or obj.unused_data:
                _fail("corrupt", "tensor %r: stored bytes are not exactly one zstd frame"
                      % e.name, e.offset)
        except zstandard.ZstdError as ex:
            _fail("corrupt", "tensor %r: bad zstd frame: %s" % (e.name, ex), e.offset)
        if len(out) != e.nbytes:
            _fail("corrupt", "tensor %r: zstd frame holds %d bytes, the shape needs %d"
                  % (e.name, len(out), e.nbytes), e.offset)
        return memoryview(out)

    def tensor(self, name, bfloat16="float32"):
        """numpy array of tensor `name` (read-only view of the mapping when uncompressed)."""
        e = self.by_name.get(name)
        if e is None:
            _fail("not_found", "no tensor %r" % name)
        data = self.logical(e)
        size, dt = DTYPES[e.dtype]
        if dt is None:  # bfloat16: the upper half of a binary32
            raw = np.frombuffer(data, dtype="<u2", count=e.count)
            if bfloat16 == "uint16":
                return raw.reshape(e.shape)
            return (raw.astype("<u4") << 16).view("<f4").reshape(e.shape)
        # bool bytes other than 0 and 1: section 5.1 says bools are 0 or 1 but not what a
        # reader does with others; like the C library, this reader does not scan for them
        return np.frombuffer(data, dtype=dt, count=e.count).reshape(e.shape)

    def verify(self, digests=True):
        """Check every chunk checksum and padding byte; with digests, stored blake2b too."""
        for e in self.tensors:
            pad_from, pad_to = e.raw
            if pad_to > pad_from and any(self.buf[pad_from:pad_to]):
                _fail("checksum", "padding before tensor %r is not zero" % e.name, pad_from)
            data = self.stored(e)
            for k in range(0, (e.size + e.chunk - 1) // e.chunk):
                want = int.from_bytes(e.xxh3[8 * k:8 * k + 8], "little")
                if _xxh3(data[k * e.chunk:(k + 1) * e.chunk]) != want:
                    _fail("checksum", "tensor %r: chunk %d does not match its checksum"
                          % (e.name, k), e.offset + k * e.chunk)
            if digests and e.blake2b is not None and self.tensor_digest(e) != e.blake2b:
                _fail("checksum", "tensor %r: content does not match its blake2b digest"
                      % e.name, e.offset)
        return True

    # ---- section 7 -------------------------------------------------------------------------
    def tensor_digest(self, e):
        data = self.logical(e)
        h = hashlib.blake2b(digest_size=32)
        h.update(TENSOR_PREFIX)
        h.update(struct.pack("<Q", e.nbytes))
        for at in range(0, e.nbytes, LEAF_BYTES):
            h.update(hashlib.blake2b(data[at:at + LEAF_BYTES], digest_size=32).digest())
        return h.digest()

    def model_digest(self, trust_stored=False):
        items = []
        for e in sorted(self.tensors, key=lambda x: x.name.encode("utf-8")):
            d = e.blake2b if (trust_stored and e.blake2b is not None) else self.tensor_digest(e)
            items.append({"name": e.name, "dtype": e.dtype, "shape": list(e.shape),
                          "blake2b": d})
        cbor = cbor_encode({"meta": self.meta, "tensors": items})
        return hashlib.blake2b(MODEL_PREFIX + cbor, digest_size=32).digest()


def open_file(path):
    return TroveFile(path)


def read(path, bfloat16="float32"):
    """(meta, {name: array}): arrays are copies, independent of the file."""
    with TroveFile(path) as f:
        return f.meta, {e.name: np.array(f.tensor(e.name, bfloat16)) for e in f.tensors}


def digest(path, trust_stored=False):
    with TroveFile(path) as f:
        return f.model_digest(trust_stored).hex()


def verify(path, digests=True):
    with TroveFile(path) as f:
        return f.verify(digests)


# ---- CLI ----------------------------------------------------------------------------------------
def to_json(v):
    """JSON-able form of a metadata tree: bytes as {"$bytes": base64}, NaN/inf as strings."""
    if isinstance(v, bytes):
        return {"$bytes": base64.b64encode(v).decode("ascii")}
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="independent reader of trove files (FORMAT.md)")
    ap.add_argument("file")
    ap.add_argument("--verify", action="store_true", help="check every checksum and digest")
    ap.add_argument("--digest", action="store_true", help="compute the model digest")
    args = ap.parse_args(argv)
    try:
        with TroveFile(args.file) as f:
            out = {"file": args.file, "size": f.size, "version": "%d.%d" % f.version,
                   "features": {"compat": f.compat, "ro_compat": f.ro_compat,
                                "incompat": f.incompat},
                   "header": {"offset": f.header_offset, "length": f.header_length},
                   "meta": to_json(f.meta),
                   "tensors": [e.as_json() for e in f.tensors]}
            extra = sorted(k for k in f.header if k not in ("meta", "tensors"))
            if extra:
                out["extra_header_keys"] = extra
            if args.verify:
                out["verified"] = f.verify()
            if args.digest:
                out["digest"] = f.model_digest().hex()
    except TroveReaderError as e:
        print(json.dumps({"file": args.file, "error": e.kind, "message": str(e)}))
        return 1
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
