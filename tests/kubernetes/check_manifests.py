#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The Kubernetes manifests (dist/kubernetes, docs/kubernetes.md) are well-formed YAML and say
# what the doc says: hrctl is the entrypoint, the bank is on a memory-backed emptyDir big enough
# for it, the memory limit holds the bank, the probes read `hrctl status --json`, a give-up
# exits, and the embedded configuration is one hrctl accepts. No cluster runs them here.
# Usage: check_manifests.py DIR HRCTL        the check
#        check_manifests.py --self-test DIR HRCTL   planted faults must each be caught
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SIZES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}


def size(text):
    m = re.fullmatch(r"(\d+)([KMG]i?)?", str(text).strip())
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(m.group(1)) * SIZES[m.group(2) or ""]


def check(directory, hrctl):
    problems = []
    docs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        with open(path) as f:
            try:
                docs += [(path, d) for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                problems.append(f"{path}: not YAML: {e}")
    kinds = {d.get("kind"): d for _, d in docs}
    for want in ("Deployment", "ConfigMap"):
        if want not in kinds:
            problems.append(f"no {want}")
    if problems:
        return problems
    cm, dep = kinds["ConfigMap"], kinds["Deployment"]
    conf = cm["data"]["web.conf"]
    keys = dict(
        (k.strip(), v.strip())
        for k, v in (l.split("=", 1) for l in conf.splitlines() if "=" in l and not l.lstrip().startswith("#"))
    )
    if keys.get("on-give-up") != "exit":
        problems.append("the configuration does not exit on a give-up (on-give-up = exit)")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    entry = " ".join(c.get("command", []) + c.get("args", []))
    if "hrctl serve" not in entry:
        problems.append(f"hrctl serve is not the entrypoint: {entry}")
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    bank = keys.get("bank", "")
    bank_vol = next((n for n, p in mounts.items() if bank.startswith(p.rstrip("/") + "/")), None)
    if bank_vol is None:
        problems.append(f"the bank {bank} is on no mounted volume")
    else:
        ed = vols[bank_vol].get("emptyDir")
        if not ed or ed.get("medium") != "Memory":
            problems.append("the bank's volume is not an emptyDir with medium: Memory")
        elif size(ed.get("sizeLimit", "0")) < size(keys.get("bank-size", "64M")):
            problems.append("the emptyDir's sizeLimit is below the bank size")
    limit = c["resources"]["limits"]["memory"]
    if size(limit) < size(keys.get("bank-size", "64M")) + (32 << 20):
        problems.append(f"memory limit {limit} does not hold the bank and the members")
    for probe in ("livenessProbe", "readinessProbe"):
        cmd = " ".join(c.get(probe, {}).get("exec", {}).get("command", []))
        if "hrctl status" not in cmd or "--json" not in cmd or bank not in cmd:
            problems.append(f"{probe} does not read hrctl status --json of the bank")
    stop = int(keys.get("stop-timeout", "5000"))
    if pod.get("terminationGracePeriodSeconds", 30) * 1000 <= stop:
        problems.append("terminationGracePeriodSeconds is not above the stop timeout")
    # The configuration as hrctl reads it (the bank path moved to a scratch place): a usage
    # error (2) means hrctl refuses the file; 4 is "no bank there", as expected.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "web.conf")
        with open(path, "w") as f:
            f.write(conf.replace(bank, os.path.join(tmp, "web.bank")))
        r = subprocess.run([hrctl, "status", "--config", path], capture_output=True, text=True)
        if r.returncode != 4:
            problems.append(f"hrctl status --config: exit {r.returncode}: {r.stderr.strip()}")
    return problems


def self_test(directory, hrctl):
    faults = {
        "not YAML": ("hrctl-deployment.yaml", "      containers:", "      containers:\n  - : ["),
        "disk emptyDir": ("hrctl-deployment.yaml", "medium: Memory", "medium: \"\""),
        "small sizeLimit": ("hrctl-deployment.yaml", "sizeLimit: 80Mi", "sizeLimit: 8Mi"),
        "small memory limit": ("hrctl-deployment.yaml", "memory: 256Mi\n          # Liveness", "memory: 64Mi\n          # Liveness"),
        "probe without --json": ("hrctl-deployment.yaml", "hrctl status --bank /bank/web.bank --json | grep", "hrctl status --bank /bank/web.bank | grep"),
        "hold on give-up": ("hrctl-configmap.yaml", "on-give-up = exit", "on-give-up = hold"),
        "bad config key": ("hrctl-configmap.yaml", "max-badness = 25", "max-badnes = 25"),
    }
    missed = []
    for name, (file, old, new) in faults.items():
        with tempfile.TemporaryDirectory() as tmp:
            for p in glob.glob(os.path.join(directory, "*.yaml")):
                shutil.copy(p, tmp)
            target = os.path.join(tmp, file)
            text = open(target).read()
            if old not in text:
                missed.append(f"{name}: the text to plant the fault in is gone")
                continue
            open(target, "w").write(text.replace(old, new, 1))
            try:
                found = check(tmp, hrctl)
            except Exception as e:  # a fault that breaks the checker counts as caught
                found = [repr(e)]
            print(f"planted {name}: {'caught: ' + found[0] if found else 'NOT CAUGHT'}")
            if not found:
                missed.append(name)
    return missed


if __name__ == "__main__":
    if sys.argv[1] == "--self-test":
        missed = self_test(sys.argv[2], sys.argv[3])
        if missed:
            print("faults not caught: " + ", ".join(missed))
            sys.exit(1)
        print("every planted fault caught")
        sys.exit(0)
    problems = check(sys.argv[1], sys.argv[2])
    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print("manifests consistent (YAML parsed; not run against a cluster)")
    sys.exit(1 if problems else 0)
