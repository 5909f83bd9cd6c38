"""Plain, frozen configuration objects for LDCSR models.

Both the official default config (``configs/second_stage_van_v4.yaml``) and the small golden-vector
config are expressible here; :func:`from_official` reads the official YAML/JSON structure.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, InputError

__all__ = [
    "EncoderConfig", "DecoderConfig", "UNetConfig", "DiffusionConfig", "ModelConfig",
    "official_default_config", "tiny_test_config", "compact_config", "from_official",
]


def _json_kind(value: Any) -> str:
    """What a JSON value is, in JSON's words (an array, not a Python list)."""
    return {list: "an array", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _check_type(owner: str, name: str, default: Any, value: Any) -> None:
    """A field read from JSON has its default's type (a whole number, a flag, a number, a tuple of
    whole numbers): else one :class:`ConfigError` naming it (Python's own error was e.g. 'not all
    arguments converted during string formatting' for a width given as a string)."""
    def whole(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, want = whole(value), "a whole number"
    elif isinstance(default, float):
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, tuple):
        ok, want = isinstance(value, tuple) and all(whole(v) for v in value), "a list of whole numbers"
    else:
        return
    if not ok:
        raise ConfigError(f"{owner}.{name} must be {want}, got {value!r}")


@dataclass(frozen=True)
class EncoderConfig:
    """GAPEncoder (stage-1 encoder: in 6, double_z; condition encoder: in 3, single z)."""

    in_channels: int = 3
    ch: int = 64
    ch_mult: tuple[int, ...] = (1, 2, 2, 4)
    num_res_blocks: int = 2
    z_channels: int = 4
    double_z: bool = False


@dataclass(frozen=True)
class DecoderConfig:
    """GAPDecoder. ``fuse_width`` is the upsampler MLP width (hard-coded 256 in the official code)."""

    ch: int = 64
    out_ch: int = 3
    ch_mult: tuple[int, ...] = (1, 1, 1, 1)
    num_res_blocks: int = 2
    z_channels: int = 4
    in_channels: int = 3
    num_sr_modules: tuple[int, ...] = (12, 12, 12, 12)
    fuse_width: int = 256


@dataclass(frozen=True)
class UNetConfig:
    in_channels: int = 8
    out_channels: int = 4
    model_channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 2, 4)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (8,)
    num_head_channels: int = 32
    num_heads: int = -1
    use_scale_embedding: bool = True
    use_osize_embedding: bool = True


@dataclass(frozen=True)
class DiffusionConfig:
    """Noise schedule of the 4-step chain: betas = linspace(sqrt(start), sqrt(end), T)**2."""

    timesteps: int = 4
    linear_start: float = 0.1
    linear_end: float = 0.99
    embed_dim: int = 4


