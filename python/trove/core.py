"""trove.core: save and load tensors (numpy arrays, PyTorch state_dicts) with libtrove.

Loading is zero-copy: an uncompressed tensor is a read-only numpy array over the file's
read-only mapping, and the mapping stays alive as long as any array made from it does.
"""
import ctypes
import datetime
import sys
import warnings

import numpy as np

from . import _cbor
from ._lib import (DIGEST_TRUST_STORED, DTYPE_CODES, DTYPE_NAMES, FILL_FN, OPEN_VERIFY,
                   TENSOR_ZSTD, WRITE_DIGESTS, WRITE_NO_SYNC, CryptOptions, Error, OpenOptions,
                   TensorInfo, TensorSpec, WriteOptions, lib)

__all__ = ["TroveError", "File", "Tensor", "open", "load", "dump", "version"]


# numpy dtype -> trove dtype name (bfloat16 has no numpy dtype: see _to_numpy)
_NP_TO_TROVE = {np.dtype(np.bool_): "bool", np.dtype(np.int8): "int8",
                np.dtype(np.int16): "int16", np.dtype(np.int32): "int32",
                np.dtype(np.int64): "int64", np.dtype(np.uint8): "uint8",
                np.dtype(np.uint16): "uint16", np.dtype(np.uint32): "uint32",
                np.dtype(np.uint64): "uint64", np.dtype(np.float16): "float16",
                np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}
_TROVE_TO_NP = {v: k.newbyteorder("<") for k, v in _NP_TO_TROVE.items()}

# metadata keys with a meaning fixed by docs/FORMAT.md section 9; other user keys go under "user"
RESERVED_KEYS = {"kind", "kind_version", "producer", "created", "description", "license",
                 "estimator", "params", "signature", "lineage", "metrics", "user"}


class TroveError(Exception):
    """An error reported by libtrove: code is the TROVE_E_* status (negative int)."""

    def __init__(self, code, message, offset=None):
        self.code = code
        self.message = message
        self.offset = offset
        name = lib.trove_strerror(code).decode("utf-8", "replace")
        super().__init__("%s (%d): %s" % (name, code, message))


def _check(rc, err):
    if rc != 0:
        off = err.offset if err.offset != 2**64 - 1 else None
        raise TroveError(rc, err.message.decode("utf-8", "replace"), off)


def version():
    """Version string of the loaded libtrove ("0.1.0")."""
    return lib.trove_version_string().decode()


class _Handle:
    """Owns one trove_file*; closed when the last File or array referring to it goes away."""

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, ptr):
        self.ptr = ptr

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr:
            lib.trove_close(ptr)


class _View:
    """Exposes read-only memory of the file to numpy; numpy keeps it as the array's base, so
    it holds the file (the _Handle) for as long as the array or any view of it lives."""

    __slots__ = ("__array_interface__", "_trove_owner")

    def __init__(self, address, shape, typestr, owner):
        self.__array_interface__ = {"data": (address, True), "shape": shape,
                                    "typestr": typestr, "version": 3}
        self._trove_owner = owner


class Tensor:
    """Directory entry of one tensor: name, dtype (trove name), shape, nbytes, compressed."""

    __slots__ = ("index", "name", "dtype", "shape", "nbytes", "offset", "stored_bytes",
                 "compressed")

    def __repr__(self):
        return "Tensor(%r, %s, %s%s)" % (self.name, self.dtype, self.shape,
                                         ", zstd" if self.compressed else "")


