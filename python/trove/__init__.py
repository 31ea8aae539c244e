"""trove: safe, fast, verifiable files for trained models (Python binding of libtrove).

    import trove
    trove.dump({"w": w, "b": b}, "model.trove", description="my model")
    arrays = trove.load("model.trove")                 # read-only zero-copy numpy arrays
    state = trove.load("model.trove", framework="torch")
    with trove.open("model.trove") as f:               # lazy: reads only the header
        f.metadata, f.tensors, f["w"], f.verify(), f.digest()

Errors raise trove.TroveError(code, message). The shared library is found via $TROVE_LIB,
next to this package, in the repository's build/ directory, or on the system library path.
See docs/PYTHON.md.
"""
from .core import File, Tensor, TroveError, dump, load, open, version  # noqa: F401

__version__ = "0.1.0"
__all__ = ["File", "Tensor", "TroveError", "dump", "load", "open", "version"]
