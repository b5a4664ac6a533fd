"""Loads Azure ML CLI v2 YAML with azure-ai-ml's own loaders, offline: the
same schema validation `az ml job create` and `az ml online-deployment create`
run before they talk to Azure.

usage: validate_azureml.py [--set KEY=VALUE]... FILE...

`*job.yml` is loaded with load_job, `*online-endpoint.yml` with
load_online_endpoint, `*online-deployment.yml` with load_online_deployment.
`--set` overrides a value as `az ml ... --set` does (the same
params_override), e.g. `--set model.path=URI` for the release's model; an
online deployment's model path is printed. Exit 1 if any file is refused, 2 if
a file is of no known kind.
"""

import sys

from azure.ai.ml import load_job, load_online_deployment, load_online_endpoint

LOADERS = (
    ("online-deployment.yml", load_online_deployment),
    ("online-endpoint.yml", load_online_endpoint),
    ("job.yml", load_job),
)


def main(argv):
    overrides = []
    paths = []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--set":
            key, _, value = next(arguments, "").partition("=")
            overrides.append({key: value})
        else:
            paths.append(argument)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    failures = 0
    for path in paths:
        loader = next((load for suffix, load in LOADERS if path.endswith(suffix)), None)
        if loader is None:
            print(f"{path}: not a job, online endpoint or online deployment file", file=sys.stderr)
            return 2
        try:
            loaded = loader(source=path, params_override=overrides)
        except Exception as error:  # the loaders raise several exception types
            print(f"{path}: refused by {loader.__name__}: {error}")
            failures += 1
        else:
            model = getattr(loaded, "model", None) if loader is load_online_deployment else None
            shown = ""
            if model is not None:
                shown = f" (model {getattr(model, 'name', model)}"
                shown += f" version {getattr(model, 'version', None)}, path {getattr(model, 'path', None)})"
            print(f"{path}: {type(loaded).__name__}{shown}")
    print(f"{len(paths)} Azure ML file(s) loaded, {failures} refused")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
