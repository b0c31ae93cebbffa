"""Build hook: ship the top-level data/ and models/ folders inside the wheel.

The checkout keeps curated tables in data/ and ready-to-run studies in models/ (the
layout users read); an installed wheel finds them as dcplan/_data and dcplan/_models.
dcplan.catalog looks in the checkout first, then in the installed copy.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
SHIPPED = {"data": "_data", "models": "_models"}
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        for source, target in SHIPPED.items():
            src = ROOT / source
            if not src.is_dir():
                continue
            dest = Path(self.build_lib) / "dcplan" / target
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(src, dest, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithData})
