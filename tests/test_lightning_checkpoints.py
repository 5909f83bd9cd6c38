"""Official Lightning checkpoints that pickle bookkeeping besides tensors (OmegaConf
``hyper_parameters``, callback state keyed by a callback's class): loaded from their plain-tensor
``state_dict`` with nothing of the file run; a pickle that would run code is still refused.

The checkpoints are real pickles of classes defined here in modules named as omegaconf's and
Lightning's, in ``sys.modules`` only while they are saved (and, to show that the loader never uses
them, while they are loaded): each class writes a marker file when it is built or filled."""

import contextlib
import os
import pathlib
import pickle
import re
import sys
import types
import typing
from collections import defaultdict

import pytest
import torch

import ldcsr_core
from ldcsr_core.checkpoints import convert_checkpoint, read_state_dict
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import CheckpointError
from ldcsr_core.official_checkpoint import builtin_twin_file
from test_checkpoints import official_like

REFUSED = r"refusing to load .*: it holds pickled Python objects \({}\) besides tensors"


@pytest.fixture(scope="module")
def tiny():
    return ldcsr_core.build_model(tiny_test_config(), seed=3)


@contextlib.contextmanager
def lookalikes(marker):
    """Modules ``omegaconf.*`` and ``pytorch_lightning.callbacks.model_checkpoint`` in sys.modules
    inside the block only; their classes pickle as the real ones do (NEWOBJ, then BUILD with the
    object's state) and write ``marker`` when unpickling constructs or fills one."""
    def cls(module, name):
        def touch(self, *args, **kwargs):
            marker.write_text(f"{module}.{name} ran")

        c = type(name, (), {"__module__": module, "__init__": touch, "__setstate__": touch,
                            "__getstate__": lambda self: self.saved})
        setattr(sys.modules[module], name, c)
        return c

    names = ["omegaconf", "omegaconf.base", "omegaconf.nodes", "omegaconf.dictconfig", "omegaconf.listconfig",
             "pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint"]
    assert not any(n in sys.modules for n in names), "the real package is imported"
    sys.modules.update({n: types.ModuleType(n) for n in names})
    try:
        yield types.SimpleNamespace(
            Metadata=cls("omegaconf.base", "Metadata"), ContainerMetadata=cls("omegaconf.base", "ContainerMetadata"),
            AnyNode=cls("omegaconf.nodes", "AnyNode"), DictConfig=cls("omegaconf.dictconfig", "DictConfig"),
            ListConfig=cls("omegaconf.listconfig", "ListConfig"),
            ModelCheckpoint=cls("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint"))
    finally:
        for n in names:
            sys.modules.pop(n, None)


def make(c, **state):
    obj = object.__new__(c)
    obj.saved = state
    return obj


def dict_config(L, content: dict):
    """A DictConfig as omegaconf pickles one: its metadata (typing.Any, dict, a defaultdict) and
    its content as nodes."""
    meta = make(L.ContainerMetadata, ref_type=typing.Any, object_type=dict, optional=True, key=None, flags={},
                resolver_cache=defaultdict(dict, {"now": {"x": 1}}), key_type=typing.Any, element_type=typing.Any)
    cfg = make(L.DictConfig, _metadata=meta, _parent=None, _flags_cache=None)
    cfg.saved["_content"] = {k: make(L.AnyNode, _val=v, _parent=cfg, _metadata=make(L.Metadata, ref_type=typing.Any,
                                                                                      object_type=None, key=k))
                             for k, v in content.items()}
    return cfg


