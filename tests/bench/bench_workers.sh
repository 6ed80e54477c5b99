#!/bin/bash
# Data-parallel training on one machine, and a model of 2-16 nodes (issue 13's benchmark).
#
#   tests/bench/bench_workers.sh [--reps 3] [--train-limit 12000] [--epochs 2]
#                                [--hop-latency-us 20] [--cli PATH] [--probe PATH]
#
# 1. Trains the default experiment (fashion-cnn.json, --set data.train_limit, --epochs) as
#    1 worker x 2 threads (training.threads=2) and as 2 workers x 1 thread (--workers 2,
#    training.threads=1), alternating which goes first, --reps times each after one unmeasured
#    warm-up run of each (it fills the tuning cache). Per run: samples/s of the training loop
#    (median of the run's samples_per_sec windows), whole-process seconds, final val/accuracy,
#    and the all-reduce share of a step (mean workers/allreduce_time / mean step_time).
# 2. Times nnlab's gradient all-reduce between two processes on loopback (bench_workers, the
#    probe) at 4 bytes, at the model's gradient size (parameters x 4 bytes), 1 MiB and 16 MiB.
# 3. Predicts step time and scaling efficiency of a ring all-reduce on N = 2, 4, 8, 16 nodes
#    over 10 and 25 Gb/s Ethernet from those figures; the assumptions are printed with it and
#    in tests/bench/README.md.
# Everything goes to a temporary store and tuning cache, removed at the end.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cli="$repo/build/app/cli/nnlab-cli"
probe="$repo/build/tests/bench/bench_workers"
reps=3
limit=12000
epochs=2
hop_latency_us=20
while (($#)); do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --train-limit) limit="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --hop-latency-us) hop_latency_us="$2"; shift 2 ;;
    --cli) cli="$2"; shift 2 ;;
    --probe) probe="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_workers.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in "$cli" "$probe"; do
  [[ -x "$tool" ]] || { echo "bench_workers.sh: $tool is not built; run: cmake --build build --target nnlab-cli bench_workers" >&2; exit 1; }
done

experiment="$repo/resources/experiments/fashion-cnn.json"
batch="$(grep -o '"batch_size": *[0-9]*' "$experiment" | grep -o '[0-9]*$')"
work="$(mktemp -d /tmp/nnlab-bench-workers-XXXXXX)"
trap 'rm -rf "$work"' EXIT
export NNLAB_TUNING_CACHE="$work/tuning.json"
db="$work/runs.db"
common=(--db "$db" --set "data.train_limit=$limit" --epochs "$epochs")
configs=("1x2" "2x1")
declare -A label=([1x2]="1 worker x 2 threads" [2x1]="2 workers x 1 thread")
declare -A args=([1x2]="--set training.threads=2" [2x1]="--workers 2 --set training.threads=1")

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
avx="$(grep -o -w 'avx[0-9a-z_]*\|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "bench_workers: $(nproc) CPUs, $cpu"
echo "  vector flags: ${avx:-none}"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# Two OpenMP threads on a machine whose cores other processes hold collapse (10-20x slower
# steps); the figures then measure the load, not the configurations.
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  echo "  WARNING: other processes keep the machine busy (load above half the CPUs): expect disturbed figures"
fi
echo "  experiment: fashion-cnn.json, data.train_limit=$limit, $epochs epochs, global batch $batch"
echo

# train CONFIG -> prints "seconds run_id"; the run's output is in $work/last.out. Call it
# directly (not in $(...)), so that a failed run ends the script.
train() {
  local start end
  start="$(date +%s.%N)"
  # shellcheck disable=SC2086
  "$cli" train "$experiment" "${common[@]}" ${args[$1]} >"$work/last.out" 2>&1 \
    || { echo "bench_workers.sh: ${label[$1]} failed:" >&2; cat "$work/last.out" >&2; exit 1; }
  end="$(date +%s.%N)"
  echo "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') $(sed -n 's/^run \([^ ]*\).*/\1/p' "$work/last.out" | head -1)"
}

