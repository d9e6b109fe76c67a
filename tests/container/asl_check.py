#!/usr/bin/python3
"""Checks that the Step Functions definition passes `plantfit train` what it
accepts, by running the real binary on what the definition would send.

  asl_check.py ASL EXAMPLE_INPUT PLANTFIT DATASET_CSV WORKDIR

The Train state's HyperParameters are resolved against the example execution
input (a "key.$" value is a JSONPath into it), must all be strings (the
CreateTrainingJob API takes nothing else), and are written, with one channel
per InputDataConfig entry, into an /opt/ml-shaped folder on which PLANTFIT
trains: an unknown key, a bad value or a channel it does not read fails it.
Then the paths the later states read (output.tar.gz members, the model
artifact, metric regexes) are compared with what that run wrote.  Prints one
"ok   asl.NAME" / "FAIL asl.NAME" line per check and "asl: N passed, N failed".
"""
import json
import os
import re
import shutil
import subprocess
import sys

asl_path, input_path, plantfit, dataset, work = sys.argv[1:6]
asl = json.load(open(asl_path))
inp = json.load(open(input_path))
states = asl["States"]
passed = failed = 0


def check(name, ok, why=""):
    global passed, failed
    if ok:
        print("ok   asl." + name)
        passed += 1
    else:
        print("FAIL asl." + name + (": " + why if why else ""))
        failed += 1


def note(msg):
    print("    " + msg)


def resolve(path, doc):
    """A "$.a.b" path into doc (the only form the definition uses on its input)."""
    m = re.fullmatch(r"\$((?:\.[A-Za-z0-9_]+)+)", path)
    if not m:
        raise KeyError(path)
    for part in m.group(1)[1:].split("."):
        doc = doc[part]
    return doc


def task_states(resource_suffix):
    return [(n, s) for n, s in states.items()
            if s.get("Type") == "Task" and s.get("Resource", "").endswith(resource_suffix)]


# Paths written by the workflow itself (ResultPath targets) versus paths that
# must come from the execution input.
produced = {s["ResultPath"].split(".")[1] for s in states.values()
            if isinstance(s.get("ResultPath"), str) and s["ResultPath"].startswith("$.")}
for s in states.values():
    for c in s.get("Catch", []):
        if c.get("ResultPath", "").startswith("$."):
            produced.add(c["ResultPath"].split(".")[1])


def walk_paths(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "ResultSelector":  # paths into the task's result, not the state input
                continue
            if isinstance(v, str) and (k.endswith(".$") or k in ("Variable", "CausePath", "ErrorPath")):
                out.update(re.findall(r"(?<![$])\$\.[A-Za-z0-9_.]+", v))
            walk_paths(v, out)
    elif isinstance(node, list):
        for v in node:
            walk_paths(v, out)


# --- every input path the definition reads is in the example input
paths = set()
walk_paths(states, paths)
missing = []
for p in sorted(paths):
    top = p.split(".")[1]
    if top in produced:
        continue
    try:
        resolve(p, inp)
    except (KeyError, TypeError):
        missing.append(p)
check("input_paths_in_example", not missing,
      "paths read from the execution input but absent from %s: %s" % (input_path, missing))

# --- the training job
train = task_states(":sagemaker:createTrainingJob.sync")
check("one_sync_training_job", len(train) == 1, "%d createTrainingJob.sync states" % len(train))
tname, tstate = train[0]
P = tstate["Parameters"]

hp = {}
bad = []
for k, v in P["HyperParameters"].items():
    if k.endswith(".$"):
        k, v = k[:-2], resolve(v, inp)
    hp[k] = v
    if not isinstance(v, str):
        bad.append("%s=%r" % (k, v))
check("hyperparameters_are_strings", not bad, "not strings: %s" % ", ".join(bad))
check("hyperparameter_limits", len(hp) <= 100 and all(len(k) <= 256 and len(str(v)) <= 256
                                                       for k, v in hp.items()),
      "more than 100 keys or a key/value over 256 characters")

image = P["AlgorithmSpecification"].get("TrainingImage.$", "")
check("image_by_commit_tag", image == "States.Format('{}:{}', $.image_repository, $.commit_id)",
      "TrainingImage.$ is %r" % image)

channels = [c["ChannelName"] for c in P["InputDataConfig"]]
check("channels", channels[:2] == ["train", "validation"] and set(channels) <= {"train", "validation", "baseline"},
      "channels %s: expected train, validation (and baseline)" % channels)

# --- run plantfit on what the definition sends
base = os.path.join(work, "opt-ml")
shutil.rmtree(base, ignore_errors=True)
os.makedirs(base + "/input/config")
rows = open(dataset).read().splitlines(True)
n = len(rows) - 1
ntrain = n * 8 // 10
parts = {"train": rows[:1] + rows[1:ntrain + 1], "validation": rows[:1] + rows[ntrain + 1:]}
idc = {}
for c in P["InputDataConfig"]:
    name = c["ChannelName"]
    d = os.path.join(base, "input/data", name)
    os.makedirs(d)
    if name in parts:
        open(os.path.join(d, "plant.csv"), "w").writelines(parts[name])
    idc[name] = {"TrainingInputMode": P["AlgorithmSpecification"]["TrainingInputMode"],
                 "S3DistributionType": c["DataSource"]["S3DataSource"]["S3DataDistributionType"],
                 "RecordWrapperType": "None"}
    if "ContentType" in c:
        idc[name]["ContentType"] = c["ContentType"]
json.dump(hp, open(base + "/input/config/hyperparameters.json", "w"))
json.dump(idc, open(base + "/input/config/inputdataconfig.json", "w"))
json.dump({"current_host": "algo-1", "hosts": ["algo-1"]}, open(base + "/input/config/resourceconfig.json", "w"))


def train_run(base_dir):
    return subprocess.run([plantfit, "train", "--base-dir", base_dir], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "GIT_COMMIT": inp["commit_id"],
                               "TRAINING_JOB_NAME": inp["job_name"]})


