"""PostgreSQL as the Iceberg SQL catalog (``REASONLAKE_CATALOG_URI=postgresql+psycopg://…``): :func:`start`
initialises a cluster under ``<home>/engines/postgres`` (trust authentication, listening on 127.0.0.1 only)
and starts it, :func:`create_database` adds a database, :func:`stop` stops it. PostgreSQL refuses to run as
root: as root, the cluster runs as Debian's ``postgres`` user, which must be able to reach the home (every
folder above it searchable)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lake.settings import Settings
from services import packages, process
from services.errors import EngineError


@dataclass(frozen=True)
class Postgres:
    port: int

    def url(self, database: str = "reasonlake") -> str:
        """The SQLAlchemy URI of ``database`` (``REASONLAKE_CATALOG_URI``)."""
        return f"postgresql+psycopg://postgres@{process.HOST}:{self.port}/{database}"


def folder(settings: Settings) -> Path:
    return settings.home / "engines" / "postgres"


def find_initdb() -> str | None:
    """The newest installed PostgreSQL's ``initdb`` (Debian keeps them under /usr/lib/postgresql/<major>)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return str(found[-1]) if found else None


def bin_dir() -> Path:
    """The newest installed PostgreSQL's ``bin`` folder."""
    return Path(packages.require("initdb", find_initdb)).parent


def _as_postgres() -> list[str]:
    """PostgreSQL will not run as root: as root, its commands run as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _pg(args: list[str], what: str, log: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([*_as_postgres(), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip() or (log.read_text()[-500:] if log and log.exists() else "")
        raise EngineError(f"PostgreSQL: {what} failed: {' '.join(detail.split())[-400:]}")
    return proc


def _hand_to_postgres_user(home: Path) -> None:
    """As root, the cluster's folder belongs to the ``postgres`` user, which must be able to reach it."""
    import pwd

    user = pwd.getpwnam("postgres")
    os.chown(home, user.pw_uid, user.pw_gid)  # initdb creates the rest as that user
    if subprocess.run([*_as_postgres(), "test", "-w", str(home)]).returncode != 0:
        raise EngineError(
            f"PostgreSQL runs as the postgres user, which cannot reach {home}: make every folder above "
            "the home searchable (chmod o+x), or use a home outside a private folder"
        )


def start(settings: Settings) -> Postgres:
    """The home's PostgreSQL (with a ``reasonlake`` database), initialised and started when needed."""
    home, bin_ = folder(settings), bin_dir()
    data, log = home / "data", home / "postgres.log"
    home.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        _hand_to_postgres_user(home)
    if not (data / "PG_VERSION").exists():
        _pg([str(bin_ / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"], "initdb")
    port = process.remembered_port(home / "port")
    ready = [str(bin_ / "pg_isready"), "-q", "-h", process.HOST, "-p", str(port)]
    if subprocess.run(ready).returncode != 0:
        options = f"-p {port} -k {home} -c listen_addresses={process.HOST}"
        _pg([str(bin_ / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start"], "start", log)
    server = Postgres(port)
    create_database(server, "reasonlake")
    return server


def create_database(server: Postgres, name: str) -> None:
    """Create database ``name`` unless it exists."""
    import psycopg

    dsn = f"host={process.HOST} port={server.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as con:
        if con.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None:
            con.execute(f'create database "{name}"')


def stop(settings: Settings) -> bool:
    """Stop the home's PostgreSQL (fast shutdown); False when it was not running."""
    data = folder(settings) / "data"
    if not (data / "postmaster.pid").exists():
        return False
    _pg([str(bin_dir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], "stop")
    return True
