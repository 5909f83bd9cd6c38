"""``python -m ldcsr_core.cli`` = ``ldcsr``."""

from .commands import main

if __name__ == "__main__":  # pragma: no cover
    main(prog_name="ldcsr")
