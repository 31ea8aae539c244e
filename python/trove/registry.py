"""trove.registry: versions of models in a trove registry (docs/REGISTRY.md), over libtrove.

    from trove import registry
    with registry.open("/srv/models") as reg:          # or open() for $TROVE_REGISTRY / default
        v = reg.push("model.trove", "fraud", message="retrained", alias="staging",
                     metrics={"auc": 0.947})
        reg.push({"w": w, "b": b}, "tiny")                # arrays: written with trove.dump first
        reg.alias("fraud", "prod", v.number)
        reg.pull("fraud@prod", "serving.trove")         # byte-identical, verified
        for v in reg.log("fraud"): print(v.number, v.digest, v.aliases, v.metrics)
        reg.alias_history("fraud"); reg.rm("fraud:1", force=True); reg.gc(); reg.fsck()

Errors raise trove.TroveError(code, message), as the rest of the package.
"""
import ctypes
import json
import os
import tempfile
from collections import namedtuple

from ._lib import Error, lib
from .core import TroveError

_P = ctypes.c_void_p
_E = ctypes.POINTER(Error)

REGISTRY_CREATE, REGISTRY_SHARED, REGISTRY_NO_SYNC, REGISTRY_READONLY = 1, 2, 4, 8
REGISTRY_REHASH = 32
RM_FORCE = 1


class _Options(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("alloc", _P),
                ("busy_timeout_ms", ctypes.c_uint32), ("threads", ctypes.c_uint32)]


class _Version(ctypes.Structure):
    _fields_ = [("model", ctypes.c_char_p), ("number", ctypes.c_int64),
                ("digest", ctypes.c_uint8 * 32), ("file_id", ctypes.c_uint8 * 32),
                ("file_bytes", ctypes.c_uint64), ("created", ctypes.c_int64),
                ("author", ctypes.c_char_p), ("message", ctypes.c_char_p),
                ("metrics_json", ctypes.c_char_p), ("params_json", ctypes.c_char_p),
                ("parent", ctypes.c_char_p), ("has_parent_digest", ctypes.c_int),
                ("parent_digest", ctypes.c_uint8 * 32), ("data_digest", ctypes.c_char_p),
                ("signature", ctypes.c_char_p), ("aliases", ctypes.c_char_p)]


class _PushOptions(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("message", ctypes.c_char_p),
                ("author", ctypes.c_char_p), ("alias", ctypes.c_char_p),
                ("parent", ctypes.c_char_p), ("data_digest", ctypes.c_char_p),
                ("metrics", ctypes.POINTER(ctypes.c_char_p)), ("n_metrics", ctypes.c_size_t),
                ("params", ctypes.POINTER(ctypes.c_char_p)), ("n_params", ctypes.c_size_t),
                ("trusted", _P), ("ntrusted", ctypes.c_size_t), ("sig_result", _P)]


class _Pubkey(ctypes.Structure):
    _fields_ = [("key", ctypes.c_uint8 * 32), ("id", ctypes.c_uint8 * 8)]


class _VerifyResult(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("signatures", ctypes.c_uint32),
                ("valid", ctypes.c_uint32), ("key_id", ctypes.c_uint8 * 8),
                ("time", ctypes.c_int64), ("digest", ctypes.c_uint8 * 32)]


_E_SIGNATURE = -15  # TROVE_E_SIGNATURE
# trove_sig_status, as names
SIG_STATUS = {0: "valid", 1: "unsigned", 2: "unknown key", 3: "bad signature", 4: "corrupt"}


class SignatureError(TroveError):
    """A required signature is missing or wrong. .status: 'unsigned', 'unknown key',
    'bad signature' (docs/REGISTRY.md, docs/SECURITY.md)."""

    def __init__(self, code, message, status):
        super().__init__(code, message)
        self.status = status


class _Move(ctypes.Structure):
    _fields_ = [("model", ctypes.c_char_p), ("alias", ctypes.c_char_p),
                ("from_", ctypes.c_int64), ("to", ctypes.c_int64),
                ("who", ctypes.c_char_p), ("at", ctypes.c_int64)]


