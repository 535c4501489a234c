"""Dagster orchestration of reasonlake. Keep this file empty: Flink workers import pure modules
below this package and must not pay for importing Dagster."""
