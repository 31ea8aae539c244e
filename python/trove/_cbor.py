"""trove._cbor: canonical CBOR (docs/FORMAT.md section 4) for metadata, both directions.

Decoding is used on header bytes the C library has already validated; it stays strict anyway.
Encoding turns Python values (and numpy scalars and arrays) into the canonical form that the C
library's trove_value_decode accepts, so that metadata keeps its exact types: bytes stay bytes,
integers up to 2**64-1 stay exact, floats stay float64.
"""
import struct

_NAN = b"\x7f\xf8\x00\x00\x00\x00\x00\x00"


class CBORError(ValueError):
    pass


def _arg(buf, pos, info):
    if info < 24:
        return info, pos
    if info > 27:
        raise CBORError("unsupported CBOR additional information %d at %d" % (info, pos))
    n = 1 << (info - 24)
    if pos + n > len(buf):
        raise CBORError("truncated CBOR argument at %d" % pos)
    v = int.from_bytes(buf[pos:pos + n], "big")
    if v < (24 if n == 1 else 1 << (4 * n)):
        raise CBORError("non-shortest CBOR argument at %d" % pos)
    return v, pos + n


def _item(buf, pos, depth):
    if depth > 64:
        raise CBORError("CBOR nested deeper than 64")
    if pos >= len(buf):
        raise CBORError("truncated CBOR")
    ib = buf[pos]
    major, info = ib >> 5, ib & 31
    pos += 1
    if major == 7:
        simple = {20: False, 21: True, 22: None}
        if info in simple:
            return simple[info], pos
        if info == 27 and pos + 8 <= len(buf):
            raw = bytes(buf[pos:pos + 8])
            v = struct.unpack(">d", raw)[0]
            if v != v and raw != _NAN:
                raise CBORError("non-canonical NaN")
            return v, pos + 8
        raise CBORError("CBOR simple value 0x%02x not allowed" % ib)
    if major == 6:
        raise CBORError("CBOR tags are not allowed")
    v, pos = _arg(buf, pos, info)
    if major == 0:
        return v, pos
    if major == 1:
        if v >= 1 << 63:
            raise CBORError("integer below -2**63")
        return -1 - v, pos
    if major in (2, 3):
        if pos + v > len(buf):
            raise CBORError("truncated CBOR string")
        raw = bytes(buf[pos:pos + v])
        return (raw if major == 2 else raw.decode("utf-8")), pos + v
    if major == 4:
        if v > len(buf) - pos:
            raise CBORError("CBOR array count exceeds the input")
        out = []
        for _ in range(v):
            x, pos = _item(buf, pos, depth + 1)
            out.append(x)
        return out, pos
    if v > len(buf) - pos:
        raise CBORError("CBOR map count exceeds the input")
    out = {}
    last = None
    for _ in range(v):
        if pos >= len(buf) or buf[pos] >> 5 != 3:
            raise CBORError("CBOR map key is not a text string")
        k, pos = _item(buf, pos, depth + 1)
        kb = k.encode("utf-8")
        if last is not None and (len(last), last) >= (len(kb), kb):
            raise CBORError("CBOR map keys not unique and in canonical order")
        last = kb
        out[k], pos = _item(buf, pos, depth + 1)
    return out, pos


def loads(buf):
    """Decode one canonical CBOR item that fills buf exactly."""
    buf = memoryview(buf).cast("B")
    v, pos = _item(buf, 0, 1)
    if pos != len(buf):
        raise CBORError("%d trailing bytes after the CBOR item" % (len(buf) - pos))
    return v


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise CBORError("integer above 2**64-1 cannot be stored")


def _plain(v):
    """numpy scalars and arrays to plain Python values; other objects unchanged."""
    mod = type(v).__module__
    if mod == "numpy":
        if hasattr(v, "tolist"):
            return v.tolist()
    if mod == "torch" and hasattr(v, "tolist"):
        return v.tolist()
    return v


def _enc(out, v, path):
    v = _plain(v)
    if v is None:
        out.append(0xF6)
    elif v is True or v is False:
        out.append(0xF5 if v else 0xF4)
    elif isinstance(v, int):
        if v >= 0:
            out += _head(0, v)
        elif v >= -(1 << 63):
            out += _head(1, -1 - v)
        else:
            raise CBORError("%s: integer %d is below -2**63" % (path, v))
    elif isinstance(v, float):
        out.append(0xFB)
        out += _NAN if v != v else struct.pack(">d", v)
    elif isinstance(v, str):
        b = v.encode("utf-8")  # refuses lone surrogates
        out += _head(3, len(b)) + b
    elif isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        out += _head(2, len(b)) + b
    elif isinstance(v, (list, tuple)):
        out += _head(4, len(v))
        for i, x in enumerate(v):
            _enc(out, x, "%s[%d]" % (path, i))
    elif isinstance(v, dict):
        items = []
        for k, x in v.items():
            if not isinstance(k, str):
                raise CBORError("%s: map key %r is not a string" % (path, k))
            if "\0" in k:
                raise CBORError("%s: map key %r contains NUL" % (path, k))
            items.append((k.encode("utf-8"), k, x))
        items.sort(key=lambda t: (len(t[0]), t[0]))
        out += _head(5, len(items))
        for kb, k, x in items:
            out += _head(3, len(kb)) + kb
            _enc(out, x, "%s.%s" % (path, k))
    else:
        raise CBORError("%s: cannot store a %s in metadata (use None, bool, int, float, str, "
                        "bytes, list or dict)" % (path, type(v).__name__))


def dumps(v):
    """Canonical CBOR bytes of v."""
    out = bytearray()
    _enc(out, v, "metadata")
    return bytes(out)
