#!/bin/bash
# Screenshots kept in docs/images/: every plot kind and the report, on the sample logs
# (docs/images/lisa/) and on the real exports of ../shared/realworld in one project
# (docs/images/real/). Run from the repository root; needs chromium for the report's
# screenshot. Each image was looked at before it was committed.
set -euo pipefail
OUT=docs/images
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
REAL=${RDCOST_SHARED:-../shared}/realworld
KINDS=$(rdcost plot --list | awk 'NR>2 {print $1}')

export RDCOST_STORE=$TMP/lisa
rdcost -q ingest sample_logs/lisa/sacct.txt sample_logs/lisa/wandb_runs.csv --project lisa 2>/dev/null
mkdir -p $OUT/lisa $OUT/real
by() { [[ $1 == breakdown ]] && echo "--by user"; true; }
for k in $KINDS; do rdcost -q plot "$k" -p lisa -a paper $(by "$k") -o $OUT/lisa/$k.png 2>/dev/null; done
rdcost -q report -p lisa -a paper -o $TMP/lisa.html 2>/dev/null

export RDCOST_STORE=$TMP/real
HCS=State,JobID,ReqCPUS,ReqMem,ReqNodes,Constraints,Submit,Eligible,Start,Elapsed,Suspended,End,ExitCode,DerivedExitCode,AllocNodes,NCPUS,MaxDiskRead,MaxDiskWrite,MaxPages,MaxRSS,MaxVMSize,CPUTime,UserCPU,SystemCPU,TotalCPU
for f in $REAL/*.txt $REAL/*.json $REAL/*.csv; do
  case $(basename "$f") in
    hcs_sacct_p2_noheader_array.txt) extra=(--fields "$HCS") ;;
    hcs_sacct_p2_noheader_issue61_cancelled_by.txt) extra=(--fields "$HCS,Partition") ;;
    slurmdog_alpine_p2_noheader_14f.txt) extra=(--fields JobID,User,Group,State,Cluster,AllocCPUS,REQMEM,TotalCPU,Elapsed,MaxRSS,ExitCode,NNodes,NTasks,JobName) ;;
    plain_runs_epoch_times_json.csv) extra=(--map end_time=timestamp_utc) ;;
    *) extra=() ;;
  esac
  rdcost -q ingest "$f" --project real "${extra[@]}" 2>/dev/null
done
for k in $KINDS; do rdcost -q --anonymize plot "$k" -p real $(by "$k") -o $OUT/real/$k.png 2>/dev/null; done
rdcost -q --anonymize report -p real -o $TMP/real.html 2>/dev/null

if command -v chromium >/dev/null; then
  for name in lisa real; do
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,4000 \
      --screenshot=$OUT/$name/report.png "file://$TMP/$name.html" 2>/dev/null
  done
fi
ls -l $OUT/lisa $OUT/real
