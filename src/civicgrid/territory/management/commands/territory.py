"""civicgrid territory import FILE.geojson [--dry-run] [--actor USERNAME]
civicgrid territory export FILE.geojson [--level grid|community|street|district] [--under CODE] [--roads]"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.territory.enums import AreaLevel
from civicgrid.territory.selectors import COMMAND_LINE_USER
from civicgrid.territory.services import territory_export_geojson, territory_import_geojson


class Command(BaseCommand):
    help = "Import or export the territory (districts, streets, communities, grids, roads) as GeoJSON."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        imp = sub.add_parser("import", help="validate, then upsert by code (nothing is written if anything is wrong)")
        imp.add_argument("file", help="GeoJSON FeatureCollection (WGS 84); '-' reads stdin")
        imp.add_argument("--dry-run", action="store_true", help="validate and report only")
        imp.add_argument("--actor", help="username recorded in the audit trail")
        exp = sub.add_parser("export", help="write a FeatureCollection in the import format")
        exp.add_argument("file", help="output file; '-' writes stdout")
        exp.add_argument("--level", choices=AreaLevel.values)
        exp.add_argument("--under", help="only this code and below")
        exp.add_argument("--roads", action="store_true", help="include road segments")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import":
            self._import(options)
        else:
            self._export(options)

    def _import(self, options: dict[str, Any]) -> None:
        path = options["file"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        actor: Any = COMMAND_LINE_USER
        if options.get("actor"):
            try:
                actor = get_user_model().objects.get(username=options["actor"])
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"no such user: {options['actor']}") from exc
        report = territory_import_geojson(data=text, actor=actor, dry_run=options["dry_run"])
        for problem in report.problems:
            self.stderr.write(str(problem))
        if report.problems:
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))

    def _export(self, options: dict[str, Any]) -> None:
        collection = territory_export_geojson(
            user=COMMAND_LINE_USER, level=options.get("level"), under=options.get("under"), roads=options["roads"]
        )
        text = json.dumps(collection, ensure_ascii=False, indent=1)
        if options["file"] == "-":
            self.stdout.write(text)
            return
        Path(options["file"]).write_text(text + "\n", encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"{len(collection['features'])} features -> {options['file']}"))
