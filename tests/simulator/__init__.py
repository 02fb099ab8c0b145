"""Tests of the charge point simulator."""
