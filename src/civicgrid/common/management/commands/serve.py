"""`civicgrid serve`: the production-style server (gunicorn, threads, whitenoise statics).

Applies pending migrations first, prints the URL, then runs gunicorn in this process with
the WSGI app ``civicgrid.config.wsgi:application``. Static files are served by whitenoise
(``WHITENOISE_USE_FINDERS``), so no collectstatic is needed. Each worker starts the
embedded periodic-job thread (common.scheduler) unless Redis/Celery beat is configured."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]


def pending_migrations(database: str = DEFAULT_DB_ALIAS) -> int:
    connection = connections[database]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _post_worker_init(worker: Any) -> None:
    from civicgrid.common.scheduler import start_periodic_jobs

    start_periodic_jobs()


class CivicGridApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn embedded: the options are ours, not gunicorn's command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from civicgrid.config.wsgi import application

        return application


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": os.environ.get("CIVICGRID_ACCESS_LOG", "-") or None,  # "" turns it off
        "errorlog": "-",
        "loglevel": os.environ.get("CIVICGRID_SERVER_LOG_LEVEL", "info"),
        "proc_name": "civicgrid",
        "post_worker_init": _post_worker_init,
        # gunicorn 27's control socket (gunicornc) would write under $HOME; not needed here.
        "control_socket_disable": True,
    }


class Command(BaseCommand):
    help = "以生产方式运行 CivicGrid (gunicorn + whitenoise), 启动前自动应用数据库迁移。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("CIVICGRID_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("CIVICGRID_PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("CIVICGRID_WORKERS", "1")),
            help="gunicorn 进程数 (SQLite 建议 1)",
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("CIVICGRID_THREADS", "4")), help="每个进程的线程数"
        )
        parser.add_argument("--no-migrate", action="store_true", help="不检查/应用数据库迁移")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError("端口应在 1-65535 之间。")
        if not options["no_migrate"]:
            pending = pending_migrations()
            if pending:
                self.stdout.write(f"应用 {pending} 个数据库迁移...")
                call_command("migrate", interactive=False, verbosity=0)
            else:
                self.stdout.write("数据库迁移已是最新。")
        # whitenoise warns about a missing STATIC_ROOT even when it serves through the finders.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        # No database connection may cross gunicorn's fork into the workers.
        connections.close_all()
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        self.stdout.write(self.style.SUCCESS(f"CivicGrid 已启动: http://{shown}:{port}/  (Ctrl+C 停止)"))
        self.stdout.flush()
        CivicGridApplication(gunicorn_options(host, port, options["workers"], options["threads"])).run()
