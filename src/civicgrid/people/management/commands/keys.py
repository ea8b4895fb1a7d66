"""civicgrid keys generate [--bytes 16|32] | rotate [--batch N]"""

from __future__ import annotations

import base64
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civicgrid.common import crypto
from civicgrid.people.progress import ProgressBar
from civicgrid.people.rotation import rotate_keys


class Command(BaseCommand):
    help = "Field-encryption keys: generate a new key, or re-encrypt every value under the active key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        gen = sub.add_parser("generate", help="print a new random base64 key")
        gen.add_argument(
            "--bytes", type=int, default=16, choices=(16, 32), help="16 for SM4/AES-128 (default), 32 for AES-256"
        )
        rot = sub.add_parser("rotate", help="re-encrypt values not under the active key/cipher")
        rot.add_argument("--batch", type=int, default=1000)
        rot.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "generate":
            key = base64.b64encode(os.urandom(options["bytes"])).decode()
            self.stdout.write(key)
            self.stderr.write(
                "Add it as a new entry of CIVICGRID_FIELD_KEYS (e.g. 'k0:<old>,k1:" + key + "'), set "
                "CIVICGRID_FIELD_ACTIVE_KEY=k1, restart, then run `civicgrid keys rotate`."
            )
            return
        if options["batch"] < 1:
            raise CommandError("--batch must be positive")
        ring = crypto.key_ring()
        bar = None if options["quiet"] else ProgressBar(sys.stderr, f"rotate -> {ring.active_key_id}")
        result = rotate_keys(batch_size=options["batch"], progress=bar.update if bar else None)
        if bar:
            bar.finish()
        self.stdout.write(
            f"scanned {result.scanned} rows, re-encrypted {result.rotated_values} values in "
            f"{result.rotated_rows} rows under {ring.cipher}/{ring.active_key_id}"
        )
