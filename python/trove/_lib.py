"""trove._lib: finds libtrove.so and declares the C API (include/trove.h) for ctypes.

Search order: $TROVE_LIB (a path), libtrove.so next to this package, the build tree of the
repository this package sits in (../../build/libtrove.so), then ctypes.util.find_library.
"""
import ctypes
import ctypes.util
import os

c_u8p = ctypes.POINTER(ctypes.c_uint8)
c_u64p = ctypes.POINTER(ctypes.c_uint64)


class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("offset", ctypes.c_uint64),
                ("message", ctypes.c_char * 256)]


class OpenOptions(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("alloc", ctypes.c_void_p), ("max_header_bytes", ctypes.c_uint64),
                ("max_tensors", ctypes.c_uint32), ("max_name_bytes", ctypes.c_uint32),
                ("max_depth", ctypes.c_uint32), ("reserved_", ctypes.c_uint32),
                ("max_decompressed_bytes", ctypes.c_uint64),
                ("release", ctypes.c_void_p), ("release_ctx", ctypes.c_void_p)]


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("name_len", ctypes.c_size_t),
                ("dtype", ctypes.c_int), ("rank", ctypes.c_uint32), ("shape", c_u64p),
                ("count", ctypes.c_uint64), ("nbytes", ctypes.c_uint64),
                ("offset", ctypes.c_uint64), ("stored_bytes", ctypes.c_uint64),
                ("alignment", ctypes.c_uint32), ("compressed", ctypes.c_uint32)]


class WriteOptions(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("alloc", ctypes.c_void_p), ("alignment", ctypes.c_uint32),
                ("mode", ctypes.c_uint32), ("chunk_bytes", ctypes.c_uint32),
                ("zstd_level", ctypes.c_int)]


class TensorSpec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_uint32),
                ("shape", c_u64p), ("flags", ctypes.c_uint32), ("alignment", ctypes.c_uint32)]


class CryptOptions(ctypes.Structure):  # include/trove/security.h
    _fields_ = [("size", ctypes.c_uint32), ("write_flags", ctypes.c_uint32),
                ("alloc", ctypes.c_void_p), ("cipher", ctypes.c_uint32),
                ("chunk_bytes", ctypes.c_uint32), ("kdf_ops", ctypes.c_uint64),
                ("kdf_mem", ctypes.c_uint64), ("threads", ctypes.c_uint),
                ("mode", ctypes.c_uint32)]


# include/trove/core.h and format.h
OPEN_VERIFY, OPEN_NO_MMAP, OPEN_DIRECT, OPEN_POPULATE = 1, 2, 4, 8
WRITE_DIGESTS, WRITE_NO_SYNC = 1, 2
TENSOR_ZSTD = 1
DIGEST_TRUST_STORED = 1
DTYPE_NAMES = {1: "bool", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "uint8",
               7: "uint16", 8: "uint32", 9: "uint64", 10: "float16", 11: "bfloat16",
               12: "float32", 13: "float64"}
DTYPE_CODES = {v: k for k, v in DTYPE_NAMES.items()}


def _candidates():
    env = os.environ.get("TROVE_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "libtrove.so")
    yield os.path.join(os.path.dirname(os.path.dirname(here)), "build", "libtrove.so")
    found = ctypes.util.find_library("trove")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path + " (absent)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("trove: libtrove.so not found; set TROVE_LIB or run `make`. Tried: "
                      + "; ".join(tried) if tried else "trove: libtrove.so not found")


lib, path = _load()

_P = ctypes.c_void_p
_E = ctypes.POINTER(Error)
_SIGS = {
    "trove_strerror": (ctypes.c_char_p, [ctypes.c_int]),
    "trove_version_string": (ctypes.c_char_p, []),
    "trove_open": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p,
                                  ctypes.POINTER(OpenOptions), _E]),
    "trove_close": (None, [_P]),
    "trove_file_version": (None, [_P, ctypes.POINTER(ctypes.c_uint32),
                                  ctypes.POINTER(ctypes.c_uint32)]),
    "trove_file_features": (None, [_P, c_u64p, c_u64p, c_u64p]),
    "trove_file_size": (ctypes.c_uint64, [_P]),
    "trove_file_header_bytes": (None, [_P, ctypes.POINTER(_P), ctypes.POINTER(ctypes.c_size_t)]),
    "trove_file_tensor_count": (ctypes.c_size_t, [_P]),
    "trove_file_tensor_info": (ctypes.c_int, [_P, ctypes.c_size_t, ctypes.POINTER(TensorInfo)]),
    "trove_file_find": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]),
    "trove_file_tensor_data": (ctypes.c_int, [_P, ctypes.c_size_t, ctypes.POINTER(_P), _E]),
    "trove_file_verify_tensor": (ctypes.c_int, [_P, ctypes.c_size_t, _E]),
    "trove_file_verify": (ctypes.c_int, [_P, _E]),
    "trove_file_digest": (ctypes.c_int, [_P, ctypes.c_uint, ctypes.c_uint,
                                         ctypes.c_uint8 * 32, _E]),
    "trove_file_tensor_digest": (ctypes.c_int, [_P, ctypes.c_size_t, ctypes.c_uint8 * 32, _E]),
    "trove_writer_open": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p,
                                         ctypes.POINTER(WriteOptions), _E]),
    "trove_writer_set_metadata": (ctypes.c_int, [_P, _P, _E]),
    "trove_writer_add": (ctypes.c_int, [_P, ctypes.POINTER(TensorSpec), _P, _E]),
    "trove_writer_commit": (ctypes.c_int, [_P, _E]),
    "trove_writer_free": (None, [_P]),
    "trove_value_decode": (ctypes.c_int, [_P, ctypes.c_size_t, _P, ctypes.c_uint32,
                                          ctypes.POINTER(_P), _E]),
    "trove_value_free": (None, [_P]),
    "trove_file_metadata": (_P, [_P]),
    "trove_value_get": (_P, [_P, ctypes.c_char_p]),
    # include/trove/security.h
    "trove_secret_from_key": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p,
                                             ctypes.c_size_t, _E]),
    "trove_secret_from_passphrase": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p,
                                                    ctypes.c_size_t, _E]),
    "trove_secret_load": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p, _E]),
    "trove_secret_free": (None, [_P]),
    "trove_open_encrypted": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p, _P,
                                            ctypes.POINTER(OpenOptions),
                                            ctypes.POINTER(CryptOptions), _E]),
}
FILL_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P, _E)  # trove_fill_fn
lib.trove_write_encrypted.restype = ctypes.c_int
lib.trove_write_encrypted.argtypes = [ctypes.c_char_p, ctypes.POINTER(WriteOptions), FILL_FN, _P,
                                      _P, ctypes.POINTER(CryptOptions), _E]
for _name, (_res, _args) in _SIGS.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args
