#!/usr/bin/env bash
# tests/fuzz/run.sh: runs the fuzz targets of a CLMNIST_FUZZ build. For each target: first every
# input kept in tests/fuzz/crashes/<target>/ (the regressions, run once each as plain inputs),
# then libFuzzer for SECONDS on BUILD/fuzz-corpus/<target>, which grows from the seeds
# make_corpus.py writes to BUILD/fuzz-seeds (once; CLMNIST trains the seed models). A crash, leak,
# sanitizer report, timeout or out-of-memory leaves its input in BUILD/fuzz-artifacts/<target>/,
# prints the end of the log, and fails the run; each run's log is BUILD/fuzz-artifacts/<target>.log.
#
# usage: tests/fuzz/run.sh [-t SECONDS] BUILD CLMNIST [TARGET...]   (targets: idx arch image model serve_body onnx)
set -euo pipefail
usage() {
    sed -n 's/^# usage: //p' "${BASH_SOURCE[0]}" >&2
    exit 2
}
seconds=20
while getopts t: o; do
    case $o in
    t) seconds=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
build=$(cd "$1" && pwd) clmnist=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx arch image model serve_body)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$build/tests/fuzz
# the ONNX reader, where the build has ONNX support (CMake's CLMNIST_WITH_ONNX)
[ $# -gt 0 ] || [ ! -x "$bin/fuzz_onnx" ] || targets+=(onnx)
seeds=$build/fuzz-seeds
# (again when a target's seeds are missing: a build folder from before that target)
for t in "${targets[@]}"; do
    [ -d "$seeds/$t" ] || { python3 "$here/make_corpus.py" "$seeds" "$clmnist" "$bin/fuzz_seed_jpeg"; break; }
done

failed=()
for t in "${targets[@]}"; do
    art=$build/fuzz-artifacts/$t
    mkdir -p "$build/fuzz-corpus/$t" "$art" "$seeds/$t"
    log=$art.log
    shopt -s nullglob
    regressions=("$here/crashes/$t"/*)
    shopt -u nullglob
    if [ ${#regressions[@]} -gt 0 ] && ! "$bin/fuzz_$t" "${regressions[@]}" >"$log" 2>&1; then
        tail -n 40 "$log"
        failed+=("$t: a regression input of tests/fuzz/crashes/$t fails again")
        continue
    fi
    echo "fuzz_$t: ${#regressions[@]} regression inputs pass; fuzzing for $seconds s"
    if ! "$bin/fuzz_$t" -max_total_time="$seconds" -timeout=25 -dict="$here/$t.dict" -artifact_prefix="$art/" \
        -print_final_stats=1 "$build/fuzz-corpus/$t" "$seeds/$t" >>"$log" 2>&1; then
        tail -n 60 "$log"
        failed+=("$t: see $log and the input in $art/")
        continue
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*')
    echo "fuzz_$t: $runs executions, $cov"
done
if [ ${#failed[@]} -gt 0 ]; then
    printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "fuzz: every target ran ${seconds} s without a finding"
