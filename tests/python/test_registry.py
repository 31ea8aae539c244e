"""test_registry.py: trove.registry (python/trove/registry.py): push of a file, of arrays and of
a torch module; pull byte-identical; log, aliases and their history; rm refused while aliased;
gc; fsck clean, then a damaged blob found, refused by pull, and removed by fsck(repair=True)."""
import filecmp
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for p in (os.path.join(ROOT, "python"), os.path.join(ROOT, "tools")):
    if p not in sys.path:
        sys.path.insert(0, p)

import trove  # noqa: E402
from trove import registry  # noqa: E402


@pytest.fixture
def reg(tmp_path):
    with registry.open(tmp_path / "reg") as r:
        yield r


def test_push_pull_log_alias(reg, tmp_path):
    src = tmp_path / "m1.trove"
    trove.dump({"w": np.arange(1000, dtype=np.float32), "b": np.ones(3)}, str(src))
    v1 = reg.push(str(src), "net", message="first", alias="prod", metrics={"acc": 0.75})
    assert v1.number == 1 and v1.aliases == ["prod"] and v1.metrics["acc"] == 0.75
    with trove.open(str(src)) as f:
        d = f.digest()
    assert v1.digest == (d.hex() if isinstance(d, bytes) else d)
    assert reg.push(str(src), "net").number == 1  # same bytes, same version
    v2 = reg.push({"w": np.arange(1001, dtype=np.float32)}, "net", parent="net:1")
    assert v2.number == 2 and v2.parent == "net:1" and v2.parent_digest == v1.digest
    out = tmp_path / "out.trove"
    got = reg.pull("net@prod", str(out))
    assert got.number == 1 and filecmp.cmp(src, out, shallow=False)
    assert [v.number for v in reg.log("net")] == [1, 2]
    assert [v.model for v in reg.log()] == ["net"]
    reg.alias("net", "prod", 2, who="alice")
    moves = reg.alias_history("net")
    assert [(m.from_version, m.to_version, m.who) for m in moves][-1] == (1, 2, "alice")
    assert reg.resolve("net@prod").number == 2
    assert reg.resolve(v1.digest[:10]).number == 1


def test_rm_gc_fsck_and_damage(reg, tmp_path):
    a = reg.push({"w": np.random.default_rng(1).random(100000)}, "m", alias="prod")
    reg.push({"w": np.random.default_rng(2).random(100000)}, "m")
    with pytest.raises(trove.TroveError) as e:
        reg.rm("m:1")
    assert "prod" in str(e.value)
    reg.rm("m:2")
    assert reg.gc().removed_blobs >= 1
    problems, notes, st = reg.fsck()
    assert problems == [] and notes == [] and st.versions == 1
    # damage the largest blob: fsck names it, pull refuses and writes nothing
    blobs = []
    for root, _dirs, files in os.walk(os.path.join(reg.directory, "blobs")):
        blobs += [os.path.join(root, f) for f in files]
    big = max(blobs, key=os.path.getsize)
    os.chmod(big, 0o600)
    data = bytearray(open(big, "rb").read())
    data[len(data) // 2] ^= 1
    open(big, "wb").write(data)
    problems, _notes, _st = reg.fsck()
    assert len(problems) == 1 and os.path.basename(big) in problems[0]
    out = tmp_path / "x.trove"
    with pytest.raises(trove.TroveError):
        reg.pull("m@prod", str(out))
    assert not out.exists()
    assert a.number == 1
    problems, notes, _st = reg.fsck(repair=True)
    assert len(problems) == 1 and any("removed damaged blob" in n for n in notes)
    assert not os.path.exists(big)


def test_push_torch_module(reg, tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    v = reg.push(net, "lin", message="torch")
    assert v.number == 1
    out = tmp_path / "lin.trove"
    reg.pull("lin", str(out))
    back = trove.load(str(out))
    assert np.array_equal(back["weight"], net.weight.detach().numpy())
    assert np.array_equal(back["bias"], net.bias.detach().numpy())


def test_signatures_trusted_push_and_pull(reg, tmp_path):
    """A file signed with `trove sign` (the CLI) is recorded as signed; push and pull with
    trusted= accept the signer's key and refuse another key or an unsigned version, leaving no
    output file."""
    import subprocess
    exe = os.environ.get("TROVE", os.path.join(ROOT, "build", "trove"))
    src = tmp_path / "s.trove"
    trove.dump({"w": np.linspace(0, 1, 5000, dtype=np.float32)}, str(src))
    for name in ("alice", "bob"):
        subprocess.run([exe, "keygen", "-o", str(tmp_path / name)], check=True,
                       capture_output=True)
    subprocess.run([exe, "sign", str(src), "--key", str(tmp_path / "alice.key")], check=True,
                   capture_output=True)
    v = reg.push(str(src), "s")
    assert v.signature.startswith("signed by ") and "valid" in v.signature
    v = reg.push(str(src), "t", trusted=[str(tmp_path / "alice.pub")])
    assert v.signature.startswith("verified at push")
    with pytest.raises(registry.SignatureError) as e:
        reg.push(str(src), "u", trusted=str(tmp_path / "bob.pub"))
    assert e.value.status == "unknown key"
    out = tmp_path / "out.trove"
    got = reg.pull("t", str(out), trusted=[str(tmp_path / "alice.pub")])
    assert got.number == 1 and filecmp.cmp(src, out, shallow=False)
    os.unlink(out)
    with pytest.raises(registry.SignatureError) as e:
        reg.pull("t", str(out), trusted=[str(tmp_path / "bob.pub")])
    assert e.value.status == "unknown key" and not out.exists()
    plain = tmp_path / "p.trove"
    trove.dump({"w": np.zeros(10, dtype=np.float32)}, str(plain))
    reg.push(str(plain), "p")
    with pytest.raises(registry.SignatureError) as e:
        reg.pull("p", str(out), trusted=[str(tmp_path / "alice.pub")])
    assert e.value.status == "unsigned" and not out.exists()