class File:
    """A trove file opened lazily (only the header is read). Use as a context manager.

    f.metadata   the metadata tree (dict), decoded from the header's canonical CBOR
    f.tensors    {name: Tensor} in file order
    f[name]      a read-only numpy array (zero-copy for uncompressed tensors)
    f.verify()   checks every checksum (raises TroveError); f.digest() the model digest (hex)
    close() drops this object's hold on the mapping; arrays already returned stay valid and
    keep the mapping alive until they are garbage.
    """

    def __init__(self, path, verify=False, key=None, passphrase=None):
        err = Error()
        opts = OpenOptions(size=ctypes.sizeof(OpenOptions), flags=OPEN_VERIFY if verify else 0)
        ptr = ctypes.c_void_p()
        if key is None and passphrase is None:
            rc = lib.trove_open(ctypes.byref(ptr), _fspath(path), ctypes.byref(opts),
                                ctypes.byref(err))
        else:  # encrypted: decrypted into memory that trove wipes when the file is closed
            with _Secret(key, passphrase) as s:
                rc = lib.trove_open_encrypted(ctypes.byref(ptr), _fspath(path), s.h,
                                              ctypes.byref(opts), None, ctypes.byref(err))
        _check(rc, err)
        self._h = _Handle(ptr)
        self.path = path
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        lib.trove_file_header_bytes(ptr, ctypes.byref(p), ctypes.byref(n))
        self.header_bytes = ctypes.string_at(p, n.value)
        self._header = None
        self.tensors = {}
        info = TensorInfo()
        for i in range(lib.trove_file_tensor_count(ptr)):
            _check(lib.trove_file_tensor_info(ptr, i, ctypes.byref(info)), Error())
            t = Tensor()
            t.index = i
            t.name = ctypes.string_at(info.name, info.name_len).decode("utf-8")
            t.dtype = DTYPE_NAMES[info.dtype]
            t.shape = tuple(info.shape[k] for k in range(info.rank))
            t.nbytes, t.offset, t.stored_bytes = info.nbytes, info.offset, info.stored_bytes
            t.compressed = bool(info.compressed)
            self.tensors[t.name] = t

    def _ptr(self):
        if self._h is None:
            raise ValueError("I/O operation on a closed trove file")
        return self._h.ptr

    @property
    def header(self):
        """The whole header (dict with "meta", "tensors" and extensions such as signatures)."""
        if self._header is None:
            self._header = _cbor.loads(self.header_bytes)
        return self._header

    def has_meta_key(self, key):
        """True when the metadata has a top-level key (without decoding the whole header)."""
        return bool(lib.trove_value_get(lib.trove_file_metadata(self._ptr()), key.encode()))

    @property
    def metadata(self):
        return self.header["meta"]

    @property
    def size(self):
        return lib.trove_file_size(self._ptr())

    @property
    def version(self):
        a, b = ctypes.c_uint32(), ctypes.c_uint32()
        lib.trove_file_version(self._ptr(), ctypes.byref(a), ctypes.byref(b))
        return (a.value, b.value)

    def keys(self):
        return self.tensors.keys()

    def __iter__(self):
        return iter(self.tensors)

    def __len__(self):
        return len(self.tensors)

    def __contains__(self, name):
        return name in self.tensors

    def __getitem__(self, name):
        return self.array(name)

    def array(self, name, bfloat16="float32"):
        """Tensor `name` as a read-only numpy array viewing the file (no copy).

        bfloat16 tensors have no numpy dtype: bfloat16="float32" returns an exact float32
        copy, "uint16" a zero-copy view of the raw bits."""
        t = self.tensors.get(name)
        if t is None:
            raise KeyError(name)
        ptr = self._ptr()
        if t.nbytes == 0:
            dt = np.dtype("<u2") if t.dtype == "bfloat16" else _TROVE_TO_NP[t.dtype]
            a = np.empty(t.shape, dtype=dt if bfloat16 == "uint16" or t.dtype != "bfloat16"
                         else np.float32)
            a.flags.writeable = False
            return a
        err = Error()
        data = ctypes.c_void_p()
        _check(lib.trove_file_tensor_data(ptr, t.index, ctypes.byref(data), ctypes.byref(err)),
               err)
        if t.dtype == "bfloat16":
            bits = np.asarray(_View(data.value, t.shape, "<u2", self._h))
            if bfloat16 == "uint16":
                return bits
            out = (bits.astype("<u4") << 16).view("<f4")
            out.flags.writeable = False
            return out
        return np.asarray(_View(data.value, t.shape, _TROVE_TO_NP[t.dtype].str, self._h))

    def verify(self):
        """Check every chunk checksum and padding byte; raises TroveError (CHECKSUM) if not."""
        err = Error()
        _check(lib.trove_file_verify(self._ptr(), ctypes.byref(err)), err)
        return True

    def verify_tensor(self, name):
        err = Error()
        _check(lib.trove_file_verify_tensor(self._ptr(), self.tensors[name].index,
                                            ctypes.byref(err)), err)
        return True

    def digest(self, trust_stored=False, threads=0):
        """Model digest (docs/FORMAT.md section 7) as lowercase hex."""
        out = (ctypes.c_uint8 * 32)()
        err = Error()
        _check(lib.trove_file_digest(self._ptr(), DIGEST_TRUST_STORED if trust_stored else 0,
                                     threads, out, ctypes.byref(err)), err)
        return bytes(out).hex()

    def tensor_digest(self, name):
        out = (ctypes.c_uint8 * 32)()
        err = Error()
        _check(lib.trove_file_tensor_digest(self._ptr(), self.tensors[name].index, out,
                                            ctypes.byref(err)), err)
        return bytes(out).hex()

    def close(self):
        self._h = None

    @property
    def closed(self):
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<trove.File %r, %d tensors%s>" % (self.path, len(self.tensors),
                                                  " (closed)" if self.closed else "")


