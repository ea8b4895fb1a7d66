"""civicgrid people import FILE.xlsx [--user NAME]
civicgrid people export FILE.xlsx [--area CODE] [--user NAME]
civicgrid people template FILE.xlsx"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.audit import context
from civicgrid.people.importing import people_export_excel, people_import_excel, write_template
from civicgrid.people.progress import ProgressBar
from civicgrid.people.selectors import PersonFilters


class Command(BaseCommand):
    help = "Import or export residents as Excel (.xlsx)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="validate every row, then import in one transaction")
        imp.add_argument("file")
        imp.add_argument("--user", help="import as this user (their scope applies); default: operator, no scope")
        exp = sub.add_parser("export", help="export residents, masked")
        exp.add_argument("file")
        exp.add_argument("--area", default="", help="territory code to export (default: all)")
        exp.add_argument("--user", help="export as this user (their scope applies)")
        tpl = sub.add_parser("template", help="write the documented import template")
        tpl.add_argument("file")

    def _actor(self, username: str | None) -> Any:
        if not username:
            return None
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"no user {username!r}") from exc

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "template":
            write_template(options["file"])
            self.stdout.write(f"template written to {options['file']}")
            return
        actor = self._actor(options.get("user"))
        with context.bind(user=actor):
            if action == "import":
                bar = ProgressBar(sys.stderr, "validate")
                result = people_import_excel(actor=actor, file=options["file"], progress=bar.phase)
                bar.finish()
                if not result.ok:
                    for error in result.errors:
                        self.stderr.write(f"第{error.row}行 [{error.column}] {error.message}")
                    if result.error_count > len(result.errors):
                        self.stderr.write(f"... {result.error_count - len(result.errors)} more")
                    raise CommandError(f"{result.error_count} errors; nothing was imported")
                self.stdout.write(
                    f"{result.total_rows} rows: {result.created} created, {result.updated} updated, "
                    f"{result.unchanged} unchanged"
                )
            else:
                bar = ProgressBar(sys.stderr, "export")
                count = people_export_excel(
                    actor=actor,
                    out=options["file"],
                    filters=PersonFilters(area=options["area"]),
                    progress=lambda n: bar.update(n, n),
                )
                bar.finish()
                self.stdout.write(f"{count} residents exported (masked) to {options['file']}")
