"""Tests of the plain-Python OCPP core."""
