"""Validates custom resources (Argo CD Applications, Flux Kustomizations, ...)
against the openAPIV3Schema of their CustomResourceDefinitions, offline.

usage: validate_crds.py CRD_DIR FILE...

Every document in FILE whose apiVersion/kind one of the CRDs in CRD_DIR defines
is validated; unknown fields are refused (like `kubectl apply
--validate=strict`). Documents of other kinds are ignored. Exit 1 on any error.
"""

import sys
from pathlib import Path

import jsonschema
import yaml


def strict(schema):
    """The schema with unknown properties refused where Kubernetes refuses them."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def load_crds(crd_dir):
    schemas = {}
    for path in sorted(Path(crd_dir).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                # metadata is validated by the API server, not the CRD.
                schema.setdefault("properties", {})["metadata"] = {"type": "object"}
                schemas[(f"{group}/{version['name']}", kind)] = (schema, path.name)
    return schemas


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    schemas = load_crds(argv[1])
    failures = 0
    checked = 0
    for name in argv[2:]:
        for index, document in enumerate(yaml.safe_load_all(Path(name).read_text())):
            if not isinstance(document, dict):
                continue
            key = (document.get("apiVersion"), document.get("kind"))
            if key not in schemas:
                continue
            schema, crd_file = schemas[key]
            checked += 1
            validator = jsonschema.Draft7Validator(schema)
            for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
                where = ".".join(str(part) for part in error.absolute_path) or "(root)"
                print(f"{name}[{index}]: {key[1]} {where}: {error.message} (schema: {crd_file})")
                failures += 1
    print(f"{checked} custom resource(s) checked against {len(schemas)} CRD version(s), {failures} error(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
