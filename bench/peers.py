#!/usr/bin/python3
"""peers.py: the same 1 GiB model (16 float32 tensors of 64 MiB) saved and loaded by today's
tools (numpy, pickle 5, torch, h5py) and by trove's Python binding; and the report.

    peers.py round DIR            one round; one JSON line per operation on stdout
    peers.py report RESULTS       medians of every operation, ratios against the references
                                  measured by bench_container in the same run, targets

Run by bench/run.sh, which alternates rounds of bench_container and of this script.
"""
import json
import os
import pickle
import statistics
import sys
import time

NT = 16
TENSOR_BYTES = 64 << 20
MODEL_BYTES = NT * TENSOR_BYTES


def emit(op, seconds, nbytes, ref, who="peer"):
    print(json.dumps({"op": op, "seconds": seconds, "bytes": nbytes, "ref": ref, "who": who}),
          flush=True)


def warm_memory():
    import numpy as np
    a = np.ones(3 << 30, dtype=np.uint8)  # touch and free 3 GiB
    del a


def preread(*paths):
    """Read files untimed so that a following load finds them in the page cache."""
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.read(16 << 20):
                pass


def model():
    """Same bytes as bench_container.c: u32 (t * n + i) * 2654435761, viewed as float32."""
    import numpy as np
    n = TENSOR_BYTES // 4
    out = {}
    for t in range(NT):
        w = (np.arange(n, dtype=np.uint32) + np.uint32(t * n)) * np.uint32(2654435761)
        out["layer%02d.weight" % t] = w.view(np.float32).reshape(4096, 4096)
    return out


def touch(arrays):
    import numpy as np
    x = 0
    for a in arrays.values():
        x ^= int(np.bitwise_xor.reduce(np.asarray(a).reshape(-1).view(np.uint64)))
    return x


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def rm(*paths):
    for p in paths:
        if os.path.isdir(p):
            for f in os.listdir(p):
                os.unlink(os.path.join(p, f))
            os.rmdir(p)
        elif os.path.exists(p):
            os.unlink(p)


def round_(d):
    import numpy as np
    warm_memory()
    m = model()

    # numpy: one .npy per tensor in a directory
    npy = os.path.join(d, "peer-npy")
    os.makedirs(npy, exist_ok=True)

    def np_save():
        for k, v in m.items():
            np.save(os.path.join(npy, k + ".npy"), v)
    warm_memory()
    emit("np.save (16 .npy files)", timed(np_save)[0], MODEL_BYTES, "save")
    warm_memory()
    preread(*(os.path.join(npy, k + ".npy") for k in m))
    t, r = timed(lambda: {k: np.load(os.path.join(npy, k + ".npy")) for k in m})
    emit("np.load (into memory)", t, MODEL_BYTES, "load")
    del r
    t, r = timed(lambda: {k: np.load(os.path.join(npy, k + ".npy"), mmap_mode="r") for k in m})
    emit("np.load mmap_mode='r' (lazy)", t, 0, "open")
    del r
    t, _ = timed(lambda: touch({k: np.load(os.path.join(npy, k + ".npy"), mmap_mode="r")
                                for k in m}))
    emit("np.load mmap + touch every byte", t, MODEL_BYTES, "load")
    rm(npy)

    # pickle protocol 5
    pk = os.path.join(d, "peer.pkl")

    def pk_save():
        with open(pk, "wb") as f:
            pickle.dump(m, f, protocol=5)
    warm_memory()
    emit("pickle.dump protocol 5", timed(pk_save)[0], MODEL_BYTES, "save")
    warm_memory()
    preread(pk)

    def pk_load():
        with open(pk, "rb") as f:
            return pickle.load(f)
    t, r = timed(pk_load)
    emit("pickle.load", t, MODEL_BYTES, "load")
    del r
    rm(pk)

    # torch
    try:
        import torch
        tp = os.path.join(d, "peer.pt")
        sd = {k: torch.from_numpy(v) for k, v in m.items()}
        warm_memory()
        emit("torch.save", timed(lambda: torch.save(sd, tp))[0], MODEL_BYTES, "save")
        warm_memory()
        preread(tp)
        t, r = timed(lambda: torch.load(tp))
        emit("torch.load", t, MODEL_BYTES, "load")
        del r
        rm(tp)
    except ImportError:
        pass

    # h5py
    try:
        import h5py
        hp = os.path.join(d, "peer.h5")

        def h5_save():
            with h5py.File(hp, "w") as f:
                for k, v in m.items():
                    f.create_dataset(k, data=v)
        warm_memory()
        emit("h5py write", timed(h5_save)[0], MODEL_BYTES, "save")
        warm_memory()
        preread(hp)

        def h5_load():
            with h5py.File(hp, "r") as f:
                return {k: f[k][()] for k in m}
        t, r = timed(h5_load)
        emit("h5py read (into memory)", t, MODEL_BYTES, "load")
        del r
        rm(hp)
    except ImportError:
        pass

    # trove's Python binding (same library, through ctypes)
    try:
        import trove
        tv = os.path.join(d, "peer.trove")
        warm_memory()
        emit("trove.dump (python, fsync)", timed(lambda: trove.dump(m, tv))[0], MODEL_BYTES,
             "save-sync", "trove-py")
        t, r = timed(lambda: trove.load(tv))
        emit("trove.load (python, lazy zero-copy)", t, 0, "open", "trove-py")
        del r
        t, _ = timed(lambda: touch(trove.load(tv)))
        emit("trove.load + touch every byte (python)", t, MODEL_BYTES, "load", "trove-py")
        rm(tv)
    except ImportError as e:
        print("trove binding unavailable: %s" % e, file=sys.stderr)


