"""Find and read what dcplan ships: curated tables in ``data/`` and studies in ``models/``.

In a checkout the folders sit beside the package; in an installed wheel the build copies
them into the package as ``dcplan/_data`` and ``dcplan/_models`` (see ``setup.py``).
The checkout wins when both exist, so edits to ``data/`` take effect without reinstalling.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from dcplan.errors import DataError, Problem

_PACKAGE = Path(__file__).resolve().parent


def _root(checkout_name: str, installed_name: str) -> Path:
    checkout = _PACKAGE.parent / checkout_name
    if checkout.is_dir() and (_PACKAGE.parent / "pyproject.toml").is_file():
        return checkout
    installed = _PACKAGE / installed_name
    if installed.is_dir():
        return installed
    msg = (
        f"dcplan cannot find its shipped {checkout_name}/ folder (looked in {checkout} and "
        f"{installed}); reinstall dcplan or run from a complete checkout"
    )
    raise DataError([Problem(str(installed), msg)])


def data_dir() -> Path:
    """Folder of the shipped curated tables."""
    return _root("data", "_data")


def models_dir() -> Path:
    """Folder of the shipped, ready-to-run studies."""
    return _root("models", "_models")


def data_path(relative: str) -> Path:
    """Path of a shipped table, e.g. ``data_path("chips.csv")``; raises DataError if missing."""
    path = data_dir() / relative
    if not path.exists():
        msg = f"shipped table {relative!r} is missing"
        raise DataError([Problem(str(path), msg, "reinstall dcplan or restore data/ from git")])
    return path


def list_models() -> list[Path]:
    """The shipped study files, sorted by name."""
    return sorted(models_dir().glob("*.yaml"))


def find_study(name_or_path: str | Path) -> Path:
    """Resolve a study given as a path, or as the name of a shipped study in ``models/``."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for candidate in (models_dir() / path.name, models_dir() / f"{path.name}.yaml"):
        if candidate.is_file():
            return candidate
    names = ", ".join(p.stem for p in list_models()) or "none"
    msg = f"no study file {str(name_or_path)!r}"
    fix = f"give a path to a YAML study, or one of the shipped studies: {names}"
    raise DataError([Problem(str(name_or_path), msg, fix)])


_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _to_bool(series: pd.Series, table: str) -> pd.Series:
    if series.dtype == bool:
        return series
    mapped = series.astype(str).str.strip().str.lower().map(_BOOL)
    if mapped.isna().any():
        bad = series[mapped.isna()].tolist()
        msg = f"column {series.name!r} must hold true/false, found {bad}"
        raise DataError([Problem(table, msg)])
    return mapped.astype(bool)


@functools.cache
def _read_indexed(relative: str, index: str, bool_columns: tuple[str, ...]) -> pd.DataFrame:
    path = data_path(relative)
    table = pd.read_csv(path, comment="#", skipinitialspace=True)
    if index not in table.columns:
        raise DataError([Problem(str(path), f"missing the index column {index!r}")])
    if table[index].duplicated().any():
        dupes = table.loc[table[index].duplicated(), index].tolist()
        raise DataError([Problem(str(path), f"duplicate {index} values {dupes}")])
    for column in bool_columns:
        if column in table.columns:
            table[column] = _to_bool(table[column], str(path))
    return table.set_index(index)


def read_chips() -> pd.DataFrame:
    """The chip catalog (``data/chips.csv``), indexed by ``chip_id``. Returns a copy."""
    bools = ("air_coolable", "scenario", "power_smoothing")
    return _read_indexed("chips.csv", "chip_id", bools).copy()


def read_cooling() -> pd.DataFrame:
    """The cooling technology table (``data/cooling.csv``), indexed by ``cooling``."""
    bools = ("air_cooled_it", "liquid", "evaporative", "economiser")
    return _read_indexed("cooling.csv", "cooling", bools).copy()
