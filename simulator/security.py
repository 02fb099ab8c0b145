"""The simulated charger's side of the OCPP 1.6 security extension."""

from .core import ChargePointCore


class SecurityExtension(ChargePointCore):
    """Answers to the central system's certificate and extended trigger calls."""