# figures RUN_ID -> "samples_per_sec val_accuracy allreduce_share" from the run's metrics.
figures() {
  "$cli" runs export "$1" --format csv --db "$db" | awk -F, '
    $2 == "samples_per_sec" { sps[n++] = $5 }
    $2 == "step_time" { st += $5; stn++ }
    $2 == "workers/allreduce_time" { ar += $5; arn++ }
    $2 == "val/accuracy" && $3 + 0 >= vstep { vstep = $3 + 0; vacc = $5 }
    END {
      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (sps[j] < sps[i]) { t = sps[i]; sps[i] = sps[j]; sps[j] = t }
      median = n % 2 ? sps[int(n / 2)] : (sps[n / 2 - 1] + sps[n / 2]) / 2
      share = arn ? (ar / arn) / (st / stn) : -1
      printf "%.1f %.4f %.4f %.6f\n", median, vacc, share, stn ? st / stn : 0
    }'
}

echo "warm-up (not measured): one run of each configuration"
for config in "${configs[@]}"; do train "$config" >"$work/t"; done
run_id="$(cut -d' ' -f2 "$work/t")"   # for the parameter count
parameters="$("$cli" runs show "$run_id" --db "$db" | sed -n 's/^Parameters *//p' | tr -d ',')"
bytes=$((parameters * 4))

printf '\n%-22s %4s %10s %10s %8s %12s %10s\n' "configuration" "rep" "samples/s" "process s" "val/acc" "all-reduce" "step ms"
rows="$work/rows"
: >"$rows"
for rep in $(seq "$reps"); do
  order=("${configs[@]}")
  ((rep % 2 == 0)) && order=("${configs[1]}" "${configs[0]}")
  for config in "${order[@]}"; do
    train "$config" >"$work/t"
    read -r seconds id <"$work/t"
    figures "$id" >"$work/f"
    read -r sps acc share step <"$work/f"
    echo "$config $rep $sps $seconds $acc $share $step" >>"$rows"
    shareText="-"
    [[ "$share" != -1.0000 ]] && shareText="$(awk -v s="$share" 'BEGIN { printf "%.1f%%", 100 * s }')"
    printf '%-22s %4d %10.0f %10.2f %8.4f %12s %10.2f\n' "${label[$config]}" "$rep" "$sps" "$seconds" "$acc" "$shareText" \
      "$(awk -v s="$step" 'BEGIN { print 1000 * s }')"
  done
done

# Medians per configuration.
median_of() {   # CONFIG COLUMN
  awk -v c="$1" -v k="$2" '$1 == c { print $k }' "$rows" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
printf '%-22s %4s %10s %10s %8s %12s %10s\n' "median" "" "samples/s" "process s" "val/acc" "all-reduce" "step ms"
for config in "${configs[@]}"; do
  share="$(median_of "$config" 6)"
  shareText="-"
  awk -v s="$share" 'BEGIN { exit !(s >= 0) }' && shareText="$(awk -v s="$share" 'BEGIN { printf "%.1f%%", 100 * s }')"
  printf '%-22s %4s %10.0f %10.2f %8.4f %12s %10.2f\n' "${label[$config]}" "" "$(median_of "$config" 3)" \
    "$(median_of "$config" 4)" "$(median_of "$config" 5)" "$shareText" "$(awk -v s="$(median_of "$config" 7)" 'BEGIN { print 1000 * s }')"
done
sps1="$(median_of 1x2 3)"
sps2="$(median_of 2x1 3)"
awk -v a="$sps1" -v b="$sps2" 'BEGIN { printf "2 workers x 1 thread / 1 worker x 2 threads: %.2fx samples/s (medians)\n", b / a }'
# The model's node: the fastest 1 worker x 2 threads repetition, the one load disturbed least.
best1="$(awk '$1 == "1x2" && $3 > m { m = $3 } END { print m }' "$rows")"
echo "  all-reduce: workers/allreduce_time (rank 0's wait in the gradient all-reduce, the other"
echo "  worker's lag included) over step_time (one training step, all-reduce included)"

# The all-reduce on loopback.
echo
echo "all-reduce of nnlab's ProcessGroup between 2 processes on loopback (bench_workers, 1 thread each):"
"$probe" --bytes "4,$bytes,1048576,16777216" >"$work/probe" || { echo "bench_workers.sh: the probe failed" >&2; exit 1; }
printf '  %10s %11s %11s %11s %14s\n' "bytes" "median us" "p10 us" "p90 us" "bytes/s moved"
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
       printf "  %10d %11.1f %11.1f %11.1f %12.0f MB/s\n", f["bytes"], 1e6 * f["median_s"], 1e6 * f["p10_s"], 1e6 * f["p90_s"], f["bytes"] / f["median_s"] / 1e6 }' "$work/probe"