def _fspath(path):
    import os
    p = os.fsencode(path)
    if b"\0" in p:
        raise ValueError("path contains NUL")
    return p


class _Secret:
    """An encryption secret (trove_secret) for the duration of a with-block.

    key: 32 raw bytes, or the path of a key file ('trove keygen --symmetric');
    passphrase: str or bytes (stretched with Argon2id by the library)."""

    def __init__(self, key=None, passphrase=None):
        if (key is None) == (passphrase is None):
            raise ValueError("give exactly one of key= or passphrase=")
        err = Error()
        h = ctypes.c_void_p()
        if passphrase is not None:
            pw = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
            rc = lib.trove_secret_from_passphrase(ctypes.byref(h), pw, len(pw), ctypes.byref(err))
        elif isinstance(key, (bytes, bytearray, memoryview)):
            k = bytes(key)
            rc = lib.trove_secret_from_key(ctypes.byref(h), k, len(k), ctypes.byref(err))
        else:
            rc = lib.trove_secret_load(ctypes.byref(h), _fspath(key), ctypes.byref(err))
        _check(rc, err)
        self.h = h

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.trove_secret_free(self.h)
        self.h = None


def open(path, verify=False, key=None, passphrase=None):  # noqa: A001 - mirrors the builtin
    """Open a trove file lazily: validates the header, reads no tensor bytes (unless verify).
    An encrypted file needs key= (32 bytes or a key file path) or passphrase=."""
    return File(path, verify=verify, key=key, passphrase=passphrase)


def _sklearn_module():
    try:
        from . import sklearn as sk
    except ImportError as e:
        raise TroveError(-11, "this file or object is a scikit-learn model, and trove.sklearn "
                         "is not available (%s)" % e) from None
    return sk


def _is_sklearn_estimator(obj):
    base = sys.modules.get("sklearn.base")
    return base is not None and isinstance(obj, base.BaseEstimator)


def load(path, framework=None, verify=False, copy=None, bfloat16="float32", key=None,
         passphrase=None, **kwargs):
    """Load every tensor of a trove file.

    framework=None (numpy): {name: read-only numpy array}, zero-copy views of the mapping
    (compressed tensors are decompressed once, into memory the file owns).
    framework="torch": {name: torch.Tensor}. torch tensors cannot be read-only, and writing to
    the read-only mapping would crash, so by default (copy=None) they are copies; copy=False
    gives zero-copy tensors that must never be written in place.
    Files whose metadata has a "kind" (a model, e.g. from scikit-learn) are loaded by
    trove.sklearn.load(path, **kwargs).
    verify=True checks every checksum first (TroveError on mismatch).
    key= / passphrase= open an encrypted file (trove.dump(..., key=...)).
    """
    with File(path, verify=verify, key=key, passphrase=passphrase) as f:
        if framework is None and f.has_meta_key("kind"):
            if key is not None or passphrase is not None:  # encrypted: the same secret
                kwargs = dict(kwargs, key=key, passphrase=passphrase)
            return _sklearn_module().load(path, **kwargs)
        if kwargs:
            raise TypeError("unexpected arguments: %s" % ", ".join(sorted(kwargs)))
        if framework in (None, "numpy"):
            return {name: f.array(name, bfloat16) for name in f.tensors}
        if framework not in ("torch", "pytorch"):
            raise ValueError("framework must be None, 'numpy' or 'torch'")
        import torch
        out = {}
        for name, t in f.tensors.items():
            if t.dtype == "bfloat16":
                a = f.array(name, "uint16").view(np.int16)
            else:
                a = f.array(name)
            if copy is False:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=".*not writable.*")
                    x = torch.from_numpy(a)
            else:
                x = torch.from_numpy(np.array(a))
            if t.dtype == "bfloat16":
                x = x.view(torch.bfloat16)
            out[name] = x
        return out