@dataclass(frozen=True)
class ModelConfig:
    """A whole LDCSR model. ``encoder`` (stage-1) is only needed for training. ``detail_decoder``
    (ours, not in the official release): a second decoder that diffusion mode decodes its sampled
    latents with, so that it can be trained for detail while the fast path keeps a PSNR decoder."""

    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    cond_encoder: EncoderConfig = field(default_factory=EncoderConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    encoder: EncoderConfig | None = None
    detail_decoder: DecoderConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "ModelConfig":
        """The configuration a JSON object of sections says; its errors name the sections and
        fields as the JSON spells them (``unet.model_channels``), as :meth:`validate`'s do."""
        def build(cls, section):
            sub = d.get(section, {} if section == "diffusion" else None)
            if sub is None:
                return None
            if not isinstance(sub, dict):
                raise ConfigError(f"the section {section!r} must be a JSON object of fields, got {sub!r}")
            names = {f.name: f for f in dataclasses.fields(cls)}
            unknown = set(sub) - set(names)
            if unknown:
                raise ConfigError(f"unknown fields in the section {section!r}: {sorted(unknown, key=str)}")
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()}
            for k, v in values.items():
                _check_type(section, k, names[k].default if names[k].default is not dataclasses.MISSING
                            else None, v)
            return cls(**values)
        if not isinstance(d, dict):
            raise ConfigError(f"a model config is a JSON object of sections, got {_json_kind(d)}")
        for section in ("decoder", "cond_encoder", "unet"):
            if section not in d:
                raise ConfigError(f"model config lacks the section {section!r}")
        unknown = set(d) - {f.name for f in dataclasses.fields(ModelConfig)}
        if unknown:  # a misspelt section would have been the default's without a word
            raise ConfigError(f"unknown sections in the model config: {sorted(unknown, key=str)}")
        return ModelConfig(
            decoder=build(DecoderConfig, "decoder"),
            cond_encoder=build(EncoderConfig, "cond_encoder"),
            unet=build(UNetConfig, "unet"),
            diffusion=build(DiffusionConfig, "diffusion"),
            encoder=build(EncoderConfig, "encoder"),
            detail_decoder=build(DecoderConfig, "detail_decoder"),
        )

    @staticmethod
    def from_json(text: str) -> "ModelConfig":
        return ModelConfig.from_dict(json.loads(text))

    def validate(self) -> "ModelConfig":
        for name, c in (("cond_encoder", self.cond_encoder), ("encoder", self.encoder)):
            if c is not None and c.num_res_blocks == 0 and any(m != 1 for m in c.ch_mult):
                raise ConfigError(f"{name}: num_res_blocks 0 needs ch_mult of ones (no block changes width)")
        for name, c in (("decoder", self.decoder), ("cond_encoder", self.cond_encoder), ("encoder", self.encoder),
                        ("detail_decoder", self.detail_decoder)):
            if c is not None and c.ch % 32:
                raise ConfigError(f"{name}.ch must be a multiple of 32 (GroupNorm has 32 groups), got {c.ch}")
        if self.unet.model_channels % 32:
            raise ConfigError(f"unet.model_channels must be a multiple of 32, got {self.unet.model_channels}")
        self._check_rgb()
        if self.unet.in_channels != 2 * self.diffusion.embed_dim:
            raise ConfigError("unet.in_channels must be 2 × embed_dim (hybrid_adm concatenation)")
        if len(self.decoder.num_sr_modules) != len(self.decoder.ch_mult):
            raise ConfigError("decoder.num_sr_modules needs one entry per level")
        self._check_attention()
        self._check_flags()
        d = self.diffusion  # else diffusion mode's pictures were NaN (or its undenoised noise, for 0 steps)
        if d.timesteps < 1:
            raise ConfigError(f"diffusion.timesteps must be at least 1, got {d.timesteps}")
        if not (0 < d.linear_start < 1 and 0 < d.linear_end < 1):
            raise ConfigError("diffusion.linear_start and linear_end (the noise schedule's first and last beta) "
                              f"must be between 0 and 1, exclusive, got {d.linear_start} and {d.linear_end}")
        return self

    def _check_rgb(self) -> None:
        """The parts that read or make the image take 3 bands: the engine feeds every model RGB
        triplets (other bands go through three at a time). A model of 4 or 1 band loaded, and
        every tile then failed with torch's 'expected input[1, 3, …] to have 4 channels' (exit 1)."""
        for name, n in (("cond_encoder.in_channels", self.cond_encoder.in_channels),
                        ("decoder.in_channels", self.decoder.in_channels), ("decoder.out_ch", self.decoder.out_ch),
                        *((("detail_decoder.in_channels", self.detail_decoder.in_channels),
                           ("detail_decoder.out_ch", self.detail_decoder.out_ch)) if self.detail_decoder else ())):
            if n != 3:
                raise ConfigError(f"{name} is {n}: the engine runs models of 3 bands (RGB triplets; a "
                                  "raster's other bands go through three at a time)")

    def _check_flags(self) -> None:
        """The configuration's switches are True or False (rules.check_flag): "false" in a file's
        JSON metadata was true, so the model was built with the layers its weights lack."""
        from .rules import check_flag

        flags = [(f"{n}.double_z", c.double_z) for n, c in (("cond_encoder", self.cond_encoder),
                                                            ("encoder", self.encoder)) if c is not None]
        flags += [(f"unet.{k}", getattr(self.unet, k)) for k in ("use_scale_embedding", "use_osize_embedding")]
        for what, value in flags:
            try:
                check_flag(value, what)
            except InputError as e:
                raise ConfigError(str(e)) from None

    def _check_attention(self) -> None:
        """Each attention block of the UNet splits its channels into whole heads: of
        ``num_head_channels`` each, or ``num_heads`` of them when that is -1 (else diffusion mode
        failed in torch's words, 'shape [9, 21, 1] is invalid for input of size 192')."""
        u = self.unet
        mults = u.channel_mult or (1,)
        widths = {u.model_channels * m for level, m in enumerate(mults) if 2 ** level in u.attention_resolutions}
        for ch in sorted(widths | {u.model_channels * mults[-1]}):  # the middle block's too
            if u.num_head_channels > 0:
                if ch % u.num_head_channels:
                    raise ConfigError(f"unet.num_head_channels {u.num_head_channels} does not divide the "
                                      f"{ch} channels of an attention block")
            elif u.num_head_channels != -1 or u.num_heads < 1 or ch % u.num_heads:
                raise ConfigError(f"unet.num_head_channels must be a whole number >= 1, or -1 with unet.num_heads "
                                  f"a divisor of each attention block's channels ({ch}), got "
                                  f"{u.num_head_channels} and {u.num_heads}")


