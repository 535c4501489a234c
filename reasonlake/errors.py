"""How a failed command ends: one line saying what failed and what to do, and a documented exit code.

=====  ===============  =============================================================================
code   kind             e.g.
=====  ===============  =============================================================================
0      ok
1      internal         a bug or an unexpected failure (``--debug`` shows the traceback; please report it)
2      usage            a wrong option or argument (click's own usage errors)
3      configuration    a setting, the policy file or a label override file is invalid
4      unavailable      a service is not there: the broker, a Flink job that failed, the online store,
                        a catalog another writer keeps locked
5      data             the data is not there or not usable yet: no dbt marts, no live model, a corrupt file
                        or a labelled sample `evaluate` cannot use (a column missing, too few weeks)
130    interrupted      Ctrl-C
=====  ===============  =============================================================================
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

import click

OK, INTERNAL, USAGE, CONFIGURATION, UNAVAILABLE, DATA, INTERRUPTED = 0, 1, 2, 3, 4, 5, 130


class ServiceUnavailable(click.ClickException):
    """A command's own check found a service or resource it needs taken or missing (exit 4)."""

    exit_code = UNAVAILABLE


@dataclass(frozen=True)
class Failure:
    code: int
    kind: str
    hint: str


def _failure_of(exc: BaseException) -> Failure:
    from dagster_project.cleaning.resources import DbtRunError, ManifestMissingError
    from flink.errors import DeliveryError, GatewayStartError, JobFailedError, MissingJarsError
    from lake.errors import CatalogBusyError, LakeError, ReadOnlyQueryError
    from lake.settings import SettingsError
    from reasons.election.policy import PolicyError
    from reasons.election.weekly_report import NoElectionError
    from reasons.labelled import LabelledFileError
    from reasons.live import NoLiveModelError
    from reasons.marts import MartNotBuiltError
    from reasons.topics.params import CorpusTooSmallError
    from services.errors import BrokerNotRunningError, BrokerStartError, EngineError, MissingProgramError

    table: tuple[tuple[tuple[type[BaseException], ...], Failure], ...] = (
        ((SettingsError, PolicyError), Failure(CONFIGURATION, "configuration", "fix the setting named above")),
        ((BrokerNotRunningError,), Failure(UNAVAILABLE, "broker", "start it with `reasonlake up`")),
        ((BrokerStartError, DeliveryError), Failure(UNAVAILABLE, "broker", "check `reasonlake status` and its log")),
        (
            (MissingProgramError,),
            Failure(UNAVAILABLE, "engine", "install the package named above (`make setup-engines`)"),
        ),
        ((EngineError,), Failure(UNAVAILABLE, "engine", "the log named above has the details")),
        ((JobFailedError,), Failure(UNAVAILABLE, "Flink job", "the task logs named above have the details")),
        ((MissingJarsError,), Failure(UNAVAILABLE, "Flink", "run `make setup` to install the connector jars")),
        ((GatewayStartError,), Failure(UNAVAILABLE, "Flink", "the JVM's reason is above")),
        ((DbtRunError,), Failure(DATA, "dbt", "the dbt log above says which model or test failed")),
        ((ManifestMissingError,), Failure(DATA, "dbt", "run `make setup` to parse the dbt project")),
        ((MartNotBuiltError,), Failure(DATA, "data", "run `reasonlake weekly` (or the dbt assets) first")),
        ((NoElectionError,), Failure(DATA, "data", "the weekly run writes a week's election")),
        ((NoLiveModelError,), Failure(DATA, "data", "run `reasonlake weekly` to promote a model first")),
        ((CorpusTooSmallError,), Failure(DATA, "data", "the week has too few messages to fit")),
        ((LabelledFileError,), Failure(DATA, "labelled sample", "see `reasonlake evaluate --help`")),
        (
            (CatalogBusyError,),
            Failure(UNAVAILABLE, "catalog", "retry once the other writer is done (REASONLAKE_CATALOG_BUSY_TIMEOUT_S)"),
        ),
        (
            (ReadOnlyQueryError,),
            Failure(DATA, "audit", "one read-only query over namespace.table, e.g. select count(*) from raw.feedback"),
        ),
        ((LakeError,), Failure(DATA, "lake", "see the table named above")),
        ((ConnectionError, TimeoutError), Failure(UNAVAILABLE, "service", "is the service running?")),
        ((FileNotFoundError, PermissionError), Failure(DATA, "file", "check the path above")),
    )
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return Failure(
            UNAVAILABLE, "disk full", "free space there and run it again; an Iceberg commit is all or nothing"
        )
    for types, failure in table:
        if isinstance(exc, types):
            return failure
    if type(exc).__module__.split(".")[0].lstrip("_") == "duckdb":
        return Failure(DATA, "query", "check the SQL: tables are namespace.table, e.g. raw.feedback")
    if type(exc).__module__.split(".")[0] == "sqlalchemy":
        return Failure(UNAVAILABLE, "catalog", "is the catalog database reachable and not locked?")
    if type(exc).__module__.split(".")[0] in ("confluent_kafka", "py4j"):
        return Failure(UNAVAILABLE, "service", "is the broker running? `reasonlake status`")
    return Failure(INTERNAL, "internal error", "this is a bug: please report it with the output of --debug")


def one_line(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line a failed command prints for ``exc``."""
    failure = _failure_of(exc)
    what = " ".join(str(exc).split()) or type(exc).__name__
    if len(what) > 400:
        what = what[:397] + "..."
    return failure.code, f"reasonlake: {failure.kind}: {what} ({failure.hint}; --debug shows the traceback)"


def run(main: click.Command, args: list[str]) -> int:
    """Run the click command ``main`` on ``args`` and return the exit code, a failure printed as one line
    (the traceback only with ``--debug``)."""
    debug = "--debug" in args
    try:
        main.main(args=args, prog_name="reasonlake", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("reasonlake: interrupted", err=True)
        return INTERRUPTED
    except click.UsageError as exc:
        exc.show()
        return USAGE
    except click.ClickException as exc:
        click.echo(f"reasonlake: {exc.format_message()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("reasonlake: interrupted", err=True)
        return INTERRUPTED
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if debug:
            raise
        code, line = one_line(exc)
        click.echo(line, err=True)
        return code
    return OK
