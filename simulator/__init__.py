"""Simulated OCPP 1.6J charge points for trying and testing the csms integration.

Run `python -m simulator --help` (or `script/simulate`) for the command line;
use `SimulatedChargePoint` from code and tests.
"""

from .charge_point import SimulatedChargePoint
from .configuration import ConfigurationKey
from .core import AuthorizationRejectedError, Connector, NotConnectedError, Reservation
from .meter import Meter, MeterSample

__all__ = [
    "AuthorizationRejectedError",
    "ConfigurationKey",
    "Connector",
    "Meter",
    "MeterSample",
    "NotConnectedError",
    "Reservation",
    "SimulatedChargePoint",
]
