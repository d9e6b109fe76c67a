#!/bin/bash
# `make container-test`: build Dockerfile.train and run the image the way
# SageMaker does, then check the Step Functions definition and the
# Jenkinsfile.  Ends with "container-test: N passed, N failed"; exit status 1
# if anything failed.
#
#   bash tests/container/run.sh [filter]     filter: a case name substring
#   KEEP=1 keeps the work folder (/tmp/plantfit-container-*) for inspection
#
# No Docker engine runs on these machines; podman and buildah do (rootful,
# runc, cgroupfs, chroot isolation).  `podman run` is refused here (setrlimit),
# so the image runs through `buildah from IMAGE` + `buildah run`, with the
# image's own ENTRYPOINT followed by `train` (what `docker run IMAGE train`
# executes) and a host folder mounted as /opt/ml.  Without podman the image
# cases are SKIPPED loudly, and fail when CI=true.
#
# Measured and printed: build time, the base image's size and what our
# layers add (podman image inspect / history), and the cold start: the time
# from the execve of the entrypoint to its first read() of the training CSV,
# taken with `strace -f --seccomp-bpf -tt` on the host around `buildah run`
# (only execve/openat/read stop the tracee, so the overhead is a few syscall
# round trips).
set -u
cd "$(dirname "$0")/../.."
FILTER=${1:-}
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
COMMIT=$(git rev-parse HEAD 2>/dev/null || true)
# PLANTFIT_IMAGE: the tag to build and test (Jenkins: the one it pushes).
IMAGE=${PLANTFIT_IMAGE:-localhost/plantfit:container-test}
ROOT=$(mktemp -d /tmp/plantfit-container-XXXXXX)
CONTAINERS=()
cleanup() {
    local c
    for c in "${CONTAINERS[@]}"; do buildah rm "$c" >/dev/null 2>&1; done
    rm -rf "$ROOT"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT
passed=0
failed=0
CASE=""
CASE_FAILED=0

fail() { echo "    $CASE: $*"; CASE_FAILED=1; }
begin() { CASE=$1; CASE_FAILED=0; }
end() {
    if [ "$CASE_FAILED" = 0 ]; then echo "ok   container.$CASE"; passed=$((passed + 1))
    else echo "FAIL container.$CASE"; failed=$((failed + 1)); fi
}
want() { [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]]; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

# job DIR HYPERPARAMETERS: an /opt/ml-shaped folder with the sample plant
# data split in time order, 80% train and 20% validation, as `make demo` does.
job() {
    local d=$1 data=datasets/plant.csv n ntrain
    mkdir -p "$d/input/config" "$d/input/data/train" "$d/input/data/validation" "$d/model" "$d/output"
    n=$(($(wc -l < "$data") - 1))
    ntrain=$((n * 8 / 10))
    head -n $((ntrain + 1)) "$data" > "$d/input/data/train/plant.csv"
    { head -n 1 "$data"; tail -n +$((ntrain + 2)) "$data"; } > "$d/input/data/validation/plant.csv"
    echo "$2" > "$d/input/config/hyperparameters.json"
    cat > "$d/input/config/inputdataconfig.json" <<'EOF'
{"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
 "validation": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
EOF
    echo '{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}' \
        > "$d/input/config/resourceconfig.json"
}

# run_image DIR [buildah run options...]: `docker run IMAGE train` with DIR as
# /opt/ml: a fresh working container, the image's ENTRYPOINT + "train".  Sets
# RC; stdout and stderr go to DIR.stdout / DIR.stderr.
run_image() {
    local d=$1 c
    shift
    c=$(buildah from --pull-never "$IMAGE") || { RC=125; return; }
    CONTAINERS+=("$c")
    ${TRACE:-} buildah run --isolation chroot "$@" -v "$d:/opt/ml" "$c" -- "${ENTRYPOINT[@]}" train \
        > "$d.stdout" 2> "$d.stderr"
    RC=$?
}

expect_trained() { # expect_trained DIR MODEL-FILE
    local d=$1 m=$1/model/manifest.json
    [ "$RC" = 0 ] || { fail "exit status $RC: $(tail -3 "$d.stderr")"; return; }
    [ -f "$d/output/success" ] || fail "no output/success"
    [ -e "$d/output/failure" ] && fail "output/failure written on success"
    [ -s "$d/model/$2" ] || fail "no model/$2"
    [ "$(json "$m" 'd["commit"]["id"]')" = "$COMMIT" ] ||
        fail "manifest commit id $(json "$m" 'd["commit"]') is not the build's GIT_COMMIT $COMMIT"
    [ "$(json "$m" 'd["commit"]["source"]')" = GIT_COMMIT ] || fail "commit source is not GIT_COMMIT"
    [ "$(json "$m" 'd["build_commit"]')" = "$COMMIT" ] ||
        fail "build_commit $(json "$m" 'd.get("build_commit")') is not $COMMIT"
    [ "$(json "$m" 'd["data"]["train"]["rows"]')" = 8064 ] || fail "manifest: train rows not 8064"
    [ "$(json "$m" 'd["data"]["validation"]["rows"]')" = 2016 ] || fail "manifest: validation rows not 2016"
    # Each metric of metrics.json is also a `#metric NAME=VALUE;` line on stdout.
    n=$(json "$d/output/data/metrics.json" 'len(d["metrics"])')
    [ "${n:-0}" -gt 3 ] || fail "metrics.json has ${n:-no} metrics"
    [ "$(grep -cE '^#metric [A-Za-z0-9_.:-]+=[^;]+;$' "$d.stdout")" = "${n:-0}" ] ||
        fail "$(wc -l < "$d.stdout") metric lines on stdout for $n metrics in metrics.json"
    if grep -vqE '^#metric [A-Za-z0-9_.:-]+=[^;]+;$' "$d.stdout"; then fail "non-metric line on stdout"; fi
}

# The host's -Werror build of the same commit, to compare models with, when there.
# `make` first: CI has built it already (make test), so this is quick.
host_plantfit() {
    [ -z "${HOST_BUILT:-}" ] && { make -s -j2 all > "$ROOT/host-build.log" 2>&1 && HOST_BUILT=1 || HOST_BUILT=0; }
    [ "$HOST_BUILT" = 1 ]
}

# ------------------------------------------------------------------ the image

have_podman=1
for t in podman buildah runc; do command -v "$t" >/dev/null || have_podman=0; done
if [ $have_podman = 1 ] && ! "${PODMAN[@]}" info >/dev/null 2>&1; then have_podman=0; fi
IMAGE_CASES="build image_config gam iforest bad_hyperparameters non_root sigterm sizes cold_start"
want_image=0
for c in $IMAGE_CASES; do want "$c" && want_image=1; done

if [ $want_image = 1 ] && [ $have_podman = 0 ]; then
    echo "!!! container-test: podman/buildah/runc NOT USABLE: the image cases are SKIPPED, NOTHING about"
    echo "!!! the image was tested (make container-test installs them through scripts/deps-container.sh)"
    if [ "${CI:-}" = true ]; then
        begin podman_available; fail "CI=true: the image must be built and run in CI"; end
    fi
    want_image=0
fi
if [ $want_image = 1 ] && [ -z "$COMMIT" ]; then
    begin git_commit; fail "not a git clone: no commit to build the image with"; end
    want_image=0
fi

BUILT=0
if [ $want_image = 1 ]; then
    begin build
    if bash scripts/container-base.sh; then
        t0=$(date +%s.%N)
        GIT_COMMIT=$COMMIT bash scripts/build-image.sh "$IMAGE" > "$ROOT/build.log" 2>&1
        rc=$?
        BUILD_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        if [ $rc = 0 ]; then
            BUILT=1
            echo "    image $IMAGE built in $BUILD_SECONDS s (GIT_COMMIT=$COMMIT)"
            grep -E '^unit:' "$ROOT/build.log" | sed 's/^/    build-stage /'
        else
            tail -40 "$ROOT/build.log"
            fail "podman build failed (status $rc)"
        fi
    else
        fail "the debian:bookworm-slim base could not be made (scripts/container-base.sh)"
    fi
    end
fi

if [ $BUILT = 1 ]; then
    INSPECT="$ROOT/inspect.json"
    "${PODMAN[@]}" image inspect "$IMAGE" > "$INSPECT"
    mapfile -t ENTRYPOINT < <(json "$INSPECT" '"\n".join(d[0]["Config"]["Entrypoint"] or [])')
fi

if [ $BUILT = 1 ] && want image_config; then
    begin image_config
    [ "${ENTRYPOINT[*]}" = plantfit ] || fail "ENTRYPOINT is '${ENTRYPOINT[*]}', expected exec form [\"plantfit\"]"
    [ "$(json "$INSPECT" '" ".join(d[0]["Config"]["Cmd"] or [])')" = train ] || fail "CMD is not [\"train\"]"
    json "$INSPECT" '"\n".join(d[0]["Config"]["Env"])' | grep -qx "GIT_COMMIT=$COMMIT" ||
        fail "no ENV GIT_COMMIT=$COMMIT"
    lab() { json "$INSPECT" "d[0][\"Config\"][\"Labels\"].get(\"org.opencontainers.image.$1\", \"\")"; }
    [ "$(lab revision)" = "$COMMIT" ] || fail "label revision '$(lab revision)'"
    [ -n "$(lab source)" ] || fail "label source empty"
    c=$(buildah from --pull-never "$IMAGE"); CONTAINERS+=("$c")
    v=$(buildah run --isolation chroot "$c" -- plantfit version 2>&1)
    [ "$v" = "plantfit $(lab version) (built from commit $COMMIT)" ] ||
        fail "label version '$(lab version)' / commit do not match the binary: $v"
    # train on PATH (serve: not yet, see README); nothing baked under /opt/ml;
    # no compiler or -dev package in the runtime stage.
    buildah run --isolation chroot "$c" -- sh -c 'command -v train' >/dev/null 2>&1 || fail "train not on PATH"
    buildah run --isolation chroot "$c" -- sh -c 'test ! -e /opt/ml' || fail "/opt/ml exists in the image"
    buildah run --isolation chroot "$c" -- sh -c '! command -v gcc && ! ls /usr/include/hdf5 && ! ls /var/lib/apt/lists/*Packages*' \
        >/dev/null 2>&1 || fail "build tools, headers or apt lists in the runtime image"
    # Every shared library the binary needs resolves inside the image.
    buildah run --isolation chroot "$c" -- sh -c 'ldd /usr/local/bin/plantfit' > "$ROOT/ldd.txt" 2>&1 ||
        fail "ldd failed: $(cat "$ROOT/ldd.txt")"
    grep -q 'not found' "$ROOT/ldd.txt" && fail "unresolved libraries: $(grep 'not found' "$ROOT/ldd.txt")"
    echo "    runtime links: $(awk '/=>/ { printf "%s ", $1 }' "$ROOT/ldd.txt")"
    end
fi

if [ $BUILT = 1 ] && want gam; then
    begin gam
    d=$ROOT/gam
    F='yield ~ factor(line) + s(reactor1_temp, by=line) + s(reactor2_temp) + s(feed_rate) + s(catalyst_rate) + s(air_flow) + s(feed_purity) + s(evaporator_temp) + s(reflux_ratio)'
    # Values as SageMaker passes them: every one a string.
    job "$d" "{\"algorithm\": \"gam\", \"categorical\": \"line\", \"formula\": \"$F\", \"max_iter\": \"100\"}"
    run_image "$d"
    expect_trained "$d" gam.h5
    r2=$(json "$d/output/data/metrics.json" 'd["metrics"]["validation.r2"]')
    awk -v r="$r2" 'BEGIN { exit !(r > 0.5) }' || fail "validation r2 $r2 is not > 0.5"
    if host_plantfit; then
        # The static link must not change the numbers: same model bytes as the host's build.
        h=$ROOT/gam-host
        job "$h" "$(cat "$d/input/config/hyperparameters.json")"
        GIT_COMMIT=$COMMIT build/plantfit train --base-dir "$h" > /dev/null 2>&1 || fail "host build failed to train"
        cmp -s "$d/model/gam.h5" "$h/model/gam.h5" || fail "gam.h5 differs from the host build's"
        echo "    gam.h5 identical to the host build's; validation r2 $r2"
    else
        echo "    !!! host build failed (deps missing?): model bytes NOT compared with it: $(tail -2 "$ROOT/host-build.log")"
    fi
    end
fi

if [ $BUILT = 1 ] && want iforest; then
    begin iforest
    d=$ROOT/iforest
    job "$d" '{"algorithm": "iforest", "categorical": "line", "label": "abnormal", "missing": "divide", "contamination": "0.03", "seed": "1", "n_trees": "200", "features": "feed_rate,catalyst_rate,air_flow,feed_purity,reactor1_temp,reactor1_pressure,reactor2_temp,reactor2_pressure,coolant_temp,evaporator_temp,evaporator_pressure,reflux_ratio"}'
    run_image "$d"
    expect_trained "$d" iforest.h5
    auc=$(json "$d/output/data/metrics.json" 'd["metrics"]["validation.roc_auc"]')
    awk -v a="$auc" 'BEGIN { exit !(a > 0.7) }' || fail "validation roc_auc $auc is not > 0.7"
    if host_plantfit; then
        h=$ROOT/iforest-host
        job "$h" "$(cat "$d/input/config/hyperparameters.json")"
        GIT_COMMIT=$COMMIT build/plantfit train --base-dir "$h" > /dev/null 2>&1 || fail "host build failed to train"
        cmp -s "$d/model/iforest.h5" "$h/model/iforest.h5" || fail "iforest.h5 differs from the host build's"
        echo "    iforest.h5 identical to the host build's; validation roc_auc $auc"
    fi
    end
fi

if [ $BUILT = 1 ] && want bad_hyperparameters; then
    begin bad_hyperparameters
    d=$ROOT/bad
    job "$d" '{"algorithm": "gam", "formula": "yield ~ s(feed_rate)", "learning_rate": "0.1"}'
    run_image "$d"
    [ "$RC" = 1 ] || fail "exit status $RC, expected 1"
    [ -s "$d/output/failure" ] || fail "no output/failure"
    grep -q learning_rate "$d/output/failure" 2>/dev/null || fail "failure file does not name the key: $(head -c 300 "$d/output/failure" 2>/dev/null)"
    [ -e "$d/output/success" ] && fail "success marker on failure"
    [ -z "$(ls -A "$d/model")" ] || fail "model/ not empty: $(ls -A "$d/model")"
    d=$ROOT/bad-json
    job "$d" '{"algorithm": "gam", "formula": '
    run_image "$d"
    [ "$RC" = 1 ] || fail "truncated hyperparameters.json: exit status $RC, expected 1"
    grep -q hyperparameters.json "$d/output/failure" 2>/dev/null || fail "failure file does not name hyperparameters.json"
    end
fi

if [ $BUILT = 1 ] && want non_root; then
    # plantfit itself needs no privileges: as nobody, on a writable mount, it trains.
    begin non_root
    d=$ROOT/nobody
    job "$d" '{"algorithm": "profile", "categorical": "line"}'
    chmod -R a+rwX "$d"
    run_image "$d" --user 65534:65534
    [ "$RC" = 0 ] || fail "as uid 65534: exit status $RC: $(tail -2 "$d.stderr")"
    [ "$(stat -c %u "$d/model/manifest.json" 2>/dev/null)" = 65534 ] || fail "manifest not written by uid 65534"
    end
fi

if [ $BUILT = 1 ] && want sigterm; then
    # StopTrainingJob sends SIGTERM to the container's process: the exec-form
    # ENTRYPOINT makes that plantfit itself (no shell in between).  A Pipe-mode
    # channel whose FIFO nobody writes holds the job in "read train".
    begin sigterm
    d=$ROOT/sigterm
    job "$d" '{"algorithm": "profile"}'
    rm -rf "$d/input/data/train" "$d/input/data/validation"
    mkfifo "$d/input/data/train_0"
    echo '{"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}}' > "$d/input/config/inputdataconfig.json"
    c=$(buildah from --pull-never "$IMAGE"); CONTAINERS+=("$c")
    buildah run --isolation chroot -v "$d:/opt/ml" "$c" -- "${ENTRYPOINT[@]}" train \
        > "$d.stdout" 2> "$d.stderr" &
    bpid=$!
    pid=""
    for _ in $(seq 100); do
        # The entrypoint process: the descendant of our buildah run that
        # executes the image's plantfit.
        for p in $(descendants "$bpid"); do
            if { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null | grep -q '^/usr/local/bin/plantfit train'; then pid=$p; fi
        done
        [ -n "$pid" ] && grep -q 'read config' "$d.stderr" 2>/dev/null && break
        pid=""
        sleep 0.1
    done
    if [ -z "$pid" ]; then
        fail "the entrypoint process did not start: $(cat "$d.stderr")"
        kill "$bpid" 2>/dev/null
    else
        parent=$(ps -o comm= -p "$(ps -o ppid= -p "$pid" | tr -d ' ')")
        case "$parent" in sh|bash|dash) fail "a shell ($parent) runs the entrypoint";; esac
        kill -TERM "$pid"
    fi
    wait "$bpid"
    RC=$?
    [ "$RC" = 143 ] || fail "exit status $RC after SIGTERM, expected 143"
    grep -qi 'stop' "$d/output/failure" 2>/dev/null || fail "failure file does not say the job was stopped: $(head -c 200 "$d/output/failure" 2>/dev/null)"
    end
fi

if [ $BUILT = 1 ] && want sizes; then
    begin sizes
    total=$(json "$INSPECT" 'd[0]["Size"]')
    base=$("${PODMAN[@]}" image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim)
    ours=$((total - base))
    echo "    base debian:bookworm-slim $(mb "$base"), our layers $(mb "$ours"), image $(mb "$total")"
    "${PODMAN[@]}" history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | awk -F'\t' '$1 != "0B" && $1 != "0 B"' |
        cut -c1-110 | sed 's/^/      layer /'
    # The issue's aim: what we add stays under 40 MB.
    [ "$ours" -lt 40000000 ] || fail "our layers are $(mb "$ours"), the aim is under 40 MB"
    end
fi

if [ $BUILT = 1 ] && want cold_start; then
    begin cold_start
    if ! command -v strace >/dev/null; then
        fail "strace is not installed (scripts/deps-container.sh installs it)"
    else
        d=$ROOT/cold
        job "$d" '{"algorithm": "profile", "categorical": "line"}'
        # Five runs (the machine is shared): the median is quoted and held to the aim.
        times=()
        for i in 1 2 3 4 5; do
            rm -rf "$d/model" "$d/output"
            TRACE="strace -f --seccomp-bpf -tt -e trace=execve,openat,read -o $ROOT/strace.$i.txt" run_image "$d"
            [ "$RC" = 0 ] || fail "traced run $i: exit status $RC"
            # The entrypoint's execve, then its first read() of the fd it
            # opened the training CSV on (strace may split a call across
            # lines as "<unfinished ...>" / "<... resumed>").
            ms=$(/usr/bin/python3 - "$ROOT/strace.$i.txt" <<'PY'
import re, sys
t = lambda s: sum(float(x) * m for x, m in zip(s.split(":"), (3600, 60, 1)))
pid = start = fd = None
pending = False
for line in open(sys.argv[1]):
    m = re.match(r"(\d+) +([\d:.]+) (.*)", line.rstrip())
    if not m:
        continue
    p, ts, call = m.group(1), t(m.group(2)), m.group(3)
    if pid is None and call.startswith('execve("/usr/local/bin/plantfit"'):
        pid, start = p, ts
    elif p != pid:
        continue
    elif fd is None and "input/data/train/plant.csv" in call and call.startswith("openat("):
        r = re.search(r"= (\d+)$", call)
        fd, pending = (r.group(1), False) if r else (None, True)
    elif fd is None and pending and call.startswith("<... openat resumed>"):
        r = re.search(r"= (\d+)$", call)
        fd, pending = (r.group(1) if r else None), False
    elif fd is not None and call.startswith("read(%s," % fd):
        print("%.1f" % ((ts - start) * 1000))
        break
PY
)
            [ -n "$ms" ] && times+=("$ms")
        done
        if [ ${#times[@]} != 5 ]; then
            fail "no execve/first read of the CSV found in $((5 - ${#times[@]})) of the 5 traces"
        else
            med=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)
            echo "    cold start, execve of the entrypoint to its first read of input/data/train/plant.csv"
            echo "    (strace, 5 runs): median $med ms; runs: ${times[*]} ms"
            awk -v m="$med" 'BEGIN { exit !(m < 50) }' || fail "cold start median $med ms, the aim is under 50 ms"
        fi
    fi
    end
fi

# ------------------------------------------ Step Functions and Jenkinsfile

# static NAME CMD...: run a checker printing "ok   X" / "FAIL X" lines and
# "NAME: N passed, N failed"; its counts join ours.
static() {
    local name=$1 out line
    shift
    out=$("$@" 2>&1)
    echo "$out"
    line=$(echo "$out" | grep -E "^$name: [0-9]+ passed, [0-9]+ failed" | tail -1)
    if [ -z "$line" ]; then
        echo "FAIL container.$name: the checker did not finish"; failed=$((failed + 1)); return
    fi
    passed=$((passed + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
    failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}

# mutant NAME FILE PYTHON-EDIT CHECKER...: the checker must reject FILE edited
# by PYTHON-EDIT (on the text `s`), or it proves nothing.
mutant() {
    local name=$1 file=$2 edit=$3 m
    shift 3
    begin "mutant_$name"
    m=$ROOT/mutant-$name.$(basename "$file")
    /usr/bin/python3 -c "import sys; s=open(sys.argv[1]).read(); $edit; open(sys.argv[2],'w').write(s)" "$file" "$m"
    cmp -s "$file" "$m" && fail "the edit changed nothing"
    if "${@//@FILE@/$m}" > "$ROOT/mutant.log" 2>&1; then fail "accepted: $(tail -1 "$ROOT/mutant.log")"; fi
    end
}

ASL=deploy/stepfunctions/training.asl.json
ASL_INPUT=deploy/stepfunctions/example-input.json
ASL_VALIDATOR_VERSION=$(/usr/bin/python3 -c "import json; print(json.load(open('tests/container/asl-validator/package.json'))['dependencies']['asl-validator'])")
VALIDATOR=""
if want asl; then
    # asl-validator from npm, pinned with its whole tree by the committed
    # package-lock.json, installed once into a cache outside the clone.
    begin asl_validator_install
    NPM_DIR=${PLANTFIT_CONTAINER_CACHE:-/var/cache/plantfit-container}/npm-asl-validator-$(sha256sum tests/container/asl-validator/package-lock.json | cut -c1-12)
    VALIDATOR=$NPM_DIR/node_modules/.bin/asl-validator
    if [ ! -x "$VALIDATOR" ]; then
        if ! command -v npm > /dev/null; then
            fail "npm is not installed (scripts/deps-container.sh installs it)"
        else
            mkdir -p "$NPM_DIR" && cp tests/container/asl-validator/package.json tests/container/asl-validator/package-lock.json "$NPM_DIR/"
            (cd "$NPM_DIR" && npm ci --ignore-scripts --no-audit --no-fund) > "$ROOT/npm.log" 2>&1 ||
                { fail "npm ci failed: $(tail -5 "$ROOT/npm.log")"; rm -rf "$NPM_DIR/node_modules"; }
        fi
    fi
    v=$("$VALIDATOR" --version 2>/dev/null)
    [ "$v" = "$ASL_VALIDATOR_VERSION" ] || fail "asl-validator version '$v', pinned $ASL_VALIDATOR_VERSION"
    end
    if [ "$CASE_FAILED" = 0 ]; then
        begin asl_valid
        "$VALIDATOR" --json-path "$ASL" > "$ROOT/aslv.log" 2>&1 || fail "$(cat "$ROOT/aslv.log")"
        end
        mutant asl_dangling_next "$ASL" "s=s.replace('\"Next\": \"ChallengerBeatsChampion\"', '\"Next\": \"Nowhere\"')" \
            "$VALIDATOR" --json-path @FILE@
        mutant asl_bad_path "$ASL" "s=s.replace('\"$.job_name\"', '\"job_name\"', 1)" "$VALIDATOR" --json-path @FILE@
    fi
    # The parameters against the real binary (the host build of this commit).
    if make -s -j2 all > "$ROOT/host-build.log" 2>&1; then
        static asl /usr/bin/python3 tests/container/asl_check.py "$ASL" "$ASL_INPUT" build/plantfit datasets/plant.csv "$ROOT"
        mutant asl_number_hyperparameter "$ASL" "s=s.replace('\"seed\": \"1\"', '\"seed\": 1')" \
            /usr/bin/python3 tests/container/asl_check.py @FILE@ "$ASL_INPUT" build/plantfit datasets/plant.csv "$ROOT"
        mutant asl_unknown_hyperparameter "$ASL" "s=s.replace('\"method\": \"REML\"', '\"learning_rate\": \"0.1\"')" \
            /usr/bin/python3 tests/container/asl_check.py @FILE@ "$ASL_INPUT" build/plantfit datasets/plant.csv "$ROOT"
        mutant asl_channel_name "$ASL" "s=s.replace('\"ChannelName\": \"validation\"', '\"ChannelName\": \"valid\"')" \
            /usr/bin/python3 tests/container/asl_check.py @FILE@ "$ASL_INPUT" build/plantfit datasets/plant.csv "$ROOT"
        mutant asl_output_path "$ASL" "s=s.replace('/output/output.tar.gz', '/output.tar.gz')" \
            /usr/bin/python3 tests/container/asl_check.py @FILE@ "$ASL_INPUT" build/plantfit datasets/plant.csv "$ROOT"
    else
        begin asl_host_build; fail "make failed, the ASL cannot be run against plantfit: $(tail -3 "$ROOT/host-build.log")"; end
    fi
fi

if want jenkins; then
    static jenkins /usr/bin/python3 tests/container/jenkinsfile_check.py Jenkinsfile
    mutant jenkins_brace Jenkinsfile "i=s.rindex('}'); s=s[:i]+s[i+1:]" /usr/bin/python3 tests/container/jenkinsfile_check.py @FILE@
    mutant jenkins_no_test_stage Jenkinsfile "s=s.replace(\"sh 'make test'\", \"sh 'make'\")" \
        /usr/bin/python3 tests/container/jenkinsfile_check.py @FILE@
    mutant jenkins_secret Jenkinsfile "s=s.replace('pipeline {', 'pipeline {\\n    environment { AWS_ACCESS_KEY_ID = \\'AKIAABCDEFGHIJKLMNOP\\' }', 1)" \
        /usr/bin/python3 tests/container/jenkinsfile_check.py @FILE@
fi

echo "container-test: $passed passed, $failed failed"
[ "$failed" = 0 ]
