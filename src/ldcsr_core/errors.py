"""Exception hierarchy of the engine (root: :class:`LdcsrError`)."""

__all__ = ["LdcsrError", "InputError", "CheckpointError", "ConfigError", "Cancelled"]


class LdcsrError(Exception):
    """Root of every error raised on purpose by ldcsr_core."""


class InputError(LdcsrError, ValueError):
    """An image, scale or size argument that the engine cannot work with."""


class ConfigError(LdcsrError, ValueError):
    """A model configuration that is inconsistent or unsupported."""


class CheckpointError(LdcsrError, KeyError):
    """A checkpoint that cannot be read safely or does not match the model."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class Cancelled(LdcsrError):
    """Raised when a ``cancel()`` callable asked a run to stop."""
