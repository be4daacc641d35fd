#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer harnesses of fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) in build-fuzz/ and runs each for
# FUZZ_SECONDS (default 60) over its seed corpus (fuzz/corpus/<name>/, read
# only: new inputs go to build-fuzz/fuzz-out/<name>/corpus/) with its
# dictionary (fuzz/dict/<name>.dict). FUZZ_ONLY="toml url" runs only those
# harnesses. Two lines of a harness's opening comment are read here:
# "fuzz-max-len: N", its longest input (libFuzzer's -max_len; 4096 when
# absent), and "fuzz-options: -flag=value ...", more libFuzzer options for
# it, given after the ones here so that they win. Prints a table of
# executions per harness and exits non-zero if any harness failed, naming
# the input that made it fail (copy it into fuzz/corpus/<name>/crash-<what>
# to keep it).
set -uo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-60}
ONLY=${FUZZ_ONLY:-}
DIR=${FUZZ_BUILD:-build-fuzz}
JOBS=$(nproc)

if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (scripts/deps.sh installs it)" >&2
  exit 1
fi
if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]] || ((SECONDS_EACH < 1)); then
  echo "fuzz: FUZZ_SECONDS must be a positive number of seconds" >&2
  exit 1
fi

names=()
for src in fuzz/fuzz_*.c; do
  [[ -e $src ]] || continue
  n=${src#fuzz/fuzz_}
  n=${n%.c}
  if [[ -n $ONLY ]] && ! [[ " ${ONLY//,/ } " == *" $n "* ]]; then
    continue
  fi
  names+=("$n")
done
if ((${#names[@]} == 0)); then
  echo "fuzz: no harness matches FUZZ_ONLY='$ONLY'" >&2
  exit 1
fi

echo "=== fuzz: configure and build ($DIR) ==="
if ! CC=clang cmake -S . -B "$DIR" -DCMAKE_C_COMPILER=clang \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROSTER_BUILD_FUZZ=ON \
      -DROSTER_BUILD_TESTS=OFF -DROSTER_BUILD_BENCH=OFF \
      -DROSTER_BUILD_EXAMPLES=OFF -DROSTER_BUILD_TOOLS=OFF \
      >"$DIR.configure.log" 2>&1; then
  cat "$DIR.configure.log"
  exit 1
fi
if ! cmake --build "$DIR" -j "$JOBS" --target fuzz_all >"$DIR.build.log" 2>&1; then
  tail -n 60 "$DIR.build.log"
  exit 1
fi

status=0
rows=()
failures=()
for n in "${names[@]}"; do
  bin="$DIR/fuzz/fuzz_$n"
  if [[ ! -x $bin ]]; then
    rows+=("$(printf '%-16s %8s %14s %10s %8s  %s' "$n" - - - - "not built")")
    continue
  fi
  maxlen=$(sed -n 's/.*fuzz-max-len: *\([0-9][0-9]*\).*/\1/p' "fuzz/fuzz_$n.c" | head -n1)
  maxlen=${maxlen:-4096}
  read -ra extra <<<"$(sed -n 's/.*fuzz-options://p' "fuzz/fuzz_$n.c" | tr '\n' ' ')"
  bad=""
  for o in "${extra[@]}"; do
    [[ $o =~ ^-[a-z_]+=[^[:space:]]+$ ]] || bad=$o
  done
  if [[ -n $bad ]]; then
    echo "fuzz: fuzz/fuzz_$n.c: fuzz-options: '$bad' is not -flag=value" >&2
    status=1
    failures+=("$n")
    rows+=("$(printf '%-16s %8s %14s %10s %8s  %s' "$n" - - - - \
      "FAILED: bad fuzz-options '$bad'")")
    continue
  fi
  out="$DIR/fuzz-out/$n"
  rm -rf "$out"
  mkdir -p "$out/corpus"
  seeds="fuzz/corpus/$n"
  [[ -d $seeds ]] || seeds=""
  args=(-max_total_time="$SECONDS_EACH" -print_final_stats=1
        -max_len="$maxlen" -timeout=25 -rss_limit_mb=2048
        -artifact_prefix="$out/")
  [[ -f fuzz/dict/$n.dict ]] && args+=(-dict="fuzz/dict/$n.dict")
  args+=("${extra[@]}")
  echo "=== fuzz: $n (${SECONDS_EACH}s, max_len $maxlen${extra[*]:+, ${extra[*]}}) ==="
  "$bin" "${args[@]}" "$out/corpus" ${seeds:+"$seeds"} >"$out/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log" | tail -n1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$out/log" | tail -n1)
  result=ok
  if ((rc != 0)); then
    status=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out/log" | tail -n1)
    result="FAILED: ${artifact:-see $out/log}"
    failures+=("$n")
    grep -E 'property failed|FUZZ_CHECK|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|^input|SUMMARY' \
      "$out/log" | head -n 20
    echo "fuzz: $n failed; log: $out/log; input: ${artifact:-none written}"
  fi
  rows+=("$(printf '%-16s %8s %14s %10s %8s  %s' "$n" "${SECONDS_EACH}s" \
    "${execs:-?}" "${rate:-?}" "${added:-?}" "$result")")
done

echo
echo "=== fuzz: summary ==="
printf '%-16s %8s %14s %10s %8s  %s\n' harness time executions exec/s new result
printf '%s\n' "${rows[@]}"
if ((status != 0)); then
  echo "fuzz: failed: ${failures[*]}" >&2
fi
exit $status
