#!/usr/bin/env bash
# The kill soak: SIGKILLs `nnlab-cli train` N times in a row (default 50), all runs in one
# store, at five kinds of moment in turn:
#   startup      within 200 ms of the process starting (before the run is recorded)
#   recorded     within 200 ms of the run being recorded (data loading, the first steps)
#   checkpoint   the moment a checkpoint's temporary file appears (mid-write)
#   random       a random moment of the training
#   finish       just after the last epoch's line (final checkpoint, test, finish commit)
# After every kill: PRAGMA integrity_check is ok; the run reads `interrupted`; the steps seen
# committed before the kill are still there and the last commit is at most 1 s older than
# the kill; `runs resume` finishes it with the step count of an uninterrupted run (or, when
# it died before its first checkpoint, refuses saying so). Prints the counts; exits 1 on any
# failure.
#
# Usage: tests/faults/kill_soak.sh [N] ; NNLAB_CLI (default build/app/cli/nnlab-cli) and
# SOAK_SEED (random) may be set. Needs bash 5 and the sqlite3 command.
set -u

N=${1:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CLI=${NNLAB_CLI:-$ROOT/build/app/cli/nnlab-cli}
EXPERIMENT=$ROOT/resources/experiments/spiral-mlp.json
EPOCHS=60
SEED=${SOAK_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
MAX_LOST=1.0   # seconds: the writer commits every 0.5 s

command -v sqlite3 >/dev/null || { echo "kill_soak: needs the sqlite3 command (apt-get install sqlite3)" >&2; exit 2; }
[ -x "$CLI" ] || { echo "kill_soak: no nnlab-cli at $CLI (build it, or set NNLAB_CLI)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nnlab-kill-soak.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DB=$WORK/runs.db
CHECKPOINTS=$WORK/checkpoints
TRAIN=(train "$EXPERIMENT" --db "$DB" --epochs "$EPOCHS"
       --set training.threads=1 --set training.checkpoint_every_steps=100)

sql() { sqlite3 -cmd ".timeout 5000" "$DB" "$@"; }
ms_sleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
elapsed_ms() { echo $(( (${EPOCHREALTIME/./} - ${1/./}) / 1000 )); }

# Waits (up to 60 s) until FILE has a line matching PATTERN.
wait_line() {
    local file=$1 pattern=$2 start=$EPOCHREALTIME
    until grep -q -- "$pattern" "$file" 2>/dev/null; do
        kill -0 "$PID" 2>/dev/null || return 1
        [ "$(elapsed_ms "$start")" -gt 60000 ] && return 1
        sleep 0.002
    done
}

# The uninterrupted reference: its step count is what every resumed run must reach.
reference=$("$CLI" "${TRAIN[@]}" --quiet 2>&1)
TOTAL=$(sed -n 's/^finished \([0-9]*\) steps.*/\1/p' <<<"$reference")
[ -n "$TOTAL" ] || { echo "kill_soak: the reference run failed:"; echo "$reference"; exit 1; }
echo "kill soak: N=$N, seed $SEED, $EPOCHS epochs of spiral-mlp = $TOTAL steps, a checkpoint every 100 steps"

PHASES=(startup recorded checkpoint random finish)
declare -A runs=() passed=()
failures=0 resumed=0 no_checkpoint=0 not_recorded=0 finished_first=0 tmp_hits=0 max_lost=0

for ((i = 1; i <= N; i++)); do
    phase=${PHASES[$(( (i - 1) % ${#PHASES[@]} ))]}
    runs[$phase]=$(( ${runs[$phase]:-0} + 1 ))
    out=$WORK/out.$i err=$WORK/err.$i
    before=$(sql "SELECT count(*) FROM runs")
    seen=-1 hit=""
    "$CLI" "${TRAIN[@]}" >"$out" 2>"$err" &
    PID=$!
    case $phase in
    startup) ms_sleep $((RANDOM % 200)) ;;
    recorded) wait_line "$out" '^run ' && ms_sleep $((RANDOM % 200)) ;;
    checkpoint)
        # After a random wait, the next checkpoint's temporary file; the loop is builtins only.
        if wait_line "$out" '^run '; then
            id=$(sed -n 's/^run //p' "$out")
            latest=$CHECKPOINTS/$id.pt.tmp best=$CHECKPOINTS/$id.best.pt.tmp
            ms_sleep $((RANDOM % 2000))
            start=$EPOCHREALTIME
            for ((spin = 0; ; spin++)); do
                [[ -e $latest || -e $best ]] && break
                if ((spin % 20000 == 0)); then
                    kill -0 $PID 2>/dev/null || break
                    [ "$(elapsed_ms "$start")" -gt 20000 ] && break
                fi
            done
        fi ;;
    random)
        wait_line "$out" '^run ' && ms_sleep $((RANDOM % 2000))
        seen=$(sql "SELECT coalesce(max(last_step), -1) FROM runs WHERE id = '$(sed -n 's/^run //p' "$out")'") ;;
    finish) wait_line "$err" "^epoch $((EPOCHS - 1))/$EPOCHS" && ms_sleep $((RANDOM % 80)) ;;
    esac
    kill -9 $PID 2>/dev/null
    killed_at=$EPOCHREALTIME
    wait $PID 2>/dev/null
    rc=$?
    id=$(sed -n 's/^run //p' "$out")
    if [ -z "$id" ] && [ "$(sql "SELECT count(*) FROM runs")" != "$before" ]; then
        id=$(sql "SELECT id FROM runs ORDER BY seq DESC LIMIT 1")   # recorded, not yet printed
    fi
    if [ "$phase" = checkpoint ] && [ -n "$id" ] && ls "$CHECKPOINTS/$id".*tmp >/dev/null 2>&1; then
        hit=" (mid-write: its .tmp left behind)"
        tmp_hits=$((tmp_hits + 1))
    fi

    problems=()
    integrity=$(sql "PRAGMA integrity_check")
    [ "$integrity" = ok ] || problems+=("integrity_check: $integrity")
    keys=$(sql "PRAGMA foreign_key_check")
    [ -z "$keys" ] || problems+=("foreign_key_check: $keys")
    outcome=""
    if [ -n "$id" ] && [ "$(sql "SELECT status FROM runs WHERE id = '$id'")" = finished ]; then
        # The finish was committed before the signal landed (or the process had exited).
        outcome="killed after the finish was committed (exit $rc)"
        finished_first=$((finished_first + 1))
        [ "$(sql "SELECT last_step FROM runs WHERE id = '$id'")" = "$TOTAL" ] ||
            problems+=("finished, but not at step $TOTAL")
        [ $rc -eq 137 ] || [ $rc -eq 0 ] || problems+=("exit status $rc")
    elif [ $rc -ne 137 ]; then
        problems+=("exit status $rc instead of the kill's 137: $(tail -3 "$err")")
    elif [ -z "$id" ]; then
        outcome="killed before the run was recorded"
        not_recorded=$((not_recorded + 1))
    else
        list=$("$CLI" runs list --db "$DB" --status interrupted 2>&1)
        grep -q "^$id" <<<"$list" || problems+=("not listed as interrupted: $list")
        read -r last updated <<<"$(sql -separator ' ' "SELECT last_step, updated_at FROM runs WHERE id = '$id'")"
        [ "$seen" -le "${last:-0}" ] || problems+=("committed step $seen seen before the kill, $last after")
        lost=$(awk -v k="$killed_at" -v u="$updated" 'BEGIN { printf "%.3f", k - u }')
        # Data loss only once points flow: before training nothing is produced.
        if [ "${last:-0}" -gt 0 ]; then
            awk -v l="$lost" -v m="$max_lost" 'BEGIN { exit !(l > m) }' && max_lost=$lost
            awk -v l="$lost" -v m="$MAX_LOST" 'BEGIN { exit !(l > m) }' && problems+=("last commit ${lost} s before the kill")
        fi
        resume=$("$CLI" runs resume "$id" --db "$DB" --quiet 2>&1)
        resume_rc=$?
        if [ $resume_rc -eq 0 ] && grep -q "^finished $TOTAL steps" <<<"$resume"; then
            outcome="interrupted at step $last, resumed to $TOTAL"
            resumed=$((resumed + 1))
            state=$(sql "SELECT r.status || ' ' || r.last_step || ' ' || s.last_step FROM runs r JOIN series s ON s.run = r.seq WHERE r.id = '$id' AND s.tag = 'train/loss'")
            [ "$state" = "finished $TOTAL $TOTAL" ] || problems+=("after the resume: $state")
            ls "$CHECKPOINTS/$id".*tmp >/dev/null 2>&1 && problems+=("a .tmp checkpoint left after the resume")
        elif grep -q "has no checkpoint to resume from" <<<"$resume" && [ ! -e "$CHECKPOINTS/$id.pt" ]; then
            outcome="interrupted at step $last before its first checkpoint; resume refuses: no checkpoint"
            no_checkpoint=$((no_checkpoint + 1))
        else
            problems+=("resume (exit $resume_rc): $resume")
        fi
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        passed[$phase]=$(( ${passed[$phase]:-0} + 1 ))
        printf '%3d %-10s ok    %s%s\n' "$i" "$phase" "$outcome" "$hit"
    else
        failures=$((failures + 1))
        printf '%3d %-10s FAIL  %s%s\n' "$i" "$phase" "$outcome" "$hit"
        printf '      %s\n' "${problems[@]}"
    fi
done

total_passed=$((N - failures))
echo
echo "kill soak: $total_passed/$N passed (seed $SEED)"
for phase in "${PHASES[@]}"; do
    printf '  %-10s %d/%d\n' "$phase" "${passed[$phase]:-0}" "${runs[$phase]:-0}"
done
echo "  outcomes: $resumed resumed to $TOTAL steps, $no_checkpoint refused (killed before the first checkpoint),"
echo "            $not_recorded killed before the run was recorded, $finished_first killed after the finish was committed"
echo "  checkpoint kills that left a .tmp (hit mid-write): $tmp_hits; longest time from last commit to kill: ${max_lost} s"
final=$(sql "PRAGMA integrity_check")
echo "  final integrity_check: $final"
[ $failures -eq 0 ] && [ "$final" = ok ]
