"""The PDF fonts: PT Sans Regular and Bold, vendored under static/vendor/fonts/ (Debian's
fonts-paratype, unmodified, with the licence) and embedded as subsets in every PDF.

fpdf2 reads the font file for each document and subsets it on output with fontTools. PT Sans
carries TrueType hinting and OpenType layout tables that a PDF viewer does not use and fpdf2
drops anyway, but only after reading them for every PDF; so each instance makes, once, a copy
without them, and documents embed that. The copy is made here rather than vendored: the font's
licence wants a modified copy renamed, and this one never leaves the machine.
"""
import functools
import hashlib
import os

from flask import current_app
from fontTools import subset
from fontTools.ttLib import TTFont

VENDORED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "static", "vendor", "fonts")
FILES = {"": "PTS55F.ttf", "B": "PTS75F.ttf"}  # style: PT Sans Regular, Bold
DROPPED = ["GPOS", "GSUB", "GDEF", "kern", "hdmx", "LTSH", "DSIG"]


def add(pdf, family):
    """Add the regular and bold fonts to an fpdf2 document under this family name."""
    for style, path in _embeddable(current_app.instance_path).items():
        pdf.add_font(family, style, path)
        # fontTools would decompile every glyph the PDF uses to recompute bounding boxes it
        # already has: about 12 ms a PDF. Nothing here changes an outline.
        pdf.fonts[f"{family.lower()}{style}"].ttfont.recalcBBoxes = False


@functools.cache
def _embeddable(instance_path):
    """{style: path} of the copies under instance/fonts/, made when missing."""
    folder = os.path.join(instance_path, "fonts")
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for style, name in FILES.items():
        source = os.path.join(VENDORED, name)
        with open(source, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()[:16]
        # Named by content: a new vendored font gets a new copy, never a stale one.
        paths[style] = os.path.join(folder, f"{digest}-{name}")
        if not os.path.exists(paths[style]):
            _strip(source, paths[style])
    return paths


def _strip(source, target):
    """Write source's glyphs, metrics and names to target, without hinting and layout tables."""
    options = subset.Options(hinting=False, layout_features=[], name_IDs=["*"], name_languages=["*"],
                             notdef_outline=True, recommended_glyphs=True)
    options.drop_tables += DROPPED
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=font.getBestCmap().keys())
    subsetter.subset(font)
    # Written aside and renamed: another process may be reading the same path.
    partial = f"{target}.{os.getpid()}"
    font.save(partial)
    os.replace(partial, target)
