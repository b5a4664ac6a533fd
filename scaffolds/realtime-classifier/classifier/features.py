"""The model's inputs: which columns, in which order, read from CSV or a request.

Training and serving both go through this module, so a request is turned into
exactly the feature vector the model was trained on.
"""

import csv
import math

LABEL = "cultivar"
FEATURES = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280_od315_of_diluted_wines",
    "proline",
]


def read_csv(path):
    """Reads a labelled CSV: returns (rows of features, labels)."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in FEATURES + [LABEL] if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        rows, labels = [], []
        for record in reader:
            rows.append(vector(record))
            labels.append(record[LABEL])
    return rows, labels


def vector(record):
    """One record (a mapping of column name to number or text) as the model's input.

    Raises ValueError naming the column when a feature is missing or not a finite number.
    """
    values = []
    for name in FEATURES:
        if name not in record or record[name] in (None, ""):
            raise ValueError(f"feature `{name}` is missing")
        try:
            value = float(record[name])
        except (TypeError, ValueError):
            raise ValueError(f"feature `{name}` is not a number: {record[name]!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"feature `{name}` is not finite: {value}")
        values.append(value)
    return values
