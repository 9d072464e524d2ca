"""Per-model similarity thresholds, kept as data (``analysis/models.yaml``), not as constants.

    >>> calibration = ModelCalibration.for_model("bundled:multilingual-e5-small")
    >>> calibration.provisional_threshold, calibration.multilingual
    (0.89, True)

A model without an entry gets the file's ``default`` entry and
``calibrated`` is False, which ``lnob doctor`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CALIBRATION = Path(__file__).with_name("models.yaml")
FIELDS = (
    "provisional_threshold",
    "join_threshold",
    "merge_threshold",
    "driver_temperature",
    "term_match_threshold",
)


class CalibrationError(ValueError):
    """The calibration file is missing, not YAML, or lacks a threshold (the message names it)."""


@dataclass(frozen=True)
class ModelCalibration:
    """The thresholds calibrated for one embedding model (see ``analysis/models.yaml`` for each one's meaning)."""

    model: str
    languages: tuple[str, ...] | None  # None: any language
    provisional_threshold: float
    join_threshold: float
    merge_threshold: float
    driver_temperature: float
    term_match_threshold: float
    calibrated: bool = True

    @property
    def multilingual(self) -> bool:
        """Whether the model places texts of any language in one space."""
        return self.languages is None

    def understands(self, language: str | None) -> bool:
        """Whether the model was trained on ``language`` (any, for a multilingual model)."""
        return self.languages is None or (language or "") in self.languages

    @classmethod
    def for_model(cls, model: str, path: str | Path | None = None) -> "ModelCalibration":
        """The calibration of ``model`` from ``path`` (default: the bundled ``analysis/models.yaml``)."""
        data = _load(str(Path(path) if path else DEFAULT_CALIBRATION))
        entry = data.get("models", {}).get(model)
        source = str(path or DEFAULT_CALIBRATION)
        if entry is None:
            return _calibration(model, _entry(data.get("default"), source, "default"), source, calibrated=False)
        return _calibration(model, _entry(entry, source, f"models.{model}"), source, calibrated=True)


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read the model calibration: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CalibrationError(f"{path}: expected a mapping with 'models' and 'default'")
    return data


def _entry(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CalibrationError(f"{source}: {where} must be a mapping of thresholds")
    return value


def _calibration(model: str, entry: dict[str, Any], source: str, *, calibrated: bool) -> ModelCalibration:
    values = {}
    for name in FIELDS:
        value = entry.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise CalibrationError(f"{source}: {name} is missing or not a number for {model!r}")
        values[name] = float(value)
    languages = entry.get("languages", "any")
    return ModelCalibration(
        model=model,
        languages=None if languages == "any" else tuple(str(code) for code in languages),
        calibrated=calibrated,
        **values,
    )