def _flag(value, what: str) -> bool:
    from .rules import check_flag  # (rules imports nothing of the engine's; this is torch-free too)

    return check_flag(value, what)


def official_default_config(with_encoder: bool = False) -> ModelConfig:
    """``configs/second_stage_van_v4.yaml`` of the official release (31.3 M inference parameters)."""
    with_encoder = _flag(with_encoder, "with_encoder")
    enc = EncoderConfig(in_channels=6, double_z=True) if with_encoder else None
    return ModelConfig(encoder=enc)


def tiny_test_config(with_encoder: bool = False) -> ModelConfig:
    """The smallest expressible model: random-weight tests of geometry, tiling and I/O."""
    with_encoder = _flag(with_encoder, "with_encoder")
    enc = EncoderConfig(in_channels=6, ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=0, double_z=True)
    return ModelConfig(
        decoder=DecoderConfig(ch=32, num_res_blocks=1, num_sr_modules=(1, 1, 1, 1), fuse_width=32),
        cond_encoder=EncoderConfig(ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=1),
        unet=UNetConfig(model_channels=32, channel_mult=(1, 1, 2, 2), num_res_blocks=1,
                        attention_resolutions=(8,)),
        encoder=enc if with_encoder else None,
    )


def compact_config(with_encoder: bool = False) -> ModelConfig:
    """The shipped default's architecture: LDCSR at width 32, sized for CPU use."""
    with_encoder = _flag(with_encoder, "with_encoder")
    enc = EncoderConfig(in_channels=6, ch=32, ch_mult=(1, 1, 2, 2), num_res_blocks=1, double_z=True)
    return ModelConfig(
        decoder=DecoderConfig(ch=32, num_res_blocks=1, num_sr_modules=(2, 2, 2, 2), fuse_width=64),
        cond_encoder=EncoderConfig(ch=32, ch_mult=(1, 1, 2, 2), num_res_blocks=1),
        unet=UNetConfig(model_channels=32, channel_mult=(1, 2, 2, 2), num_res_blocks=1,
                        attention_resolutions=(8,)),
        encoder=enc if with_encoder else None,
    )


def from_official(cfg: dict[str, Any], *, with_encoder: bool = False, fuse_width: int = 256) -> ModelConfig:
    """Read the official ``model: {target, params}`` structure (YAML loaded to a dict)."""
    with_encoder = _flag(with_encoder, "with_encoder")
    p = cfg.get("model", cfg).get("params", cfg)
    try:
        u = p["unet_config"]["params"]
        fs = p["first_stage_config"]["params"]
        d = fs["decoder_config"]["params"]
        e = fs["encoder_config"]["params"]
        c = p["cond_stage_config"]["params"]
    except KeyError as err:
        raise ConfigError(f"official config lacks {err.args[0]!r}") from None

    def enc(x):
        return EncoderConfig(in_channels=x["in_channels"], ch=x["ch"], ch_mult=tuple(x["ch_mult"]),
                             num_res_blocks=x["num_res_blocks"], z_channels=x["z_channels"],
                             double_z=bool(x.get("double_z", True)))

    return ModelConfig(
        decoder=DecoderConfig(ch=d["ch"], out_ch=d["out_ch"], ch_mult=tuple(d["ch_mult"]),
                              num_res_blocks=d["num_res_blocks"], z_channels=d["z_channels"],
                              in_channels=d["in_channels"], num_sr_modules=tuple(d["num_sr_modules"]),
                              fuse_width=fuse_width),
        cond_encoder=enc(c),
        unet=UNetConfig(in_channels=u["in_channels"], out_channels=u["out_channels"],
                        model_channels=u["model_channels"], channel_mult=tuple(u["channel_mult"]),
                        num_res_blocks=u["num_res_blocks"],
                        attention_resolutions=tuple(u["attention_resolutions"]),
                        num_head_channels=u.get("num_head_channels", -1), num_heads=u.get("num_heads", -1),
                        use_scale_embedding=u.get("use_scale_embedding", False),
                        use_osize_embedding=u.get("use_osize_embedding", False)),
        diffusion=DiffusionConfig(timesteps=p.get("timesteps", 1000), linear_start=p.get("linear_start", 1e-4),
                                  linear_end=p.get("linear_end", 2e-2), embed_dim=fs.get("embed_dim", 4)),
        encoder=enc(e) if with_encoder else None,
    ).validate()
