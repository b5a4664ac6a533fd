"""The model's inputs: the 30 measurements, in the order the model was trained on.

Training and the scoring job both read rows through this module, so a window
is scored on exactly the features the model learned.
"""

import csv
import math

LABEL = "diagnosis"
POSITIVE = "malignant"
FEATURES = [
    f"{kind}_{measure}"
    for kind in ("mean",)
    for measure in (
        "radius", "texture", "perimeter", "area", "smoothness",
        "compactness", "concavity", "concave_points", "symmetry", "fractal_dimension",
    )
] + [
    f"{measure}_error"
    for measure in (
        "radius", "texture", "perimeter", "area", "smoothness",
        "compactness", "concavity", "concave_points", "symmetry", "fractal_dimension",
    )
] + [
    f"worst_{measure}"
    for measure in (
        "radius", "texture", "perimeter", "area", "smoothness",
        "compactness", "concavity", "concave_points", "symmetry", "fractal_dimension",
    )
]


def read_rows(path, labelled):
    """Reads a CSV: (feature rows, labels or None). Errors name the file, line and column."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        wanted = FEATURES + ([LABEL] if labelled else [])
        missing = [name for name in wanted if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        rows, labels = [], []
        for record in reader:
            try:
                rows.append(vector(record))
            except ValueError as error:
                raise ValueError(f"{path}:{reader.line_num}: {error}") from None
            if labelled:
                labels.append(record[LABEL])
    return rows, (labels if labelled else None)


def vector(record):
    """One record as the model's input; ValueError names a missing or non-finite feature."""
    values = []
    for name in FEATURES:
        raw = record.get(name)
        if raw in (None, ""):
            raise ValueError(f"feature `{name}` is missing")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"feature `{name}` is not a number: {raw!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"feature `{name}` is not finite: {value}")
        values.append(value)
    return values
