"""Typed exceptions of the local processes (:mod:`services`): each message says which process and why, in one line."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class for every error raised by :mod:`services`."""


class EngineError(ServiceError):
    """A local process (an engine: the broker, the object store, PostgreSQL, Redis, the Flink cluster, the
    supervisor) could not be started or stopped; the message names its log where it has one."""


class MissingProgramError(EngineError):
    """An engine's program is not installed: an operating-system package the set-up installs (the message names
    the Debian package). The commands never install OS packages themselves."""


class BrokerStartError(EngineError):
    """The embedded Tansu broker (or its object store) could not be started (its log is named in the message)."""


class BrokerNotRunningError(ServiceError):
    """No Kafka to talk to: neither ``REASONLAKE_BOOTSTRAP_SERVERS`` nor a running embedded broker."""