class _Stats(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("versions", "logical_bytes", "blobs",
                                               "blob_bytes", "removed_blobs", "removed_bytes",
                                               "damaged")]


_VP = ctypes.POINTER(_Version)
_REPORT = ctypes.CFUNCTYPE(None, _P, ctypes.c_int, ctypes.c_char_p)
_SIGS = {
    "trove_registry_default_dir": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t, _E]),
    "trove_registry_open": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_char_p,
                                           ctypes.POINTER(_Options), _E]),
    "trove_registry_close": (None, [_P]),
    "trove_registry_versions_free": (None, [_P, _VP, ctypes.c_size_t]),
    "trove_registry_push": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p,
                                           ctypes.POINTER(_PushOptions), ctypes.POINTER(_VP),
                                           _E]),
    "trove_registry_resolve": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_VP), _E]),
    "trove_registry_pull": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p,
                                           ctypes.POINTER(_VP), _E]),
    "trove_registry_pull_trusted": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p,
                                                   ctypes.POINTER(_Pubkey), ctypes.c_size_t,
                                                   ctypes.POINTER(_VerifyResult),
                                                   ctypes.POINTER(_VP), _E]),
    "trove_pubkey_load": (ctypes.c_int, [ctypes.POINTER(_Pubkey), ctypes.c_char_p, _E]),
    "trove_registry_log": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_VP),
                                          ctypes.POINTER(ctypes.c_size_t), _E]),
    "trove_registry_alias": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p,
                                            ctypes.c_int64, ctypes.c_char_p, _E]),
    "trove_registry_alias_history": (ctypes.c_int, [_P, ctypes.c_char_p,
                                                    ctypes.POINTER(ctypes.POINTER(_Move)),
                                                    ctypes.POINTER(ctypes.c_size_t), _E]),
    "trove_registry_alias_moves_free": (None, [_P, ctypes.POINTER(_Move), ctypes.c_size_t]),
    "trove_registry_rm": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_uint, _E]),
    "trove_registry_gc": (ctypes.c_int, [_P, ctypes.POINTER(_Stats), _E]),
    "trove_registry_stat": (ctypes.c_int, [_P, ctypes.POINTER(_Stats), _E]),
    "trove_registry_fsck": (ctypes.c_int, [_P, ctypes.c_uint, _REPORT, _P,
                                           ctypes.POINTER(_Stats), _E]),
}
for _name, (_res, _args) in _SIGS.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

Version = namedtuple("Version", "model number digest file_bytes created author message metrics "
                                "params parent parent_digest training_data signature aliases")
Version.__doc__ = "One registered version (digests as lower-case hex)."
AliasMove = namedtuple("AliasMove", "model alias from_version to_version who at")
Stats = namedtuple("Stats", "versions logical_bytes blobs blob_bytes removed_blobs removed_bytes "
                            "damaged")


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


def _b(s):
    return None if s is None else os.fsencode(s) if isinstance(s, os.PathLike) else \
        s.encode("utf-8")


def _load_keys(paths):
    """An array of trove_pubkey from public key files, and its length."""
    if not paths:
        return None, 0
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    keys = (_Pubkey * len(paths))()
    for i, path in enumerate(paths):
        err = Error()
        _check(lib.trove_pubkey_load(ctypes.byref(keys[i]), os.fsencode(path),
                                     ctypes.byref(err)), err)
    return keys, len(paths)


def _check(rc, err):
    if rc != 0:
        raise TroveError(rc, err.message.decode("utf-8", "replace"))


def _version(v):
    return Version(model=_s(v.model), number=v.number, digest=bytes(v.digest).hex(),
                   file_bytes=v.file_bytes, created=v.created, author=_s(v.author),
                   message=_s(v.message), metrics=json.loads(_s(v.metrics_json) or "{}"),
                   params=json.loads(_s(v.params_json) or "{}"), parent=_s(v.parent),
                   parent_digest=bytes(v.parent_digest).hex() if v.has_parent_digest else None,
                   training_data=_s(v.data_digest), signature=_s(v.signature),
                   aliases=_s(v.aliases).split(",") if v.aliases else [])


