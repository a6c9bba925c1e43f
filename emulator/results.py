"""Writing results to disk atomically: nothing partial ever appears under the final names."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from emulator.units import ps_to_ns

METRIC_COLUMNS = ("time_ns", "phase", "step", "metric", "value")


class OutputError(Exception):
    """The output location cannot be used."""


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from numpy scalars/arrays, dicts, lists; non-finite floats become None."""
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def dumps_json(data: Any) -> str:
    """Deterministic JSON text (sorted keys, fixed float repr)."""
    return json.dumps(to_jsonable(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def metrics_csv(rows: Iterable[tuple[int, str, int, str, float]]) -> str:
    """metrics.csv text from recorder rows (time_ps, phase, step, metric, value)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(METRIC_COLUMNS)
    for time_ps, phase, step, metric, value in rows:
        writer.writerow([f"{ps_to_ns(time_ps):.3f}", phase, step, metric, repr(float(value))])
    return buffer.getvalue()


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of a list of flat dicts (columns in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: to_jsonable(value) for key, value in row.items()})
    return buffer.getvalue()


def check_output_dir(out_dir: str | Path) -> Path:
    """Fail early (before any work) if results could not be written under out_dir."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output path {out} exists and is not a directory")
    parent = out if out.exists() else _existing_ancestor(out)
    if not parent.is_dir():
        raise OutputError(f"cannot create output directory {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output directory {parent} is not writable")
    return out


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


RESULT_FILES = ("summary.json", "metrics.csv", "trace.vcd", "trace.json", "report.md", "budget.json", "curve.csv",
                "sweep.json", "sweep.csv", "results.csv")
"""Names a results folder of aimc holds (besides figures, *.png and *.svg)."""


def _is_result_file(name: str) -> bool:
    return name in RESULT_FILES or name.endswith((".png", ".svg"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(path: Path, content: str | bytes, mode: int) -> None:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    path.chmod(mode)


def write_files_atomically(out_dir: str | Path, files: Mapping[str, str | bytes], replace: bool = True) -> Path:
    """Write every file under out_dir so that each appears complete or not at all, with the
    user's umask (0644 by default).

    replace=True (a run, a budget): the folder is assembled under a temporary name and put in
    place as a whole, replacing a previous result folder (no stale file of an earlier run stays
    beside the new ones); a folder holding anything but results is refused. replace=False (a
    report added to a results folder): each file is written to a temporary name and renamed in.
    """
    out = check_output_dir(out_dir)
    file_mode, folder_mode = 0o666 & ~_umask(), 0o777 & ~_umask()
    try:
        if out.exists() and not replace:
            for name, content in files.items():
                handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=out)
                os.close(handle)
                try:
                    _write(Path(temporary), content, file_mode)
                    os.replace(temporary, out / name)
                except BaseException:
                    Path(temporary).unlink(missing_ok=True)
                    raise
            return out
        if out.exists():
            foreign = sorted(entry.name for entry in out.iterdir() if not _is_result_file(entry.name))
            if foreign:
                raise OutputError(f"{out} exists and holds other files ({', '.join(foreign[:5])}): "
                                  "give a new or empty folder (results replace a folder as a whole)")
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            staging.chmod(folder_mode)
            for name, content in files.items():
                _write(staging / name, content, file_mode)
            _swap_in(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    except OSError as error:
        raise OutputError(f"cannot write results to {out}: {error}") from None
    return out


def _swap_in(staging: Path, out: Path) -> None:
    """Put the complete staging folder where `out` is, the previous `out` (if any) removed."""
    if not out.exists():
        os.replace(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    retired.rmdir()
    os.replace(out, retired)
    try:
        os.replace(staging, out)
    except BaseException:
        os.replace(retired, out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
