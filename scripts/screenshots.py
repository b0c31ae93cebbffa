"""Screenshots of a dcplan report and of a docs page, for reviewing what an analyst sees.

    python scripts/screenshots.py --out screenshots [--study inference_fleet]

Solves the study (shipped name or YAML path), writes its report, builds the docs site
(gallery not executed) and has headless Chromium capture:

* ``report_top.png``: the summary cards, audit, binding constraints and tables;
* ``report_full.png``: the whole report page, including the per-site sections, the
  assumptions and every figure;
* ``docs_formulation.png``: the formulation page with its maths rendered offline;
* ``docs_gallery.png``: the gallery index.

The files are written to ``--out`` and are not part of the repository.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def chromium() -> str:
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(candidate)
        if path:
            return path
    raise SystemExit("no Chromium found (apt-get install chromium)")


def shoot(browser: str, url: str, out: Path, height: int) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
                        f"--screenshot={out}", f"--window-size=1280,{height}", url],
                       check=True, capture_output=True, timeout=180)
    print(f"wrote {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--study", default="inference_fleet")
    args = parser.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    import dcplan

    browser = chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dcplan-shots-"))
    plan = dcplan.run_study(dcplan.load_study(args.study), out=work / "run")
    print(f"solved {plan!r}")
    index = work / "run" / "report" / "index.html"
    shoot(browser, index.as_uri(), args.out / "report_top.png", 1400)
    shoot(browser, index.as_uri(), args.out / "report_full.png", 9000)
    site = work / "site"
    env = dict(os.environ, DCPLAN_GALLERY="skip", NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    shoot(browser, (site / "formulation" / "index.html").as_uri(), args.out / "docs_formulation.png", 2400)
    shoot(browser, (site / "gallery" / "index.html").as_uri(), args.out / "docs_gallery.png", 900)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
