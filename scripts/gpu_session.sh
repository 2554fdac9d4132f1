#!/usr/bin/env bash
# The GPU measurements on a machine with a GPU, in one command: the batched
# trainer's benchmark with the CPU trainer's accuracy beside it, then the
# PyTorch baseline on the same GPU, then the reproduction end to end with
# the train stage on the GPU. Run from the repository root of a copy
# that carries .gpu/ (CUDA builds of tgsh-data, tgsh-train and the gpu
# bench, xz-compressed, and for step 5 the CPU builds of tgsh-analyze,
# tgsh-report and tgsh-index: docs/CUDA.md says how to make it). Writes
# its logs to $OUT (default /tmp/gpu-session).
#
#   bash scripts/gpu_session.sh            # all four families x 5 seeds
#   GPU_SESSION_QUICK=1 bash scripts/gpu_session.sh   # a 1-minute plumbing check
#
# Settings: GPU_SESSION_PIPELINES (default all four), GPU_SESSION_IMAGES
# (quick mode's training images per task, default 3000),
# GPU_SESSION_COMPILE=0 (skip the torch.compile run). Without a GPU (a
# plumbing check of this script only): TGSH_BENCH_DEVICE=cpu
# PYTORCH_DEVICE=cpu GPU_SESSION_QUICK=1 GPU_SESSION_IMAGES=300
# GPU_SESSION_PIPELINES=augment GPU_SESSION_COMPILE=0.
set -euo pipefail
out=${OUT:-/tmp/gpu-session}
bin=/tmp/tgsh-gpu-bin
mkdir -p "$out" "$bin"
log() { echo "== $*" | tee -a "$out/session.log"; }

for f in .gpu/*.xz; do
    xz -dc "$f" > "$bin/$(basename "$f" .xz)"
    chmod +x "$bin/$(basename "$f" .xz)"
done
# The CUDA 13 libraries the binaries link against (cuBLAS, cuRAND, the
# runtime): from the toolkit or from the Python environment's wheels.
for lib in libcublas.so.13 libcurand.so.10 libcudart.so.13; do
    dir=$(dirname "$(find /usr/local /opt /usr/lib -name "$lib" 2>/dev/null | head -1)")
    [ "$dir" != . ] && export LD_LIBRARY_PATH="$dir:${LD_LIBRARY_PATH:-}"
done
log "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true) | tee -a "$out/session.log"

pipelines=${GPU_SESSION_PIPELINES:-rotation,shift-1px,shift-2px,augment}
limits=()
bench_env=()
if [ -n "${GPU_SESSION_QUICK:-}" ]; then
    n=${GPU_SESSION_IMAGES:-3000}
    limits=(--train-images "$n" --test-images "$n" --seeds 2)
    bench_env=(TGSH_BENCH_TRAIN_IMAGES="$n" TGSH_BENCH_TEST_IMAGES="$n" TGSH_BENCH_SEEDS=2)
fi
compiles=("" --compile)
[ "${GPU_SESSION_COMPILE:-1}" = 0 ] && compiles=("")

log "1. the batched trainer (tgsh-train's GPU path), CPU trainer's accuracy beside it"
env "${bench_env[@]}" TGSH_BENCH_FAMILIES="$pipelines" "$bin/bench-gpu" 2>&1 | tee "$out/bench-gpu.log"

log "1b. inputs kept encoded on request (one task per group where a family's seeds would pass 2^32 values in one tensor)"
env "${bench_env[@]}" TGSH_RESIDENCY=encoded TGSH_BENCH_FAMILIES=shift-2px,augment "$bin/bench-gpu" 2>&1 | tee "$out/bench-gpu-encoded.log"

log "2. the data stage (for the PyTorch baseline, which reads its Parquet files)"
for p in ${pipelines//,/ }; do
    "$bin/tgsh-data" "pipelines/$p.toml" --artifacts /tmp/tgsh-artifacts 2>&1 | tail -1 | tee -a "$out/session.log"
done

log "3. the PyTorch baseline on the same device"
for compile in "${compiles[@]}"; do
    PYTHONUNBUFFERED=1 python3 scripts/bench_gpu_pytorch.py --artifacts /tmp/tgsh-artifacts \
        --pipelines "$pipelines" --device "${PYTORCH_DEVICE:-cuda}" ${compile:+"$compile"} "${limits[@]}" \
        2>&1 | tee "$out/pytorch${compile:+-compile}.log" || log "PyTorch run ${compile:-eager} failed"
done

log "4. the train stage end to end on the GPU (RotationMNIST, 5 seeds at once)"
if [ -z "${GPU_SESSION_QUICK:-}" ] && [ -x "$bin/tgsh-train" ]; then
    "$bin/tgsh-train" pipelines/rotation.toml --artifacts /tmp/tgsh-artifacts --device cuda 2>&1 | tee "$out/train-rotation.log"
fi
log "5. the reproduction end to end, training on the GPU (needs tgsh-analyze, -report and -index in .gpu/)"
if [ -z "${GPU_SESSION_QUICK:-}" ] && [ -x "$bin/tgsh-analyze" ] && [ -x "$bin/tgsh-report" ] && [ -x "$bin/tgsh-index" ]; then
    start=$(date +%s)
    for p in ${pipelines//,/ }; do
        for stage in data train analyze report; do
            device=(); [ "$stage" = train ] && device=(--device cuda)
            "$bin/tgsh-$stage" "pipelines/$p.toml" --artifacts /tmp/tgsh-artifacts "${device[@]}" >> "$out/reproduce.log" 2>&1
        done
    done
    "$bin/tgsh-index" --artifacts /tmp/tgsh-artifacts >> "$out/reproduce.log" 2>&1
    log "reproduction: $(( $(date +%s) - start )) s for every stage of $pipelines (data and train of rotation were already done above)"
    "$bin/tgsh-index" --artifacts /tmp/tgsh-artifacts --check-results results/reproduction \
        $(for p in ${pipelines//,/ }; do echo "pipelines/$p.toml"; done) 2>&1 | tee "$out/check-results.log" || true
fi
log "done; logs in $out"
