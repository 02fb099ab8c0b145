"""Tests of the csms integration."""