def _kv(d):
    items = [("%s=%s" % (k, json.dumps(v) if isinstance(v, bool) else v)).encode("utf-8")
             for k, v in (d or {}).items()]
    arr = (ctypes.c_char_p * max(1, len(items)))(*items)
    return arr, len(items)


def default_dir():
    """The registry used when none is given ($TROVE_REGISTRY, $XDG_DATA_HOME, ~/.local/share)."""
    buf = ctypes.create_string_buffer(4096)
    err = Error()
    _check(lib.trove_registry_default_dir(buf, 4096, ctypes.byref(err)), err)
    return os.fsdecode(buf.value)


class Registry:
    """An open registry. One object per thread; any number of processes may share a registry."""

    def __init__(self, directory=None, create=True, shared=False, rehash=False,
                 busy_timeout_ms=0):
        """rehash=True: pull also re-hashes every blob with BLAKE2b (docs/REGISTRY.md)."""
        self.directory = os.fspath(directory) if directory is not None else default_dir()
        opts = _Options(ctypes.sizeof(_Options),
                        (REGISTRY_CREATE if create else 0) | (REGISTRY_SHARED if shared else 0) |
                        (REGISTRY_REHASH if rehash else 0), None, busy_timeout_ms, 0)
        self._h = _P()
        err = Error()
        _check(lib.trove_registry_open(ctypes.byref(self._h), os.fsencode(self.directory),
                                       ctypes.byref(opts), ctypes.byref(err)), err)

    def close(self):
        if self._h:
            lib.trove_registry_close(self._h)
            self._h = _P()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _one(self, call, *args):
        out = _VP()
        err = Error()
        _check(call(self._h, *args, ctypes.byref(out), ctypes.byref(err)), err)
        try:
            return _version(out[0])
        finally:
            lib.trove_registry_versions_free(self._h, out, 1)

    def push(self, source, name, message=None, alias=None, parent=None, metrics=None,
             params=None, author=None, training_data=None, trusted=None, **dump_kwargs):
        """Register source as the next version of model `name`. source is a path to a trove
        file, or anything trove.dump accepts (a dict of arrays, a torch module, a scikit-learn
        estimator when trove.sklearn is available), written with trove.dump(source, tmp,
        **dump_kwargs) to a temporary file first. Returns the Version (a file whose bytes are
        already a version of `name` returns that version). trusted: public key files (.pub);
        when given, the file must carry a valid signature by one of them, else SignatureError.
        """
        if isinstance(source, (str, bytes, os.PathLike)):
            return self._push_path(source, name, message, alias, parent, metrics, params,
                                   author, training_data, trusted)
        from .core import dump
        fd, tmp = tempfile.mkstemp(suffix=".trove")
        os.close(fd)
        try:
            dump(source, tmp, **dump_kwargs)
            return self._push_path(tmp, name, message, alias, parent, metrics, params, author,
                                   training_data, trusted)
        finally:
            os.unlink(tmp)

    def _push_path(self, path, name, message, alias, parent, metrics, params, author, data,
                   trusted):
        m, nm = _kv(metrics)
        p, np_ = _kv(params)
        keys, nk = _load_keys(trusted)
        res = _VerifyResult()
        po = _PushOptions(ctypes.sizeof(_PushOptions), _b(message), _b(author), _b(alias),
                          _b(parent), _b(data), m, nm, p, np_,
                          ctypes.cast(keys, _P) if nk else None, nk,
                          ctypes.cast(ctypes.pointer(res), _P))
        out = _VP()
        err = Error()
        rc = lib.trove_registry_push(self._h, os.fsencode(path), _b(name), ctypes.byref(po),
                                     ctypes.byref(out), ctypes.byref(err))
        return self._finish(rc, err, out, res, nk)

    def pull(self, ref, path, trusted=None):
        """Write version REF (NAME, NAME:N, NAME@ALIAS, digest prefix) to path, byte-identical
        to the pushed file and verified. Returns its Version. trusted: public key files (.pub);
        when given, the file is written only if it carries a valid signature by one of them
        (checked over a digest re-hashed from every blob), else SignatureError and no file."""
        if not trusted:
            return self._one(lib.trove_registry_pull, _b(ref), os.fsencode(path))
        keys, nk = _load_keys(trusted)
        res = _VerifyResult()
        out = _VP()
        err = Error()
        rc = lib.trove_registry_pull_trusted(self._h, _b(ref), os.fsencode(path), keys, nk,
                                             ctypes.byref(res), ctypes.byref(out),
                                             ctypes.byref(err))
        return self._finish(rc, err, out, res, nk)

    def _finish(self, rc, err, out, res, nkeys):
        if rc != 0:
            msg = err.message.decode("utf-8", "replace")
            if nkeys and rc == _E_SIGNATURE:
                raise SignatureError(rc, msg, SIG_STATUS.get(res.status, "?"))
            raise TroveError(rc, msg)
        try:
            return _version(out[0])
        finally:
            lib.trove_registry_versions_free(self._h, out, 1)

    def resolve(self, ref):
        return self._one(lib.trove_registry_resolve, _b(ref))

    def log(self, name=None):
        """Versions of `name`, oldest first (None: the latest version of every model)."""
        out = _VP()
        n = ctypes.c_size_t()
        err = Error()
        _check(lib.trove_registry_log(self._h, _b(name), ctypes.byref(out), ctypes.byref(n),
                                      ctypes.byref(err)), err)
        try:
            return [_version(out[i]) for i in range(n.value)]
        finally:
            lib.trove_registry_versions_free(self._h, out, n.value)

    models = log

    def alias(self, name, alias, version, who=None):
        """Point alias at version number `version` (None or 0: delete the alias)."""
        err = Error()
        _check(lib.trove_registry_alias(self._h, _b(name), _b(alias), int(version or 0),
                                        _b(who), ctypes.byref(err)), err)

    def alias_history(self, name=None):
        out = ctypes.POINTER(_Move)()
        n = ctypes.c_size_t()
        err = Error()
        _check(lib.trove_registry_alias_history(self._h, _b(name), ctypes.byref(out),
                                                ctypes.byref(n), ctypes.byref(err)), err)
        try:
            return [AliasMove(_s(m.model), _s(m.alias), m.from_ or None, m.to or None,
                              _s(m.who), m.at) for m in (out[i] for i in range(n.value))]
        finally:
            lib.trove_registry_alias_moves_free(self._h, out, n.value)

    def rm(self, ref, force=False):
        err = Error()
        _check(lib.trove_registry_rm(self._h, _b(ref), RM_FORCE if force else 0,
                                     ctypes.byref(err)), err)

    def _stats(self, fn):
        st = _Stats()
        err = Error()
        _check(fn(self._h, ctypes.byref(st), ctypes.byref(err)), err)
        return Stats(*(getattr(st, f) for f in Stats._fields))

    def gc(self):
        return self._stats(lib.trove_registry_gc)

    def stat(self):
        return self._stats(lib.trove_registry_stat)

    def fsck(self, repair=False):
        """Returns (problems, notes, Stats); problems is empty when nothing is damaged. repair:
        remove damaged blobs, so that pushing a file that holds them restores them."""
        problems, notes = [], []

        def report(_ctx, damaged, msg):
            (problems if damaged else notes).append(_s(msg))
        cb = _REPORT(report)
        st = _Stats()
        err = Error()
        rc = lib.trove_registry_fsck(self._h, 1 if repair else 0, cb, None, ctypes.byref(st),
                                     ctypes.byref(err))
        if rc != 0 and not problems:
            _check(rc, err)
        return problems, notes, Stats(*(getattr(st, f) for f in Stats._fields))


def open(directory=None, **kwargs):  # noqa: A001 (mirrors trove.open)
    """Open (creating when missing) the registry in directory (None: default_dir())."""
    return Registry(directory, **kwargs)
