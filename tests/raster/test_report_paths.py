"""One rule for report paths (``ldcsr_core.files.check_report_path``) in ``ldcsr selfcheck --json``
and ``ldcsr evaluate --json``: never an input (the model file, a file GDAL reads for the scene),
an existing file only with ``--overwrite`` (exit 4, as other outputs), a folder that cannot be
written refused before the work; the write is atomic and never clobbers a file that appeared."""

from __future__ import annotations

import hashlib
import os
import shutil

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from PIL import Image

from ldcsr_core.cli import main
from ldcsr_core.errors import OutputExistsError
from ldcsr_core.files import atomic_write_bytes, human_bytes


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def work(tmp_path, tiny_model_file):
    """A 48 px scene, a GeoTIFF and a VRT of it, the scene's .aux.xml, a copy of the model."""
    rgb = np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "scene.png")
    (tmp_path / "scene.png.aux.xml").write_text("<PAMDataset></PAMDataset>\n")
    with rasterio.open(tmp_path / "base.tif", "w", driver="GTiff", width=48, height=48, count=3,
                       dtype="uint8") as ds:
        ds.write(np.moveaxis(rgb, -1, 0))
    bands = "".join(f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="1">'
                    f'base.tif</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>'
                    for b in (1, 2, 3))
    (tmp_path / "v.vrt").write_text(f'<VRTDataset rasterXSize="48" rasterYSize="48">{bands}</VRTDataset>')
    shutil.copy(tiny_model_file, tmp_path / "m.safetensors")
    return tmp_path


def selfcheck(scene, *args):
    return run("-q", "selfcheck", scene, "-s", 2, "--mode", "fast", "--model", scene.parent / "m.safetensors",
               "--device", "cpu", *args)


@pytest.mark.parametrize("scene, report, said", [
    ("scene.png", "m.safetensors", "the report path is the model file"),
    ("scene.png", "scene.png.aux.xml", "the report path is a file scene.png reads"),
    ("v.vrt", "base.tif", "the report path is a file v.vrt reads"),
])
def test_selfcheck_json_never_overwrites_a_file_the_run_reads(work, scene, report, said):
    """Before: exit 0 and the model file, the scene's .aux.xml or the VRT's source was JSON."""
    before = digests(work)
    r = selfcheck(work / scene, "--json", work / report)
    assert r.exit_code == 2 and said in r.output and "inputs are never overwritten" in r.output, r.output
    assert digests(work) == before


def test_evaluate_json_never_overwrites_the_model_file(work):
    """Before: exit 0 and the model file was the evaluation's JSON."""
    (work / "set").mkdir()
    shutil.copy(work / "scene.png", work / "set")
    before = digests(work)
    r = run("-q", "evaluate", work / "set", "--scales", 2, "--model", work / "m.safetensors", "--device", "cpu",
            "--json", work / "m.safetensors")
    assert r.exit_code == 2 and "the report path is the model file" in r.output, r.output
    assert digests(work) == before


@pytest.mark.parametrize("name", ["e.html", "E.HTM"])
def test_evaluate_refuses_an_html_report_name_it_would_fill_with_json(work, name):
    """evaluate writes JSON only. Before: exit 0 and e.html held JSON text (selfcheck writes an HTML
    page there), while the path rule's messages offered '.json or .html' names to evaluate too."""
    (work / "set").mkdir()
    shutil.copy(work / "scene.png", work / "set")
    before = digests(work)
    r = run("-q", "evaluate", work / "set", "--scales", 2, "--model", work / "m.safetensors", "--device", "cpu",
            "--json", work / name)
    assert r.exit_code == 2 and "is written as JSON only" in r.output and "choose a .json name" in r.output, r.output
    assert digests(work) == before and not (work / name).exists()
    r = run("-q", "evaluate", work / "set", "--scales", 2, "--model", work / "m.safetensors", "--device", "cpu",
            "--json", work / "set" / "scene.png")
    assert r.exit_code == 2 and "choose another .json name" in r.output, r.output


@pytest.mark.parametrize("command", ["selfcheck", "evaluate"])
def test_an_existing_report_needs_overwrite_like_every_output(work, command):
    """Before: an existing file (here someone's notes) was replaced silently, exit 0."""
    notes = work / "notes.json"
    notes.write_text("my notes\n")
    if command == "selfcheck":
        args = lambda *a: selfcheck(work / "scene.png", *a)  # noqa: E731
    else:
        (work / "set").mkdir()
        shutil.copy(work / "scene.png", work / "set")
        args = lambda *a: run("-q", "evaluate", work / "set", "--scales", 2,  # noqa: E731
                              "--model", work / "m.safetensors", "--device", "cpu", *a)
    r = args("--json", notes)
    assert r.exit_code == 4 and f"the report exists: {notes} (use --overwrite" in r.output, r.output
    assert notes.read_text() == "my notes\n"
    r = args("--json", notes, "--overwrite")
    assert r.exit_code == 0 and notes.read_text().startswith(("[", "{")), r.output
    assert sorted(p.name for p in work.iterdir() if p.name.startswith(".")) == []  # no part file left