def lightning_ckpt(L, state_dict, **extra):
    """A Lightning 1.x training checkpoint: hyper_parameters a DictConfig, hparams_type its class,
    callback state keyed by the callback's class (older Lightning) and by its text (newer)."""
    return {"epoch": 3, "global_step": 10, "pytorch-lightning_version": "1.9.5", "state_dict": state_dict,
            "callbacks": {L.ModelCheckpoint: {"best_model_score": torch.tensor(28.1),
                                                  "dirpath": pathlib.PurePosixPath("/runs/ckpt")},
                          "ModelCheckpoint{'monitor': 'val/psnr', 'mode': 'max'}": {"best_model_path": "/runs/b.ckpt"}},
            "optimizer_states": [{"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 1e-4}]}],
            "lr_schedulers": [], "hparams_name": "kwargs", "hparams_type": L.DictConfig,
            "hyper_parameters": dict_config(L, {"linear_start": 0.1, "timesteps": 4, "monitor": "val/psnr"}),
            **extra}


def test_a_lightning_checkpoint_with_omegaconf_and_callback_objects_loads(tmp_path, tiny):
    """Before: refused as 'pickled Python objects (omegaconf.dictconfig.DictConfig)' although its
    state_dict is plain tensors."""
    marker, path = tmp_path / "ran", tmp_path / "official.ckpt"
    with lookalikes(marker) as L:
        torch.save(lightning_ckpt(L, official_like(tiny)), path)
        # the classes are there to be found while it loads: the loader uses none of them
        m = ldcsr_core.load_model(path, device="cpu")
        assert builtin_twin_file(path) is None
    assert not marker.exists(), marker.read_text()
    lr = torch.rand(1, 3, 12, 12) * 2 - 1
    torch.testing.assert_close(m.super_resolve(lr, (30, 30), mode="fast"), tiny.super_resolve(lr, (30, 30), mode="fast"))
    out = convert_checkpoint(path, tmp_path / "official.safetensors")
    assert set(read_state_dict(out)[0]) == set(tiny.state_dict())
    with lookalikes(marker):  # the test's own check: a loader that unpickles them would run their code
        torch.load(path, weights_only=False)
    assert marker.exists()


def test_its_bookkeeping_is_read_as_inert_placeholders(tmp_path, tiny):
    from ldcsr_core.checkpoint_pickle import PickledObject, load_weights_only

    path = tmp_path / "official.ckpt"
    with lookalikes(tmp_path / "ran") as L:
        torch.save(lightning_ckpt(L, official_like(tiny)), path)
    with open(path, "rb") as f:
        obj = load_weights_only(f, map_location="cpu")
    assert "omegaconf" not in sys.modules and "pytorch_lightning" not in sys.modules  # nothing imported
    hp = obj["hyper_parameters"]
    assert isinstance(hp, PickledObject) and hp.global_name == "omegaconf.dictconfig.DictConfig"
    assert obj["hparams_type"].global_name == hp.global_name
    node = hp.state["_content"]["linear_start"]
    assert node.global_name == "omegaconf.nodes.AnyNode" and node.state["_val"] == 0.1 and node.state["_parent"] is hp
    meta = hp.state["_metadata"].state
    assert meta["ref_type"].global_name == "typing.Any" and meta["object_type"].global_name == "builtins.dict"
    assert type(meta["resolver_cache"]) is dict and meta["resolver_cache"] == {"now": {"x": 1}}
    key = next(k for k in obj["callbacks"] if not isinstance(k, str))
    assert key.global_name == "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint"
    assert torch.equal(obj["callbacks"][key]["best_model_score"], torch.tensor(28.1))
    dirpath = obj["callbacks"][key]["dirpath"]  # a path: pickled as a call of its class, not made
    assert dirpath.global_name == "pathlib.PurePosixPath" and "ckpt" in dirpath.args
    assert not (tmp_path / "ran").exists()


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["hyper_parameters", "state_dict", "top level"])
def test_code_in_a_lightning_checkpoint_is_still_refused_and_never_run(tmp_path, tiny, where):
    marker, path = tmp_path / "pwned", tmp_path / "evil.ckpt"
    sd = official_like(tiny)
    with lookalikes(tmp_path / "ran") as L:
        ckpt = lightning_ckpt(L, sd)
        if where == "hyper_parameters":
            ckpt["hyper_parameters"] = dict_config(L, {"hook": Payload(marker)})
        elif where == "state_dict":
            sd["hook"] = Payload(marker)
        else:
            ckpt["hook"] = Payload(marker)
        torch.save(ckpt, path)
    assert not marker.exists()
    for load in (ldcsr_core.load_model, lambda p: convert_checkpoint(p, tmp_path / "out.safetensors")):
        with pytest.raises(CheckpointError, match=REFUSED.format(r"(?:posix|os|nt)\.system")):
            load(path)
    assert builtin_twin_file(path) is None
    assert not marker.exists(), "the payload ran"
    assert not (tmp_path / "out.safetensors").exists()


def test_an_object_inside_the_state_dict_is_refused_in_one_line(tmp_path, tiny):
    """Only the bookkeeping around the state_dict is read as placeholders: an OmegaConf object among
    its tensors, or as the state_dict itself, is refused as before."""
    with lookalikes(tmp_path / "ran") as L:
        sd = official_like(tiny)
        sd["first_stage_model.config"] = dict_config(L, {"ch": 32})
        torch.save(lightning_ckpt(L, sd), tmp_path / "a.ckpt")
        torch.save(lightning_ckpt(L, dict_config(L, {"ch": 32})), tmp_path / "b.ckpt")
    for name in ("a.ckpt", "b.ckpt"):
        with pytest.raises(CheckpointError, match=REFUSED.format(r"omegaconf\.dictconfig\.DictConfig")) as e:
            ldcsr_core.load_model(tmp_path / name, device="cpu")
        assert "\n" not in str(e.value)
    assert not (tmp_path / "ran").exists()


def test_every_kind_of_object_inside_the_state_dict_is_named(tmp_path, tiny):
    """A state_dict with objects of several classes among its tensors (two DictConfigs, a ListConfig, a callback's
    class): the refusal names each class once, sorted, so that the user who fixes the file by hand meets no other at
    the next try. Before: the first one found alone (omegaconf.dictconfig.DictConfig)."""
    from ldcsr_core.checkpoint_pickle import _stand_in, state_dict_of

    with lookalikes(tmp_path / "ran") as L:
        sd = official_like(tiny)
        sd["first_stage_model.config"] = dict_config(L, {"ch": 32})
        sd["cond_stage_model.config"] = dict_config(L, {"ch": 16})
        sd["model.schedule"] = make(L.ListConfig, _content=[1, 2])
        sd["model.callback"] = L.ModelCheckpoint
        torch.save(lightning_ckpt(L, sd), tmp_path / "a.ckpt")
    names = ("omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig",
             "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint")
    for load in (ldcsr_core.load_model, lambda p: convert_checkpoint(p, tmp_path / "out.safetensors")):
        with pytest.raises(CheckpointError, match=REFUSED.format(re.escape(", ".join(names))) + ", and loading") as e:
            load(tmp_path / "a.ckpt")
        assert "\n" not in str(e.value)
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out.safetensors").exists()
    # many kinds: the first ten, sorted, then how many more
    many = {f"model.c{i}": _stand_in(f"omegaconf.nodes.Node{i:02}")() for i in reversed(range(12))}
    listed = ", ".join(f"omegaconf.nodes.Node{i:02}" for i in range(10)) + " and 2 more"
    with pytest.raises(CheckpointError, match=REFUSED.format(re.escape(listed))):
        state_dict_of({"state_dict": {"w": torch.zeros(1), **many}}, tmp_path / "b.ckpt")


def test_two_lightning_checkpoints_loaded_at_once_both_load(tmp_path, tiny, monkeypatch):
    """torch's allowlist is the process's, and torch lists a file's globals leaving out those it
    allows at that moment: one listed while another load's stand-ins are allowed missed theirs.
    Before: the second file (a DictConfig and a ModelCheckpoint), listed while the first (a
    DictConfig) loaded, was refused as 'pickled Python objects (omegaconf.dictconfig.DictConfig)'."""
    import threading

    from ldcsr_core import checkpoint_pickle

    with lookalikes(tmp_path / "ran") as L:
        torch.save({"state_dict": official_like(tiny), "hyper_parameters": dict_config(L, {"a": 1})}, tmp_path / "a.ckpt")
        torch.save(lightning_ckpt(L, official_like(tiny)), tmp_path / "b.ckpt")
    a_inside, b_waits, release = threading.Event(), threading.Event(), threading.Event()
    real_safe_globals, lock = torch.serialization.safe_globals, checkpoint_pickle._LOCK

    @contextlib.contextmanager
    def held(pairs):  # the first load keeps its stand-ins allowed until the second has come this far
        with real_safe_globals(pairs):
            if threading.current_thread().name == "a":
                a_inside.set()
                assert release.wait(30)
            yield

    class Lock:  # the second load says where it waits for the first
        def __enter__(self):
            if threading.current_thread().name == "b":
                b_waits.set()
            return lock.__enter__()

        def __exit__(self, *exc):
            return lock.__exit__(*exc)

    monkeypatch.setattr(torch.serialization, "safe_globals", held)
    monkeypatch.setattr(checkpoint_pickle, "_LOCK", Lock())
    done = {}

    def load(name):
        try:
            done[name] = read_state_dict(tmp_path / f"{name}.ckpt")[0]
        except Exception as e:  # noqa: BLE001 - reported below
            done[name] = e

    a = threading.Thread(target=load, args=("a",), name="a")
    a.start()
    assert a_inside.wait(30)
    b = threading.Thread(target=load, args=("b",), name="b")
    b.start()
    assert b_waits.wait(30)
    release.set()
    a.join(30), b.join(30)
    assert set(done) == {"a", "b"}
    for name, sd in done.items():
        assert isinstance(sd, dict) and set(sd) == set(official_like(tiny)), (name, sd)
    assert not (tmp_path / "ran").exists()


def test_a_torch_older_than_2_6_refuses_it_saying_which_torch_reads_it(tmp_path, tiny, monkeypatch):
    """torch 2.3-2.5 (which pyproject allows) have no get_unsafe_globals_in_checkpoint: such a release is refused
    as before, but the line says a newer torch reads it; a file with code in it is refused as ever. Before: 'only
    checkpoints of plain tensors are accepted', so that the user re-saved a checkpoint that loads once torch is
    upgraded."""
    marker = tmp_path / "pwned"
    with lookalikes(tmp_path / "ran") as L:
        torch.save(lightning_ckpt(L, official_like(tiny)), tmp_path / "official.ckpt")
        torch.save({"state_dict": official_like(tiny), "hook": Payload(marker)}, tmp_path / "evil.ckpt")
    monkeypatch.delattr(torch.serialization, "get_unsafe_globals_in_checkpoint")
    with pytest.raises(CheckpointError, match=REFUSED.format(r"[\w., ]+") + r", which torch [\w.+]+ cannot read "
                       r"without running their code; torch 2\.6 or later reads OmegaConf and Lightning objects"):
        ldcsr_core.load_model(tmp_path / "official.ckpt", device="cpu")
    with pytest.raises(CheckpointError, match=REFUSED.format(r"(?:posix|os|nt)\.system") + ", and loading them could"):
        ldcsr_core.load_model(tmp_path / "evil.ckpt", device="cpu")
    assert not marker.exists() and not (tmp_path / "ran").exists()
    from ldcsr_core import checkpoint_pickle
    from ldcsr_core.checkpoint_pickle import OldTorchError, load_weights_only

    torch_2_3 = ("Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` will likely "  # its words
                 "succeed, but it can result in arbitrary code execution.Do it only if you get the file from a trusted "
                 "source. WeightsUnpickler error: Unsupported class omegaconf.dictconfig.DictConfig")
    monkeypatch.setattr(torch, "load", lambda *a, **k: (_ for _ in ()).throw(pickle.UnpicklingError(torch_2_3)))
    monkeypatch.setattr(checkpoint_pickle, "_refused_by_scan", lambda source: [])  # a pickle it cannot read
    with pytest.raises(OldTorchError, match=r"GLOBAL omegaconf\.dictconfig\.DictConfig"):
        load_weights_only(tmp_path / "official.ckpt")



class Loud:
    def __reduce__(self):
        return (print, ("ran",))


class Quiet:
    def __reduce__(self):
        return (repr, ("ran",))


def test_a_refused_checkpoint_names_every_global_refused(tmp_path, tiny, monkeypatch):
    """torch names the first global it refuses alone: a file with two kinds of code in it was refused as
    'pickled Python objects (builtins.print)', and on torch < 2.6 a Lightning checkpoint with code in it was
    'torch 2.6 or later reads OmegaConf and Lightning objects' (2.6 refuses it too), the code unnamed. Now
    every global refused, with this torch and with one older than 2.6 (without get_unsafe_globals_in_checkpoint)."""
    marker = tmp_path / "pwned"
    with lookalikes(tmp_path / "ran") as L:
        torch.save({"state_dict": official_like(tiny), "a": Loud(), "b": Payload(marker)}, tmp_path / "evil.ckpt")
        torch.save(lightning_ckpt(L, official_like(tiny), hook=Payload(marker)), tmp_path / "lightning-evil.ckpt")
        torch.save(lightning_ckpt(L, official_like(tiny)), tmp_path / "official.ckpt")
    system = r"(?:posix|os|nt)\.system"
    for older in (False, True):
        if older:
            monkeypatch.delattr(torch.serialization, "get_unsafe_globals_in_checkpoint")
        with pytest.raises(CheckpointError, match=REFUSED.format(rf"builtins\.print, {system}") + ", and loading"):
            ldcsr_core.load_model(tmp_path / "evil.ckpt", device="cpu")
        with pytest.raises(CheckpointError, match=REFUSED.format(system) + ", and loading them could"):
            ldcsr_core.load_model(tmp_path / "lightning-evil.ckpt", device="cpu")
    lightning = r"[\w., ]*omegaconf\.dictconfig\.DictConfig, [\w., ]*model_checkpoint\.ModelCheckpoint[\w., ]*"
    with pytest.raises(CheckpointError, match=REFUSED.format(lightning) + ", which torch [\\w.+]+ cannot read"):
        ldcsr_core.load_model(tmp_path / "official.ckpt", device="cpu")
    assert not marker.exists() and not (tmp_path / "ran").exists()



def test_a_checkpoint_pickled_with_protocol_4_names_its_globals_and_says_so(tmp_path, tiny, monkeypatch):
    """torch.save(..., pickle_protocol=4) names its globals with STACK_GLOBAL (module and name pushed as strings
    before it), and no torch's weights-only unpickler reads such a pickle ('Unsupported operand 149'): the scan
    names them as it names a protocol-2 pickle's GLOBALs; code in it is named, with this torch and one older than
    2.6; a file of plain tensors or Lightning bookkeeping is refused for its protocol. Before: the scan found no
    global in it, so code was refused unnamed, and plain tensors were 'pickled Python objects besides tensors'."""
    from ldcsr_core import checkpoint_pickle

    marker, system = tmp_path / "pwned", r"(?:posix|os|nt)\.system"
    with lookalikes(tmp_path / "ran") as L:
        for protocol in (2, 4):
            torch.save({"state_dict": official_like(tiny), "a": Loud(), "b": Payload(marker), "c": L.DictConfig,
                        "d": Quiet()}, tmp_path / f"evil{protocol}.ckpt", pickle_protocol=protocol)
        torch.save(lightning_ckpt(L, official_like(tiny)), tmp_path / "official.ckpt", pickle_protocol=4)
    torch.save(official_like(tiny), tmp_path / "plain.ckpt", pickle_protocol=4)
    for protocol in (2, 4):  # the same names either way (protocol 4: the second 'builtins' fetched from the memo)
        names = checkpoint_pickle._refused_by_scan(tmp_path / f"evil{protocol}.ckpt")
        assert [n for n in names if not re.fullmatch(system, n)] == ["builtins.print", "builtins.repr",
                                                                     "omegaconf.dictconfig.DictConfig"]
        assert len(names) == 4
    refused = REFUSED.format(rf"builtins\.print, builtins\.repr, {system}") + ", and loading them could"
    protocol_4 = r"refusing to load .*: it was saved with pickle protocol 4 \(torch\.save's pickle_protocol\)"
    for older in (False, True):
        if older:
            monkeypatch.delattr(torch.serialization, "get_unsafe_globals_in_checkpoint")
        with pytest.raises(CheckpointError, match=refused):
            ldcsr_core.load_model(tmp_path / "evil4.ckpt", device="cpu")
        for name in ("official.ckpt", "plain.ckpt"):  # (not 'torch 2.6 or later reads', which it does not)
            with pytest.raises(CheckpointError, match=protocol_4 + ", which torch [\\w.+]+ cannot read") as e:
                ldcsr_core.load_model(tmp_path / name, device="cpu")
            assert "\n" not in str(e.value)
    assert not marker.exists() and not (tmp_path / "ran").exists()


PEAK = r"""
import sys
from ldcsr_core.checkpoints import read_state_dict
def kb(field):
    return int(next(line for line in open("/proc/self/status") if line.startswith(field)).split()[1])
with open("/proc/self/clear_refs", "w") as f:  # the peak (VmHWM) from here
    f.write("5")
before = kb("VmRSS:")
sd, _ = read_state_dict(sys.argv[1])
print((kb("VmHWM:") - before) * 1024 / sum(t.nbytes for t in sd.values()))
"""


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="Linux's peak memory (VmHWM) is not reset here")
def test_its_tensors_are_held_once_while_it_loads(tmp_path):
    """The first read (refused at the callbacks, after the state_dict) is let go before the second: torch's error
    held, by its context's traceback, every tensor that read had made. Before: a 96 MB release took 192 MB more
    memory to load (the real one, gigabytes, twice its size)."""
    import subprocess

    path = tmp_path / "official.ckpt"
    with lookalikes(tmp_path / "ran") as L:
        torch.save(lightning_ckpt(L, {f"w{i}": torch.zeros(6_000_000) for i in range(4)}), path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    r = subprocess.run([sys.executable, "-c", PEAK, str(path)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 0.9 < float(r.stdout.split()[-1]) < 1.5  # its tensors once, and a little more


@contextlib.contextmanager
def many_classes(module, count=25):
    """A module ``module`` (and its parents) in sys.modules inside the block only, with classes C00, C01...: each
    pickles as a global of its own."""
    names = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)]
    assert not any(n in sys.modules for n in names), "the real package is imported"
    sys.modules.update({n: types.ModuleType(n) for n in names})
    try:
        for i in range(count):
            setattr(sys.modules[module], f"C{i:02}", type(f"C{i:02}", (), {"__module__": module}))
        yield [getattr(sys.modules[module], f"C{i:02}") for i in range(count)]
    finally:
        for n in names:
            sys.modules.pop(n, None)


def test_every_refusal_names_ten_globals_then_how_many_more(tmp_path, tiny, monkeypatch):
    """A pickle naming 25 globals (code, or Lightning's own with a torch older than 2.6; pickle protocol 2 or 4;
    outside the state_dict or in it): every refusal names the first ten, sorted, then 'and 15 more', in one line.
    Before: only an object in the state_dict was named so; the others named every global (a hostile pickle with
    10 000 of them gave a line of 10 000 names)."""
    with many_classes("hostile.code") as code:
        for protocol in (2, 4):
            torch.save({"state_dict": official_like(tiny), "hooks": code}, tmp_path / f"code{protocol}.ckpt",
                       pickle_protocol=protocol)
    with many_classes("lightning_fabric.many") as inert:
        torch.save({"state_dict": official_like(tiny), "callbacks": inert}, tmp_path / "lightning.ckpt")
        torch.save({"state_dict": {**official_like(tiny), **{f"c{i}": c for i, c in enumerate(inert)}}},
                   tmp_path / "in_state_dict.ckpt")

    def refused(module, why):
        listed = ", ".join(f"{module}.C{i:02}" for i in range(10)) + " and 15 more"
        return REFUSED.format(re.escape(listed)) + why

    code, old_torch = refused("hostile.code", ", and loading"), refused("lightning_fabric.many", ", which torch")
    for older in (False, True):  # (this torch reads lightning.ckpt: its 25 are outside the state_dict)
        if older:
            monkeypatch.delattr(torch.serialization, "get_unsafe_globals_in_checkpoint")
        cases = {"code2.ckpt": code, "code4.ckpt": code, "lightning.ckpt": old_torch, "in_state_dict.ckpt": old_torch
                 } if older else {"code2.ckpt": code, "code4.ckpt": code,
                                  "in_state_dict.ckpt": refused("lightning_fabric.many", ", and loading")}
        for name, said in cases.items():
            with pytest.raises(CheckpointError, match=said) as e:
                ldcsr_core.load_model(tmp_path / name, device="cpu")
            assert "C10" not in str(e.value) and "\n" not in str(e.value)