def _to_numpy(name, v):
    """(trove dtype name, C-contiguous native-order array) for a numpy array or torch tensor."""
    mod = type(v).__module__
    if mod.startswith("torch"):
        import torch
        if not isinstance(v, torch.Tensor):
            raise TypeError("%r: %s is not a tensor" % (name, type(v).__name__))
        v = v.detach().cpu()
        if v.dtype == torch.bfloat16:
            bits = v.contiguous().view(torch.int16).numpy()
            return "bfloat16", np.require(bits, requirements="C")
        v = v.numpy()
    if not isinstance(v, np.ndarray):
        if isinstance(v, (int, float, bool, np.generic)):
            v = np.asarray(v)
        else:
            raise TypeError("%r: cannot store a %s as a tensor" % (name, type(v).__name__))
    if v.dtype.name == "bfloat16":  # ml_dtypes / jax bfloat16
        return "bfloat16", np.require(v, requirements="C").view(np.uint16)
    native = v.dtype.newbyteorder("=")
    dt = _NP_TO_TROVE.get(native)
    if dt is None:
        raise TypeError("%r: dtype %s has no trove equivalent (bool, int8..64, uint8..64, "
                        "float16, bfloat16, float32, float64)" % (name, v.dtype))
    return dt, np.require(v, dtype=native, requirements="C")


def _producer(obj):
    for v in obj.values():
        if type(v).__module__.startswith("torch"):
            import torch
            return {"name": "torch", "version": torch.__version__}
    return {"name": "numpy", "version": np.__version__}


def _metadata(obj, meta, user_kwargs, created):
    m = {"producer": _producer(obj)}
    if created:
        m["created"] = datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    user = {}
    for k, v in user_kwargs.items():
        if k in RESERVED_KEYS or k.startswith("x-"):
            m[k] = v
        else:
            user[k] = v
    if meta:
        m.update(meta)
    if user:
        m.setdefault("user", {})
        if not isinstance(m["user"], dict):
            raise TypeError("metadata 'user' must be a dict")
        m["user"] = dict(m["user"], **user)
    return m


_CIPHERS = {None: 0, "xchacha20poly1305": 1, "aes256gcm": 2}


