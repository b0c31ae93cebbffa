"""Rebuild data/sites/us_sites.csv and data/regions/* from public source files.

Usage: python scripts/build_sites.py [SOURCE_DIR] [OUT_DIR]
(defaults: ../shared/data beside the checkout, and the checkout's data/).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from dcplan.databuild.sitebuild import build_catalog  # noqa: E402

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "data"
    for path in build_catalog(source, out):
        print(f"wrote {path}")
