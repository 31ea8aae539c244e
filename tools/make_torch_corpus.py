"""make_torch_corpus.py DIR: seed files for fuzz/fuzz_torch.c, written by the installed torch:
small state_dicts in the zip and legacy formats (views, offsets, transposes, 0-d, empty, every
dtype trove stores), a nested checkpoint with metadata leaves, a lone tensor, a big-endian
byteorder variant, and the refused kinds (a pickled nn.Module, a TorchScript archive)."""
import io
import os
import sys
import zipfile

import torch


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    x = torch.arange(12, dtype=torch.float32)
    views = {"t": torch.randn(2, 3).t(), "a": x[2:8], "b": x.view(3, 4), "c": x.view(3, 4)[:, 1],
             "s": torch.tensor(1.5, dtype=torch.float64), "e": torch.zeros(0, 2),
             "x": torch.ones(2).expand(3, 2), "h": torch.ones(3, dtype=torch.float16),
             "bf": torch.ones(2, dtype=torch.bfloat16), "i8": torch.ones(2, dtype=torch.int8),
             "i16": torch.ones(2, dtype=torch.int16), "i32": torch.ones(2, dtype=torch.int32),
             "i64": torch.ones(2, dtype=torch.int64), "u8": torch.ones(2, dtype=torch.uint8),
             "b1": torch.tensor([True, False]), "p": torch.nn.Parameter(torch.ones(2))}
    lin = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(torch.ones(1, 2)).sum().backward()
    opt.step()
    seeds = {
        "views.pt": (views, True),
        "views_legacy.pt": (views, False),
        "linear.pt": (lin.state_dict(), True),
        "bn_legacy.pt": (torch.nn.BatchNorm1d(2).state_dict(), False),
        "checkpoint.pt": ({"model": lin.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
                           "name": "run", "l": [1, 2.5, None, True]}, True),
        "lone.pt": (torch.arange(4).reshape(2, 2).t(), True),
        "module.pt": (torch.nn.Sequential(torch.nn.Linear(1, 1)), True),
    }
    for name, (obj, zipped) in seeds.items():
        b = io.BytesIO()
        torch.save(obj, b, _use_new_zipfile_serialization=zipped)
        with open(os.path.join(out, name), "wb") as f:
            f.write(b.getvalue())
    # byteorder "big": the storages of lone.pt (int64) byte-swapped
    zin = zipfile.ZipFile(os.path.join(out, "lone.pt"))
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if "/data/" in info.filename:
                data = b"".join(data[i:i + 8][::-1] for i in range(0, len(data), 8))
            z.writestr(info.filename, data)
        z.writestr(zin.namelist()[0].split("/")[0] + "/byteorder", b"big")
    with open(os.path.join(out, "lone_big.pt"), "wb") as f:
        f.write(b.getvalue())
    b = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(1, 1)), b)
    with open(os.path.join(out, "script.pt"), "wb") as f:
        f.write(b.getvalue())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/torch")
