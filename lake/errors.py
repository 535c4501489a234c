"""Typed exceptions of the lake layer."""


class LakeError(Exception):
    """Base class for every error raised by :mod:`lake`."""


class UnknownTableError(LakeError):
    """The identifier is not part of the table contract in :mod:`lake.schemas`."""


class TableContractError(LakeError):
    """An existing table does not match its contract (schema or partition spec)."""


class CommitConflictError(LakeError):
    """A commit kept conflicting with concurrent writers after all retries."""


class ReadOnlyQueryError(LakeError):
    """An audit query tried to modify data."""


class UnsupportedPartitioningError(LakeError):
    """Compaction (:mod:`lake.maintenance`) only knows identity and day partition transforms."""


class CatalogBusyError(LakeError):
    """Another writer held the catalog locked for longer than the busy timeout: nothing was committed."""