if "baseline" in channels:
    # The champion: the same workflow's model from the same data, as a
    # previous execution would have left it.
    champ = os.path.join(work, "champion")
    shutil.rmtree(champ, ignore_errors=True)
    shutil.copytree(base, champ, ignore=shutil.ignore_patterns("baseline"))
    cfg = dict(idc)
    cfg.pop("baseline")
    json.dump(cfg, open(champ + "/input/config/inputdataconfig.json", "w"))
    r = train_run(champ)
    if r.returncode == 0:
        shutil.rmtree(base + "/input/data/baseline")
        shutil.copytree(champ + "/model", base + "/input/data/baseline")
    else:
        note("champion run failed: " + r.stderr.strip()[-300:])

r = train_run(base)
check("plantfit_train_accepts", r.returncode == 0,
      "plantfit train exit %d: %s" % (r.returncode, r.stderr.strip()[-600:]))
manifest = {}
if r.returncode == 0:
    manifest = json.load(open(base + "/model/manifest.json"))
    got = {k: manifest["hyperparameters"].get(k) for k in hp}
    check("hyperparameters_recorded", all(v is not None for v in got.values()),
          "missing in the manifest: %s" % [k for k, v in got.items() if v is None])
    warnings = " ".join(manifest.get("warnings", []))
    unused = re.findall(r'channel "([^"]+)" is not used', warnings)
    check("train_validation_read", "train" in manifest["data"] and "validation" in manifest["data"]
          and not {"train", "validation"} & set(unused), "train/validation not read: %s" % warnings)
    if "baseline" in unused:
        note("!!! channel baseline: this build of plantfit does not read it yet (the champion/challenger "
             "issue); NOT CHECKED beyond being accepted with a warning")
    elif "baseline" in channels:
        check("baseline_read", True)

    # Metric definitions match the lines the job prints.
    regs = P["AlgorithmSpecification"].get("MetricDefinitions", [])
    nomatch = [m["Name"] for m in regs if not re.search(m["Regex"], r.stdout, re.M)]
    check("metric_definitions_match_stdout", regs and not nomatch,
          "no stdout line matches %s" % nomatch)

# --- the output paths the later states read
rv = [s for n, s in states.items() if n == "ReadVerdict"]
check("read_verdict_state", len(rv) == 1)
if rv:
    pl = rv[0]["Parameters"]["Payload"]
    want = "States.Format('{}/{}/output/output.tar.gz', %s, %s)" % (
        P["OutputDataConfig"]["S3OutputPath.$"], P["TrainingJobName.$"])
    check("output_tar_path", pl["output_tar_s3_uri.$"] == want,
          "%s, expected SageMaker's <S3OutputPath>/<TrainingJobName>/output/output.tar.gz: %s"
          % (pl["output_tar_s3_uri.$"], want))
    if r.returncode == 0:
        for member in pl["members"]:
            f = os.path.join(base, "output/data", member)
            if os.path.exists(f):
                check("output_member_" + member, True)
            elif member == "metrics.json":
                check("output_member_" + member, False, "plantfit wrote no output/data/metrics.json")
            else:
                note("!!! output/data/%s: this build of plantfit does not write it yet (another "
                     "issue); NOT CHECKED" % member)
        vf = os.path.join(base, "output/data/verdict.json")
        if os.path.exists(vf):
            v = json.load(open(vf))
            check("verdict_pass_boolean", isinstance(v.get("pass"), bool), "verdict.json: %r" % v)

choice = states.get("ChallengerBeatsChampion", {})
check("choice_on_pass", any("$.outputs.verdict.pass" == c.get("Variable") for ch in choice.get("Choices", [])
                            for c in ch.get("And", [ch])), "no Choice on $.outputs.verdict.pass")

reg = task_states(":sagemaker:createModelPackage")
check("register_model_package", len(reg) == 1)
if reg:
    rp = reg[0][1]["Parameters"]
    check("package_commit_id", rp["MetadataProperties"].get("CommitId.$") == "$.commit_id",
          "MetadataProperties.CommitId is not the image's commit")
    check("package_metrics", rp["ModelMetrics"]["ModelQuality"]["Statistics"].get("S3Uri.$")
          == "$.outputs.metrics_s3_uri", "ModelMetrics does not point at the extracted metrics.json")
    check("package_model_data", rp["InferenceSpecification"]["Containers"][0].get("ModelDataUrl.$")
          == "$.training.S3ModelArtifacts"
          and tstate["ResultSelector"].get("S3ModelArtifacts.$") == "$.ModelArtifacts.S3ModelArtifacts",
          "ModelDataUrl is not the training job's model.tar.gz")

check("approval_gate", any(s.get("Resource", "").endswith(".waitForTaskToken") for s in states.values()))

# Retries and a failure branch on every task; the failed job's FailureReason surfaced.
tasks = {n: s for n, s in states.items() if s["Type"] == "Task"}
check("retry_and_catch_everywhere", all(s.get("Retry") and s.get("Catch") for s in tasks.values()),
      "tasks without Retry or Catch: %s" % [n for n, s in tasks.items() if not (s.get("Retry") and s.get("Catch"))])
to = tstate["Catch"][0]["Next"]
check("training_failure_branch",
      states[to].get("Resource", "").endswith(":sagemaker:describeTrainingJob")
      and any(s.get("Type") == "Fail" and "FailureReason" in s.get("CausePath", "") for s in states.values()),
      "the Train Catch does not lead to DescribeTrainingJob and a Fail with its FailureReason")

print("asl: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
