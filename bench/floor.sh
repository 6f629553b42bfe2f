#!/bin/sh
# The raw git floor nightshift is compared with: per task, the git operations a task needs and nothing else.
#   floor.sh fresh <repo> <worktree-root> <base> <id>...   a new worktree per task, removed afterwards
#   floor.sh reuse <repo> <worktree-root> <base> <id>...   one worktree re-pointed per task (reset + clean)
# Each task writes one file, commits it on $FLOOR_PREFIX/<id> (default nightshift/<id>) and pushes that branch to origin.
set -eu
prefix=${FLOOR_PREFIX:-nightshift}
mode=$1 repo=$2 root=$3 base=$4
shift 4
reused="$root/reused"
if [ "$mode" = reuse ] && [ ! -d "$reused" ]; then
  git -C "$repo" worktree add -q --detach "$reused" "$base"
fi
for id in "$@"; do
  case $mode in
    fresh)
      wt="$root/$id"
      git -C "$repo" worktree add -q -B "$prefix/$id" "$wt" "$base"
      ;;
    reuse)
      wt=$reused
      git -C "$wt" checkout -q -B "$prefix/$id" "$base"
      git -C "$wt" reset -q --hard
      git -C "$wt" clean -q -fdx
      ;;
    *) echo "floor.sh: unknown mode $mode" >&2; exit 2 ;;
  esac
  echo "$id" > "$wt/bench-$id.txt"
  git -C "$wt" add -A
  git -C "$wt" commit -q -m "bench $id" -m "Nightshift-Task: $id"
  git -C "$wt" push -q origin "$prefix/$id"
  if [ "$mode" = fresh ]; then git -C "$repo" worktree remove "$wt"; fi
done
