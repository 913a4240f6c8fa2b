#!/usr/bin/env python3
"""Splits the rendered local-podman overlay for deploy/kube-up.sh: each Secret to <state>/secrets/<name>.json with its
values decoded (podman 4.3 mounts a podman secret's values as they are written), the claims' names to <state>/volumes,
and the rest into the stages that kube-up.sh plays in order, each stage with every ConfigMap (podman resolves a pod's
ConfigMaps from its own file)."""
import base64
import json
import os
import sys

import yaml

rendered, state = sys.argv[1], sys.argv[2]
documents = [d for d in yaml.safe_load_all(open(rendered, encoding="utf-8")) if d]
os.makedirs(os.path.join(state, "secrets"), exist_ok=True)
for old in os.listdir(os.path.join(state, "secrets")):
    os.remove(os.path.join(state, "secrets", old))

config_maps = [d for d in documents if d["kind"] == "ConfigMap"]
stages = {"1-nodes": [], "2-provisioning": [], "3-migrations": [], "4-hub": []}
volumes = []
for document in documents:
    kind, name = document["kind"], document["metadata"]["name"]
    tier = document["metadata"].get("labels", {}).get("hub.familjecentralhub.se/tier")
    if kind == "Secret":
        values = {key: base64.b64decode(value).decode("utf-8") for key, value in document.get("data", {}).items()}
        values.update(document.get("stringData", {}))
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": values}
        path = os.path.join(state, "secrets", name + ".json")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            json.dump(secret, out)
    elif kind == "ConfigMap":
        continue
    elif kind == "PersistentVolumeClaim":
        # Made by kube-up.sh with `podman volume create` when missing: podman refuses to play a claim whose volume
        # exists, and a hub played again keeps its data.
        volumes.append(name)
    elif name in ("postgres", "rabbitmq"):
        stages["1-nodes"].append(document)
    elif tier == "provisioning":
        stages["2-provisioning"].append(document)
    elif tier == "migrate":
        stages["3-migrations"].append(document)
    elif kind in ("Deployment", "Pod"):
        stages["4-hub"].append(document)
    else:
        sys.exit(f"kube-split.py: {kind} {name} is not something podman kube play runs")

# podman keeps a volume with the content of each Secret and ConfigMap a pod mounts; kube-down.sh removes them, so a
# changed key or file is never served from an old copy.
with open(os.path.join(state, "copies"), "w", encoding="utf-8") as out:
    out.write("".join(d["metadata"]["name"] + "\n" for d in documents if d["kind"] in ("Secret", "ConfigMap")))
with open(os.path.join(state, "volumes"), "w", encoding="utf-8") as out:
    out.write("".join(volume + "\n" for volume in volumes))
for stage, members in stages.items():
    with open(os.path.join(state, stage + ".yaml"), "w", encoding="utf-8") as out:
        yaml.safe_dump_all(config_maps + members, out, sort_keys=False)
