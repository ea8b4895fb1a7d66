"""Regenerate the CJK font the PDF reports embed: src/civicgrid/reports/fonts/CivicGridSansSC-Regular.ttf.

Source: Noto Sans CJK SC Regular (SIL OFL 1.1, © 2014-2021 Adobe) from Debian's fonts-noto-cjk
(/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc, face index 2 = SC). Steps:

1. subset to ASCII, Latin-1 punctuation, general and CJK punctuation, fullwidth forms and the
   whole of GB 2312 (6763 hanzi + symbols) - every character a report prints (names of places,
   categories and departments are GB 2312 in practice; a character outside the subset prints as
   a blank box, the figures never);
2. convert the CFF (cubic) outlines to TrueType (quadratic ``glyf``) with fontTools' cu2qu: PDF
   libraries embed TrueType as ``FontFile2`` and subset it per document (fpdf2 does both);
3. rename the family (a Modified Version under the OFL) to "CivicGrid Sans SC" and keep the
   copyright and licence records; the OFL text ships beside the file (OFL.txt).

Run: ``.venv/bin/python tools/make_cjk_font.py [--source PATH]`` (needs fonttools, a dependency of
fpdf2). The output is deterministic for a given source file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2
OUT_DIR = ROOT / "src" / "civicgrid" / "reports" / "fonts"
OUT = OUT_DIR / "CivicGridSansSC-Regular.ttf"
FAMILY = "CivicGrid Sans SC"
MAX_ERR = 1.0  # font units: the cubic-to-quadratic tolerance (1/1000 em)


def gb2312_characters() -> set[int]:
    chars: set[int] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return chars


def wanted_characters() -> set[int]:
    chars = gb2312_characters()
    chars |= set(range(0x20, 0x7F))  # ASCII
    chars |= set(range(0xA0, 0x100))  # Latin-1 (°, ±, ×, ·, ...)
    chars |= set(range(0x2010, 0x2070))  # general punctuation (— … ‰ ‹ ›)
    chars |= set(range(0x2190, 0x21A0)) | set(range(0x2460, 0x2474))  # arrows, ①-⑳
    chars |= set(range(0x3000, 0x3040))  # CJK symbols and punctuation
    chars |= set(range(0xFF01, 0xFF5F)) | set(range(0xFFE0, 0xFFE7))  # fullwidth forms
    return chars


def cff_to_glyf(font: TTFont) -> None:
    """Replace the CFF table by quadratic TrueType outlines (fontTools' otf2ttf recipe)."""
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERR, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["head"].glyphDataFormat = 0
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    maxp.maxComponentDepth = 0
    post = font["post"]
    post.formatType = 3.0  # no glyph names (smaller; PDF text extraction uses ToUnicode)
    post.extraNames = []
    post.mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"
    font.recalcBBoxes = True


def rename(font: TTFont) -> None:
    name = font["name"]
    keep = {0, 7, 8, 9, 10, 11, 12, 13, 14}
    name.names = [r for r in name.names if r.nameID in keep]
    for name_id, value in (
        (1, FAMILY),
        (2, "Regular"),
        (3, f"{FAMILY} Regular; subset of Noto Sans CJK SC 2.004 for CivicGrid reports"),
        (4, f"{FAMILY} Regular"),
        (5, "Version 2.004; CivicGrid subset"),
        (6, "CivicGridSansSC-Regular"),
    ):
        name.setName(value, name_id, 3, 1, 0x409)
        name.setName(value, name_id, 1, 0, 0)


def build(source: Path) -> Path:
    font = TTCollection(str(source), lazy=False).fonts[SC_INDEX]
    options = subset.Options()
    options.layout_features = ["kern", "vert"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    options.drop_tables += ["BASE", "vhea", "vmtx", "VORG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted_characters()))
    subsetter.subset(font)
    cff_to_glyf(font)
    rename(font)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    font.save(str(OUT))
    return OUT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    if not args.source.exists():
        print(f"missing {args.source}: apt-get install fonts-noto-cjk", file=sys.stderr)
        return 1
    out = build(args.source)
    check = TTFont(str(out))
    print(f"{out.relative_to(ROOT)}: {out.stat().st_size / 1e6:.2f} MB, {len(check.getGlyphOrder())} glyphs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
