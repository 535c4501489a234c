"""Typed exceptions of the streaming side (Kafka helpers, jobs); the broker's are in :mod:`services.errors`."""

from __future__ import annotations


class StreamingError(Exception):
    """Base class for every error raised by :mod:`flink`."""


class DeliveryError(StreamingError):
    """At least one produced record was not acknowledged by the broker."""


class MissingJarsError(StreamingError):
    """The Flink connector jars are not installed (run ``make setup``)."""


class GatewayStartError(StreamingError):
    """PyFlink's Java gateway (the driver's JVM) did not start; the message carries the JVM's own reason."""


class JobFailedError(StreamingError):
    """A Flink job ended in a state other than cancelled-by-us (see the Flink log named in it)."""
