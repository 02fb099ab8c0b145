"""The simulated charger's firmware management: firmware updates, diagnostics and log uploads."""

from .core import ChargePointCore


class FirmwareManagement(ChargePointCore):
    """Answers to the central system's firmware, diagnostics and log calls."""
