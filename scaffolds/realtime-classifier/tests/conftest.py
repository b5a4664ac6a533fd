import os

import pytest

from classifier.train import train

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "wine.csv")


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A model trained once on the bundled data: (output folder, metrics)."""
    out = tmp_path_factory.mktemp("out")
    metrics = train(DATA, str(out), log=lambda line: None)
    return out, metrics
