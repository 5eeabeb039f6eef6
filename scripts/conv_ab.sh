#!/usr/bin/env bash
# scripts/conv_ab.sh: our whole-batch im2col + one GEMM against CLBlast's Im2col (per image) + GEMM
# and CLBlast's Convgemm, for the forward of the `cnn` preset's two convolutions, in alternating
# rounds as ratios (scripts/conv_ab.c says what each variant does). Builds scripts/conv_ab.c with cc
# against the libraries of an existing build (BUILD, default build/; run cmake --build first) and
# CLBlast, then runs it on the OpenCL device clmnist would pick (CLMNIST_DEVICE selects another).
# Usage: scripts/conv_ab.sh [ROUNDS (default 9)] [CALLS per timing (default 5)] [BATCH (default 128)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
bin=$build/conv_ab
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -DCL_TARGET_OPENCL_VERSION=120 -Wall -Wno-unused-parameter \
    -Iinclude -Ihost/core -Ihost/backend -Ihost/backend/device -I"$build/generated" scripts/conv_ab.c \
    "$build/libclmnist_backends.a" "$build/libclmnist_backend_device.a" "$build/libclmnist_backend_host.a" \
    "$build/libclmnist_backend.a" "$build/libclmnist_core.a" \
    -lclblast -lOpenCL -lcjson -lz -lcrypto -lopenblas -lm -fopenmp -o "$bin"
"$bin" "$@"
