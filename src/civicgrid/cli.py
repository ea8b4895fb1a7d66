"""The `civicgrid` command: Django's management commands under the project's settings.

civicgrid demo [--residents N] [--no-serve]
civicgrid serve [--host H] [--port N]
civicgrid territory import FILE.geojson | export FILE.geojson
civicgrid createadmin
civicgrid keys rotate
civicgrid audit verify
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["civicgrid", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