def test_a_broken_link_at_the_report_path_is_refused_before_the_work(work, monkeypatch):
    """A link to a missing file at --json: the run did all its work (an evaluation: every image at
    every scale), then ended with exit 4 'exists' at the write. Now refused before any work."""
    from ldcsr_core.training import evaluate as ev
    (work / "set").mkdir()
    shutil.copy(work / "scene.png", work / "set")
    (work / "r.json").symlink_to(work / "gone.json")
    monkeypatch.setattr(ev, "reduced_resolution", lambda *a, **k: pytest.fail("the work started"))
    r = run("-q", "evaluate", work / "set", "--scales", 2, "--model", work / "m.safetensors", "--device", "cpu",
            "--json", work / "r.json")
    assert r.exit_code == 4 and f"the report exists: {work / 'r.json'} (a link to {work / 'gone.json'}, which is " \
        "missing) (use --overwrite" in r.output.replace("\n", ""), r.output
    assert (work / "r.json").is_symlink() and not (work / "gone.json").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc/self/fd")
def test_a_report_path_that_is_a_process_stream_is_refused_before_the_work(work):
    """--json /dev/stdout --overwrite (with stdout a file, as root): the link /dev/stdout was
    replaced by the JSON file (the system's link gone, nothing on stdout) and exit 0. Here a link
    of the same kind in the test's folder; /dev/stdout, /dev/fd/1 and /proc/self/fd/1 are looked
    at only (files.is_stream). Now exit 2 before the work, the link kept, whatever --overwrite says."""
    from ldcsr_core.files import is_stream

    out = work / "stdout"
    out.symlink_to("/proc/self/fd/1")
    before = digests(work)
    r = selfcheck(work / "scene.png", "--json", out, "--overwrite")
    assert r.exit_code == 2 and f"the report path is a process's open stream, not a file: {out}" in r.output, r.output
    assert out.is_symlink() and os.readlink(out) == "/proc/self/fd/1" and digests(work) == before
    assert all(is_stream(p) for p in ("/proc/self/fd/1", "/dev/fd/1", "/dev/stdout") if os.path.lexists(p))
    assert not any(is_stream(p) for p in (work / "scene.png", work / "r.json", "/dev/null", work))


def test_an_unwritable_report_folder_is_refused_before_the_work(work, monkeypatch):
    """Refused before the work, with upscale's exit status for an output folder it cannot write (5,
    an I/O error; before, exit 2 as for a usage error). Root may write anywhere, so the folder is
    made unwritable for ``os.access``, as it is for a user without the right."""
    from ldcsr_core.training import evaluate as ev

    (work / "ro").mkdir()
    (work / "set").mkdir()
    shutil.copy(work / "scene.png", work / "set")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(work / "ro") else real(p, mode, **kw))
    monkeypatch.setattr(ev, "reduced_resolution", lambda *a, **k: pytest.fail("the work started"))
    r = selfcheck(work / "scene.png", "--json", work / "ro" / "q.json")
    assert r.exit_code == 5 and f"Error: the report's folder is not writable: {work / 'ro'}" in r.output, r.output
    assert "LDCSR" not in r.output  # refused before the self-check ran
    r = run("-q", "evaluate", work / "set", "--scales", 2, "--model", work / "m.safetensors", "--device", "cpu",
            "--json", work / "ro" / "e.json")
    assert r.exit_code == 5 and "the report's folder is not writable" in r.output, r.output
    r = run("-q", "upscale", work / "scene.png", "-s", 2, "--mode", "fast", "--model", work / "m.safetensors",
            "--device", "cpu", "-o", work / "ro" / "o.tif")
    assert r.exit_code == 5 and "output folder is not writable" in r.output, r.output  # the same status
    r = selfcheck(work / "scene.png", "--json", work / "gone" / "q.json")  # a missing folder: usage, as upscale's
    assert r.exit_code == 2 and "the report's folder does not exist" in r.output, r.output
    assert list((work / "ro").iterdir()) == []


def test_a_report_that_appeared_during_the_run_is_kept(tmp_path):
    """The write without overwrite never replaces a file that appeared after the check (no-clobber
    link); nothing of ours is left there."""
    path = tmp_path / "q.json"
    path.write_text("theirs\n")
    with pytest.raises(OutputExistsError, match="q.json exists"):
        atomic_write_bytes(path, b"ours\n", overwrite=False)
    assert path.read_text() == "theirs\n" and [p.name for p in tmp_path.iterdir()] == ["q.json"]
    atomic_write_bytes(tmp_path / "new.json", b"ours\n", overwrite=False)
    assert (tmp_path / "new.json").read_text() == "ours\n" and len(list(tmp_path.iterdir())) == 2


def test_a_small_report_on_a_full_disk_says_its_size():
    """Before: "0.0 MB free, the file is 0.0 MB"."""
    assert (human_bytes(0), human_bytes(947), human_bytes(4096), human_bytes(3 * 2**20)) == \
        ("0 bytes", "947 bytes", "4.0 KiB", "3.0 MiB")


def test_write_report_takes_its_path_by_the_engine_rule(tmp_path, monkeypatch):
    """ENGINE_API: write_report's path follows rules.check_path. Before: '' (an unset variable) was
    the current folder, a RasterIOError 'cannot write .: Device or resource busy'; None and a bytes
    path were TypeErrors ('expected str, bytes or os.PathLike object, not NoneType')."""
    from ldcsr_core.errors import InputError
    from ldcsr_core.quality import write_report

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="^the report path is empty$"):
        write_report("", [])
    with pytest.raises(InputError, match="^report must be a file path, got NoneType$"):
        write_report(None, [])
    write_report(os.fsencode(tmp_path / "q.json"), [])
    assert (tmp_path / "q.json").read_text() == "[]\n" and os.listdir(tmp_path) == ["q.json"]