def _crypt_options(sync, cipher, kdf_ops, kdf_mem):
    """The envelope options of an encrypted write (trove_crypt_options)."""
    if cipher not in _CIPHERS:
        raise ValueError("cipher must be 'xchacha20poly1305' or 'aes256gcm', not %r" % (cipher,))
    for name, v in (("kdf_ops", kdf_ops), ("kdf_mem", kdf_mem)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError("%s must be a non-negative int (0 = libsodium MODERATE)" % name)
    return CryptOptions(size=ctypes.sizeof(CryptOptions),
                        write_flags=0 if sync else WRITE_NO_SYNC, cipher=_CIPHERS[cipher],
                        kdf_ops=kdf_ops, kdf_mem=kdf_mem)


def dump(obj, path, /, *, compress=False, digests=False, alignment=0, chunk_bytes=0,
         zstd_level=0, sync=True, created=True, meta=None, key=None, passphrase=None,
         cipher=None, kdf_ops=0, kdf_mem=0, **metadata):
    """Save a dict of numpy arrays / torch tensors (e.g. a state_dict) to path, atomically.

    Metadata: producer (numpy or torch, with version) and created (RFC 3339 UTC) are recorded;
    keyword arguments with a reserved name (description, license, metrics, ...; section 9 of
    docs/FORMAT.md) or an "x-" prefix go to the top of the metadata, others under "user";
    meta={...} sets top-level keys verbatim. compress: True (every tensor), or a collection of
    names, stores tensors as zstd frames. digests=True stores each tensor's BLAKE2b digest.
    A scikit-learn estimator is handed to trove.sklearn.dump(obj, path, **metadata).
    key= (32 bytes, or a key file path) or passphrase= write an encrypted file instead: the
    bytes stream through the encryption, the plaintext never on disk. cipher=
    'xchacha20poly1305' (default) or 'aes256gcm'; kdf_ops= / kdf_mem= set the Argon2id cost
    of a passphrase (0 = libsodium MODERATE: 3 passes, 256 MiB), stored in the file.
    sync=False skips the fsync (plain and encrypted files alike).
    """
    if _is_sklearn_estimator(obj):  # forwarded: the options given, and the metadata
        given = {k: v for k, v in (("key", key), ("passphrase", passphrase), ("cipher", cipher))
                 if v is not None}
        given.update({k: v for k, v in (("kdf_ops", kdf_ops), ("kdf_mem", kdf_mem)) if v})
        if not sync:
            given["sync"] = False
        return _sklearn_module().dump(obj, path, **given, **metadata)
    copts = _crypt_options(sync, cipher, kdf_ops, kdf_mem)
    if key is None and passphrase is None and (cipher is not None or kdf_ops or kdf_mem):
        raise ValueError("cipher=, kdf_ops= and kdf_mem= need key= or passphrase=")
    if hasattr(obj, "state_dict") and callable(obj.state_dict) and not isinstance(obj, dict):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise TypeError("trove.dump: expected a dict of arrays/tensors (or a torch module or "
                        "scikit-learn estimator), got %s" % type(obj).__name__)
    tensors = []
    for name, v in obj.items():
        if not isinstance(name, str):
            raise TypeError("tensor names must be strings, got %r" % (name,))
        tensors.append((name,) + _to_numpy(name, v))
    meta_cbor = _cbor.dumps(_metadata(obj, meta, metadata, created))

    err = Error()
    opts = WriteOptions(size=ctypes.sizeof(WriteOptions),
                        flags=(WRITE_DIGESTS if digests else 0) | (0 if sync else WRITE_NO_SYNC),
                        alignment=alignment, chunk_bytes=chunk_bytes, zstd_level=zstd_level)
    def fill(w, errp):
        value = ctypes.c_void_p()
        rc = lib.trove_value_decode(meta_cbor, len(meta_cbor), None, 0, ctypes.byref(value),
                                    errp)
        if rc:
            return rc
        rc = lib.trove_writer_set_metadata(w, value, errp)  # takes value
        for name, dt, a in tensors:
            if rc:
                return rc
            shape = (ctypes.c_uint64 * max(a.ndim, 1))(*a.shape)
            z = compress is True or (compress and not isinstance(compress, bool)
                                     and name in compress)
            spec = TensorSpec(name=name.encode("utf-8"), dtype=DTYPE_CODES[dt], rank=a.ndim,
                              shape=shape, flags=TENSOR_ZSTD if z else 0, alignment=0)
            data = a.ctypes.data if a.size else None
            rc = lib.trove_writer_add(w, ctypes.byref(spec), data, errp)
        return rc

    if key is not None or passphrase is not None:
        raised = []

        def cb(w, ctx, errp):
            try:
                return fill(w, errp)
            except BaseException as e:  # never let an exception cross the C frames
                raised.append(e)
                return -1
        with _Secret(key, passphrase) as s:
            rc = lib.trove_write_encrypted(_fspath(path), ctypes.byref(opts), FILL_FN(cb), None,
                                           s.h, ctypes.byref(copts), ctypes.byref(err))
        if raised:
            raise raised[0]
        _check(rc, err)
        return
    w = ctypes.c_void_p()
    _check(lib.trove_writer_open(ctypes.byref(w), _fspath(path), ctypes.byref(opts),
                                 ctypes.byref(err)), err)
    try:
        _check(fill(w, ctypes.byref(err)), err)
        _check(lib.trove_writer_commit(w, ctypes.byref(err)), err)
    finally:
        lib.trove_writer_free(w)