t_tiny="$(awk '/bytes=4 / { split($4, kv, "="); print kv[2] }' "$work/probe")"
t_grad="$(awk -v b="bytes=$bytes" '$2 == b { split($4, kv, "="); print kv[2] }' "$work/probe")"
awk -v t="$t_grad" -v s="$(median_of 2x1 7)" -v a="$(median_of 2x1 6)" 'BEGIN {
  printf "  the transfer at the gradient size, %.3f ms, is %.1f%% of a 2-worker step (median %.2f ms); the rest of the\n", 1e3 * t, 100 * t / s, 1e3 * s
  printf "  %.1f%% all-reduce share above is waiting for the other worker\n", 100 * a }'
echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# The model.
awk -v P="$parameters" -v S="$bytes" -v G="$batch" -v sps1="$best1" -v t_tiny="$t_tiny" -v t_grad="$t_grad" \
    -v hop_us="$hop_latency_us" '
BEGIN {
  c = 1 / sps1                         # seconds of one node per sample (1 worker x 2 threads)
  alpha_sw = t_tiny / 2                # 2 ranks: a ring all-reduce is 2(N-1) = 2 hops
  beta_sw = S / (t_grad - t_tiny)      # N = 2 moves 2(N-1)/N x S = S bytes a rank
  printf "\nmodel of N nodes, each one of these machines (1 worker x 2 threads), ring all-reduce:\n"
  printf "  gradient: %d parameters x 4 bytes = %d bytes, one 25 MB bucket, all-reduced after backward (no overlap)\n", P, S
  printf "  compute: %.1f us per sample (1 / %.0f samples/s, the fastest 1 worker x 2 threads repetition), global batch %d kept: %d/N samples a node\n", 1e6 * c, sps1, G, G
  printf "  measured software latency per hop: %.1f us (half the 4-byte all-reduce); stated wire latency per hop: %g us\n", 1e6 * alpha_sw, hop_us
  printf "  measured software bandwidth at this size: %.0f MB/s (S / (t(S) - t(4 B)) on loopback)\n", beta_sw / 1e6
  printf "  link payload rate: line rate x 0.94 (TCP/IPv4 over Ethernet, MTU 1500); time per byte = software + wire (no overlap)\n"
  printf "  t_allreduce(N) = 2(N-1)/N x S / bandwidth + 2(N-1) x (software + wire latency per hop)\n"
  printf "  step(N) = c x G/N + t_allreduce(N); speed-up = step(1) / step(N), step(1) = c x G; efficiency = speed-up / N\n"
  printf "  weak scaling (batch %d a node): step = c x %d + t_allreduce(N); efficiency = c x %d / step\n", G, G, G
  split("10 25", gbps, " ")
  for (k = 1; k <= 2; k++) {
    wire = gbps[k] * 1e9 / 8 * 0.94
    bw = 1 / (1 / beta_sw + 1 / wire)
    alpha = alpha_sw + hop_us * 1e-6
    printf "\n  %d Gb/s Ethernet (%.0f MB/s effective, %.1f us a hop):\n", gbps[k], bw / 1e6, 1e6 * alpha
    printf "  %5s %14s %12s %9s %11s %16s %11s\n", "nodes", "all-reduce ms", "step ms", "speed-up", "efficiency", "weak step ms", "weak eff."
    step1 = c * G
    printf "  %5d %14s %12.3f %9.2f %10.0f%% %16.3f %10.0f%%\n", 1, "-", 1e3 * step1, 1, 100, 1e3 * step1, 100
    for (n = 2; n <= 16; n *= 2) {
      t = 2 * (n - 1) / n * S / bw + 2 * (n - 1) * alpha
      step = c * G / n + t
      weak = c * G + t
      printf "  %5d %14.3f %12.3f %9.2f %10.0f%% %16.3f %10.0f%%\n", n, 1e3 * t, 1e3 * step, step1 / step, 100 * step1 / step / n, 1e3 * weak, 100 * c * G / weak
    }
  }
  printf "\n  Not modelled: per-step costs that do not shrink with the shard (optimizer step, framework overhead),\n"
  printf "  slower kernels at small per-node batches, stragglers, evaluation on rank 0 only, and contention of several\n"
  printf "  workers for one switch; the strong-scaling figures are therefore upper bounds.\n"
}'
