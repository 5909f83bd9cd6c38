"""One request, one ``LDCSR_JOB`` fingerprint, however it is spelt: the resume rule
(``job.request_fingerprint``) records a nodata in one spelling per request (``nodata_request``)
and a request as ``ldcsr upscale`` asks it (``request_of``), while the fingerprints of the usual
spellings stay what they were, so outputs made before are still resumed."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from ldcsr_core.errors import InputError
from ldcsr_core.geo import job
from ldcsr_core.geo.nodata_override import parse_nodata_text
from ldcsr_core.geo.pipeline import UpscaleOptions, request_of

from .conftest import write_tif


class _Source:
    """A source with a fixed identity (path, size, modification time), so that a fingerprint is the
    same on any machine and in any temporary folder."""

    def __init__(self, path):
        self.path = path

    def stat(self):
        return types.SimpleNamespace(st_size=12345, st_mtime_ns=1_700_000_000_000_000_000)

    def resolve(self):
        return Path("/data/scene.tif")


def _fingerprint(monkeypatch, nodata=None, request=None) -> str:
    monkeypatch.setattr(job, "Path", _Source)
    opts = UpscaleOptions(mode="fast", nodata=None if nodata is None else parse_nodata_text(nodata))
    return job.request_fingerprint("scene.tif", model=types.SimpleNamespace(weights_sha256="ab" * 32), options=opts,
                                   request=request or {"scale": (2.0, 2.0)}, out_shape=(64, 64))


# Regression values: computed with main's code (commit c41825c, before nodata_request and request_of)
# for _fingerprint's fixed source, model and options; an output made then carries them, so none
# may change, or `ldcsr upscale` would refuse (exit 4) what it used to resume.
PINNED = {
    None: "0a265c7b3ec1ea438f47dc3e7b916d91a179a305a78ed3e491a086ec6686f67b",
    "0": "b8b3ee80fbcc47affebb5384ded0046bd3a9368e1da395e188ffd96453b582f2",
    "nan": "e253866e246c43f4ec77ed521974b9941b41c01d9c038a65396ad62bc1946ac7",
    "none": "1b9024f58f00928516f4ca73b0bef20b68be8210689e04db96d2792a1499113a",
    "0:5": "3e424bcd31d6740942c420f647a5bd52073b337484a23419e4e5764fb307e223",
    "-9999": "55132389d1fb8724d8e82419a6ad85d4e656bd5fc92bcced36c2c3791c20723e",
    "0,255": "4b4c33dc80dd710ac71172e430969886d69671e2bdbba91fb2a45e82b1f08878",
    "2=0": "8a6c941dd1515e975d1a735f7c9bae623a5a038819beb4b0caf6c668e7df481b",
    "1=0,2=0,3=0": "127bb18d44e2c4a92419044ae0d1b3b0cd469ba54ae3619a56a77d86c47c309d",
    "0:0": "d9c608d11abe2164b3a3469185f57a6207dad0cc2a0f74197762fc64b1a6e0a9",
}
PINNED_TARGET = "8e968fa9ef5e481aba97483c138fdc2c8f21196050775b5eeff326aae3cce249"  # target_resolution (4, 4)


@pytest.mark.parametrize("nodata", list(PINNED))
def test_the_usual_spellings_keep_their_fingerprints(monkeypatch, nodata):
    assert _fingerprint(monkeypatch, nodata, request_of(scale=2)) == PINNED[nodata]


def test_a_target_pixel_size_keeps_its_fingerprint(monkeypatch):
    assert _fingerprint(monkeypatch, request=request_of(target_resolution=4)) == PINNED_TARGET
    assert request_of(scale=(2, 3)) == {"scale": (2.0, 3.0)} and request_of() == {}
    # upscale_raster asks by request_of before georef's own check: a pixel size is (x, y), as georef says
    with pytest.raises(InputError, match=r"target resolution must be a number or an \(x, y\) pair"):
        request_of(target_resolution=(1, 2, 3))


@pytest.mark.parametrize("same, as_", [("1=none,2=0", "2=0"), ("3=none,2=0,1=none", "2=0"), ("0,0", "0"),
                                       ("2=0,1=5", "1=5,2=0"), ("1=none,2=none", "none")])
def test_spellings_of_one_nodata_request_share_a_fingerprint(monkeypatch, same, as_):
    """A band given none is a band left out ('a band left out has none'): the same output, its
    LDCSR_NODATA tag too. Before: '1=none,2=0' (QGIS's nodata by band writes it so) was another request."""
    assert _fingerprint(monkeypatch, same) == _fingerprint(monkeypatch, as_)


@pytest.mark.parametrize("other, than", [("0:0", "0"), ("1=0,2=0,3=0", "0"), ("255,0", "0,255"),
                                         ("1=0,1=255", "1=255,1=0")])
def test_spellings_of_other_outputs_keep_apart(monkeypatch, other, than):
    """Not the same request: '0:0' is recorded as a range in LDCSR_NODATA, by band as each band's
    (and on a four-band file band 4 would have none), and the first value is the one declared."""
    assert _fingerprint(monkeypatch, other) != _fingerprint(monkeypatch, than)


def test_the_command_line_resumes_over_another_spelling_of_its_nodata(tmp_path, tiny_model_file):
    """QGIS's nodata by band gives '1=none,2=0'; `ldcsr upscale --nodata 2=0` over its output skips it.
    Before: 'output exists from another request (source, model or options differ)', exit 4."""
    from ldcsr_core.cli import main

    data = np.random.default_rng(3).integers(1, 255, (3, 40, 48))
    data[:, :6, :8] = 0
    src = write_tif(tmp_path / "s.tif", data, dtype="uint8")
    out = tmp_path / "o.tif"
    args = ["upscale", str(src), "-o", str(out), "--scale", "2", "--mode", "fast", "--model", str(tiny_model_file)]
    res = CliRunner().invoke(main, [*args, "--nodata", "1=none,2=0"])
    assert res.exit_code == 0 and "1 written" in res.output, res.output
    with rasterio.open(out) as ds:
        made, before = ds.tags(), out.stat().st_mtime_ns
    res = CliRunner().invoke(main, [*args, "--nodata", "2=0"])
    assert res.exit_code == 0 and "1 skipped" in res.output, res.output
    assert out.stat().st_mtime_ns == before
    fresh = tmp_path / "fresh.tif"  # what the other spelling writes: the same file, tags included
    res = CliRunner().invoke(main, [*args[:3], str(fresh), *args[4:], "--nodata", "2=0"])
    with rasterio.open(fresh) as f, rasterio.open(out) as o:
        assert np.array_equal(f.read(), o.read()) and f.nodata == o.nodata
        assert {k: v for k, v in f.tags().items() if k != "LDCSR_SOFTWARE"} == \
            {k: v for k, v in made.items() if k != "LDCSR_SOFTWARE"}


# Computed with the code before nodata_request (commit 1c4cf48) for _fingerprint's source, model and options:
# an output made then with a band given none carries it
PINNED_BEFORE = {
    "1=none,2=0": "1ec6ec139feed220cb75d5f54aa1adf29b65ef0d456e7cd443fd94fccc79fda7",
    "3=none,2=0,1=none": "8a950ce52e5b62e628c7e828bd4232603c4ea3c7c80ad567581120ba6691e5d3",
}


@pytest.mark.parametrize("nodata", list(PINNED_BEFORE))
def test_an_earlier_output_of_a_band_given_none_is_still_this_request(monkeypatch, nodata):
    """The fingerprint written is '2=0''s; the one such an output made before carries is taken too."""
    _fingerprint(monkeypatch)  # job.Path: the fixed source
    opts = UpscaleOptions(mode="fast", nodata=parse_nodata_text(nodata))
    jobs = job.request_fingerprints("scene.tif", model=types.SimpleNamespace(weights_sha256="ab" * 32), options=opts,
                                    request=request_of(scale=2), out_shape=(64, 64))
    assert jobs[:2] == (_fingerprint(monkeypatch, "2=0"), PINNED_BEFORE[nodata])  # then its zero as -0's
    assert len(job.request_fingerprints("scene.tif", model=types.SimpleNamespace(weights_sha256="ab" * 32),
                                        options=UpscaleOptions(mode="fast", nodata=parse_nodata_text("2=5")),
                                        request=request_of(scale=2), out_shape=(64, 64))) == 1


def test_the_command_line_resumes_an_output_made_before_with_a_band_given_none(monkeypatch, tmp_path,
                                                                               tiny_model_file):
    """`ldcsr upscale --nodata 1=none,2=0` rerun over its own output made before nodata_request (its LDCSR_JOB:
    the nodata as given) skips it. Before: 'output exists from another request (source, model or options
    differ)', 1 failed, where the same command had made it."""
    from ldcsr_core.cli import main

    data = np.random.default_rng(3).integers(1, 255, (3, 40, 48))
    data[:, :6, :8] = 0
    src = write_tif(tmp_path / "s.tif", data, dtype="uint8")
    out = tmp_path / "o.tif"
    args = ["upscale", str(src), "-o", str(out), "--scale", "2", "--mode", "fast", "--model", str(tiny_model_file),
            "--nodata", "1=none,2=0"]
    with monkeypatch.context() as m:  # the code of then: the nodata recorded as given
        m.setattr(job, "nodata_request", lambda nodata: nodata)
        res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "1 written" in res.output, res.output
    with rasterio.open(out) as ds:
        made, before = ds.tags()["LDCSR_JOB"], out.stat().st_mtime_ns
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "1 skipped" in res.output, res.output
    assert out.stat().st_mtime_ns == before
    with rasterio.open(out) as ds:
        assert ds.tags()["LDCSR_JOB"] == made


# Computed with main's code of commit 08c56e7 (before -0 was taken as 0) for _fingerprint's source, model and
# options: an output made then with a nodata of -0 carries it
PINNED_MINUS_ZERO = {
    "-0": ("0", "b48eeb79659e01732b24d0390750f4bdc52bae11ac5f5e09a81c900c55a3739f"),
    "-0:5": ("0:5", "73fc72576a79660b87601f986afde49feadd9d0d18c05fd744cbcba91535a971"),
    "2=-0": ("2=0", "b16c0dbebbea462af22263b201a651907a8f379fb7339ebb1eb73ba03108dbb4"),
    "-0,255": ("0,255", "3c65041e712251e74257ecdf34228390bf33963e9e3fb7056cf4da780ce248e5"),
    "-0:-0": ("0:0", "f42fc5ac1a0227fb131c8497b4864f33b40ac55a076c50d5ebfdab2ed1c0d905"),
}


@pytest.mark.parametrize("minus", list(PINNED_MINUS_ZERO))
def test_a_nodata_of_minus_zero_is_the_request_of_zero(monkeypatch, minus):
    """-0 and 0 are the same nodata (the same pixels): one fingerprint, the one of 0 (PINNED, unchanged);
    an output made before with -0 is still this request, whichever is given now. Before: two requests, and a
    rerun with the other spelling was 'output exists from another request' (exit 4)."""
    plus, before = PINNED_MINUS_ZERO[minus]
    assert _fingerprint(monkeypatch, minus) == _fingerprint(monkeypatch, plus) == PINNED[plus]
    for given in (minus, plus):
        opts = UpscaleOptions(mode="fast", nodata=parse_nodata_text(given))
        jobs = job.request_fingerprints("scene.tif", model=types.SimpleNamespace(weights_sha256="ab" * 32),
                                        options=opts, request=request_of(scale=2), out_shape=(64, 64))
        assert jobs[:2] == (_fingerprint(monkeypatch, plus), before)  # then the mixes of two zeros ('-0:-0')
        assert len(jobs) == (4 if minus == "-0:-0" else 2)


# Computed with main's code of commit 08c56e7 (before -0 was taken as 0), as PINNED_MINUS_ZERO: an output made
# then with zeros spelt differently band by band (or at a range's two ends) carries them
PINNED_MIXED_ZEROS = {
    "1=-0,2=0": ("1=0,2=0", "e4f6887fa5a0f9f0d6c8e0f71797072fac7aac77cf49b449368a4e7e77d23528"),
    "1=0,2=-0": ("1=0,2=0", "9e3799bab40c42aa0b7dfae5df234078b473cf4ea06d4b1a4525da582898b9b1"),
    "-0:0": ("0:0", "dd43596549d78180c7ef89d5eefe6986cbd1cdc4fb91f75364cb51b05004a05e"),
}


@pytest.mark.parametrize("mixed", list(PINNED_MIXED_ZEROS))
def test_zeros_spelt_differently_band_by_band_are_the_request_of_zero(monkeypatch, mixed):
    """An output made before -0 was taken as 0 with '1=-0,2=0' is this request's whichever spelling is given
    now (each, all 0, all -0); the one written is all 0's. Before: only all 0 or all -0 were taken, so it was
    'output exists from another request' (exit 4)."""
    plus, before = PINNED_MIXED_ZEROS[mixed]
    assert _fingerprint(monkeypatch, mixed) == _fingerprint(monkeypatch, plus)
    if plus in PINNED:
        assert _fingerprint(monkeypatch, plus) == PINNED[plus]
    for given in (mixed, plus, plus.replace("0", "-0")):
        opts = UpscaleOptions(mode="fast", nodata=parse_nodata_text(given))
        jobs = job.request_fingerprints("scene.tif", model=types.SimpleNamespace(weights_sha256="ab" * 32),
                                        options=opts, request=request_of(scale=2), out_shape=(64, 64))
        assert jobs[0] == _fingerprint(monkeypatch, plus) and before in jobs and len(jobs) == 4, given


def test_the_command_line_resumes_an_output_made_with_zeros_spelt_band_by_band(monkeypatch, tmp_path,
                                                                              tiny_model_file):
    """`ldcsr upscale --nodata 1=-0,2=0` made before -0 was taken as 0: rerun with that spelling or another,
    it is skipped. Before: 'output exists from another request (source, model or options differ)', exit 4."""
    from ldcsr_core.cli import main

    data = np.random.default_rng(5).uniform(0.1, 0.9, (2, 40, 48)).astype(np.float32)
    data[:, :6, :8] = 0.0
    src = write_tif(tmp_path / "s.tif", data, dtype="float32")
    out = tmp_path / "o.tif"
    args = ["upscale", str(src), "-o", str(out), "--scale", "2", "--mode", "fast", "--model", str(tiny_model_file)]
    with monkeypatch.context() as m:  # the code of then: the zeros recorded as given
        m.setattr(job, "nodata_request", lambda nodata: nodata)
        res = CliRunner().invoke(main, [*args, "--nodata", "1=-0,2=0"])
    assert res.exit_code == 0 and "1 written" in res.output, res.output
    made = out.stat().st_mtime_ns
    for given in ("1=-0,2=0", "1=0,2=-0", "1=0,2=0"):
        res = CliRunner().invoke(main, [*args, "--nodata", given])
        assert res.exit_code == 0 and "1 skipped" in res.output, (given, res.output)
    assert out.stat().st_mtime_ns == made


def test_many_zeros_keep_to_all_zero_and_all_minus_zero():
    """Over 8 zeros the mixes (2**n fingerprints) are not tried: all 0 and all -0 alone."""
    from ldcsr_core.geo.nodata_override import zero_signs

    nodata = parse_nodata_text(",".join(f"{b}=0" for b in range(1, 10)))
    assert zero_signs(nodata) == [(False,) * 9, (True,) * 9]
    assert len(zero_signs(parse_nodata_text(",".join(f"{b}=-0" for b in range(1, 9))))) == 256
    assert zero_signs(parse_nodata_text("5")) == [] and zero_signs(None) == []


def test_the_command_line_resumes_over_minus_zero_and_zero(monkeypatch, tmp_path, tiny_model_file):
    """A float file: `--nodata=-0` and `--nodata 0` resume each other's outputs, one made before -0 was
    taken as 0 too. Before: 'output exists from another request (source, model or options differ)', exit 4."""
    from ldcsr_core.cli import main

    data = np.random.default_rng(4).uniform(0.1, 0.9, (3, 40, 48)).astype(np.float32)
    data[:, :6, :8] = -0.0
    src = write_tif(tmp_path / "s.tif", data, dtype="float32", nodata=-0.0)
    args = ["upscale", str(src), "--scale", "2", "--mode", "fast", "--model", str(tiny_model_file)]
    old, new = tmp_path / "old.tif", tmp_path / "new.tif"
    with monkeypatch.context() as m:  # the code of then: -0 recorded as given
        m.setattr(job, "nodata_request", lambda nodata: nodata)
        res = CliRunner().invoke(main, [*args, "-o", str(old), "--nodata=-0"])
    assert res.exit_code == 0 and "1 written" in res.output, res.output
    res = CliRunner().invoke(main, [*args, "-o", str(new), "--nodata=-0"])
    assert res.exit_code == 0 and "1 written" in res.output, res.output
    made = {p: p.stat().st_mtime_ns for p in (old, new)}
    for out in (new, old):
        for given in ("--nodata=0", "--nodata=-0"):
            res = CliRunner().invoke(main, [*args, "-o", str(out), given])
            assert res.exit_code == 0 and "1 skipped" in res.output, (out.name, given, res.output)
    assert {p: p.stat().st_mtime_ns for p in (old, new)} == made
    with rasterio.open(old) as o, rasterio.open(new) as n:  # two fingerprints of the same pixels
        assert o.tags()["LDCSR_JOB"] != n.tags()["LDCSR_JOB"] and np.array_equal(o.read(), n.read())


# Regression values: computed with the code of commit 1c4cf48 (before upscale_raster asked by request_of: its
# request as the caller spelt it) for _fingerprint's fixed source, model and options; an output the API made
# then carries them, so a resumed API run must still take them as this request's.
PINNED_API = [
    ({"scale": 2}, None, "e813da9009ac1320a69fb920ffd6a2c3cdef86cd3f62452348fc4fa95a6b3a0a"),
    ({"scale": 2.0}, None, "842773484491be5fe72a8792b8ec7923f34de90c680a982440764eb1d148a11b"),
    ({"scale": (3, 2)}, None, "b362f665daa2b86996c9e1e708376db76a23f6f74a7483736b8e644b7b724039"),
    ({"scale": [2.5, 2.5]}, None, "78850ffc48427af000454b13f2c90aa6837de332736cb10a9d0a660786a05548"),
    ({"target_resolution": 4}, None, "b3e598cee818c9aaa48fff5b9ab3b1802c7027d37b97a0b9872d96a2d0753f1f"),
    ({"scale": 2}, "1=none,2=0", "fdd5be63852a57ba964e0f6f31f63b49c7b247586930455d586941ece4d057c0"),
]


@pytest.mark.parametrize("asked, nodata, pinned", PINNED_API)
def test_an_api_output_made_before_request_of_is_still_this_request(monkeypatch, asked, nodata, pinned):
    """upscale_raster(scale=2) asks {'scale': (2.0, 2.0)}, the CLI's request, and writes its fingerprint;
    the one its outputs made before carry (the request as given) is taken too."""
    from ldcsr_core.geo.tile_run import _request

    _fingerprint(monkeypatch)  # job.Path: the fixed source
    given = {"scale": None, "target_resolution": None, **asked}
    request = _request(given["scale"], given["target_resolution"], None)
    assert {k: v for k, v in request.items() if v is not None} == request_of(**asked)
    opts = UpscaleOptions(mode="fast", nodata=None if nodata is None else parse_nodata_text(nodata))
    jobs = job.request_fingerprints("scene.tif", model=types.SimpleNamespace(weights_sha256="ab" * 32), options=opts,
                                    request=request, out_shape=(64, 64),
                                    as_given=_request(given["scale"], given["target_resolution"], None, as_given=True))
    assert jobs[0] == _fingerprint(monkeypatch, nodata and "2=0", request_of(**asked)) and pinned in jobs


def test_the_api_and_the_command_line_resume_each_others_outputs(monkeypatch, tmp_path, tiny_model_file):
    """upscale_raster(src, dst, scale=2) records the CLI's request ({'scale': (2.0, 2.0)}) and fingerprint: the
    CLI skips its output, it skips the CLI's, and one it made before (the request as given) is still skipped;
    the pixels are the CLI's. Before: the API wrote {'scale': 2}, and each refused the other's output, 'output
    exists from another request (source, model or options differ)' (CLI: exit 4)."""
    import ldcsr_core
    from ldcsr_core.cli import main
    from ldcsr_core.geo import pipeline, tile_run
    from ldcsr_core.geo.pipeline import OutputOptions, upscale_raster

    src = write_tif(tmp_path / "s.tif", np.random.default_rng(5).integers(0, 255, (3, 40, 48)), dtype="uint8")
    model = ldcsr_core.load_model(tiny_model_file)
    resume = OutputOptions(skip_complete=True)
    api, cli = tmp_path / "api.tif", tmp_path / "cli.tif"
    assert upscale_raster(src, api, model=model, scale=2, options=UpscaleOptions(mode="fast")).status == "written"
    args = ["upscale", str(src), "--scale", "2", "--mode", "fast", "--model", str(tiny_model_file)]
    made = api.stat().st_mtime_ns
    res = CliRunner().invoke(main, [*args, "-o", str(api)])
    assert res.exit_code == 0 and "1 skipped" in res.output, res.output
    res = CliRunner().invoke(main, [*args, "-o", str(cli)])
    assert res.exit_code == 0 and "1 written" in res.output, res.output
    by_cli = cli.stat().st_mtime_ns
    res = upscale_raster(src, cli, model=model, scale=2, options=UpscaleOptions(mode="fast"), output=resume)
    assert res.status == "skipped" and (api.stat().st_mtime_ns, cli.stat().st_mtime_ns) == (made, by_cli)
    with rasterio.open(api) as a, rasterio.open(cli) as c:
        assert np.array_equal(a.read(), c.read()) and a.tags()["LDCSR_REQUEST"] == "{'scale': (2.0, 2.0)}"
        assert {k: v for k, v in a.tags().items() if k != "LDCSR_SOFTWARE"} == \
            {k: v for k, v in c.tags().items() if k != "LDCSR_SOFTWARE"}
    old = tmp_path / "old.tif"
    with monkeypatch.context() as m:  # the code of then: the request recorded as given
        m.setattr(pipeline, "_request", lambda *a, **_: tile_run._request(*a, as_given=True))
        upscale_raster(src, old, model=model, scale=2, options=UpscaleOptions(mode="fast"))
    with rasterio.open(old) as ds:
        assert ds.tags()["LDCSR_REQUEST"] == "{'scale': 2}"
    made = old.stat().st_mtime_ns
    res = upscale_raster(src, old, model=model, scale=2, options=UpscaleOptions(mode="fast"), output=resume)
    assert res.status == "skipped" and old.stat().st_mtime_ns == made