REFS = {"save": "raw write()", "save-sync": "raw write() + fsync",
        "load": "raw read() (warm cache)", "verify": "xxh3 in memory (reference)"}


def report(path):
    rows, rss = {}, []
    order = []
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        if "rss_kib" in r:
            rss.append(r)
            continue
        if r["op"] not in rows:
            order.append(r["op"])
            rows[r["op"]] = {"t": [], "bytes": r["bytes"], "ref": r["ref"], "who": r["who"]}
        rows[r["op"]]["t"].append(r["seconds"])
    med = {op: statistics.median(v["t"]) for op, v in rows.items()}
    print("%-42s %4s %12s %9s %8s  %s" % ("operation", "runs", "median s", "GB/s", "ratio",
                                         "reference (ratio = reference time / time)"))
    print("-" * 110)
    for op in sorted(order, key=lambda o: (["verify", "save-sync", "save", "load", "open"]
                                           .index(rows[o]["ref"]), rows[o]["who"] != "trove-c")):
        v = rows[op]
        t = med[op]
        gbs = v["bytes"] / t / 1e9 if v["bytes"] else float("nan")
        refop = REFS.get(v["ref"])
        if v["ref"] == "open":
            secs = "%9.1f us" % (t * 1e6)
            ratio, refname = "", "lazy open (no reference)"
        else:
            secs = "%12.4f" % t
            ratio = "" if refop == op or refop not in med else "%.2fx" % (med[refop] / t)
            refname = "" if refop == op else refop
        spread = "  [min %.4f max %.4f]" % (min(v["t"]), max(v["t"])) if v["ref"] != "open" \
            else "  [min %.1f max %.1f us]" % (min(v["t"]) * 1e6, max(v["t"]) * 1e6)
        print("%-42s %4d %12s %9s %8s  %s%s" % (op, len(v["t"]), secs,
                                               "" if gbs != gbs else "%.2f" % gbs,
                                               ratio, refname, spread))
    if rss:
        kib = statistics.median(r["rss_kib"] for r in rss)
        before = statistics.median(r["rss_before_kib"] for r in rss)
        size = rss[0]["bytes"]
        print("%-42s %4d %9.1f MiB peak (%.1f MiB before open) = %.3f%% of the %.2f GiB file"
              % ("trove lazy open: peak RSS of the process", len(rss), kib / 1024,
                 before / 1024, 100.0 * kib * 1024 / size, size / 2**30))
    print()
    print("targets:")

    def target(label, ok, detail):
        print("  %-44s %s  (%s)" % (label, "MET " if ok else "MISSED", detail))
    try:
        s, w = med["trove save (fsync, default)"], med["raw write() + fsync"]
        target("save >= 0.9x raw write (both fsync)", w / s >= 0.9, "%.2fx" % (w / s))
        s, w = med["trove save (no fsync)"], med["raw write()"]
        target("save >= 0.9x raw write (both without fsync)", w / s >= 0.9, "%.2fx" % (w / s))
        o = med["trove open (lazy, mmap)"]
        target("lazy open < 100 us", o < 100e-6, "%.1f us" % (o * 1e6))
        v, x = med["trove open + verify"], med["xxh3 in memory (reference)"]
        target("open+verify >= 0.8x XXH3", x / v >= 0.8, "%.2fx" % (x / v))
        if rss:
            target("lazy-open peak RSS < 1% of file size", kib * 1024 < 0.01 * size,
                   "%.3f%%" % (100.0 * kib * 1024 / size))
    except KeyError as e:
        print("  missing measurement %s" % e)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "round":
        round_(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
