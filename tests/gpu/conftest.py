"""tests/gpu check the engine's own choices on a card. The suite's conftest pins ``LDCSR_DTYPE=float32``
for the CPU's float32 references, and ``"auto"`` obeys that variable: under it a card would run
float32 where a user's run computes in float16, and the half-precision test would fail before
measuring anything. Here it is unset: ``load_model(device="cuda")`` is the card's default
(float16); the tests that want float32 ask for it (``dtype="float32"``)."""

import pytest


@pytest.fixture(autouse=True)
def card_default_dtype(monkeypatch):
    monkeypatch.delenv("LDCSR_DTYPE", raising=False)
