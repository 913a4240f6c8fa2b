#!/usr/bin/env bash
# S4/S5 of docs/benchmarks.md: builds the solution (Release), starts a fresh hub on free ports with private nodes and
# runs referrals end to end through the gateway (submit, gate, inbox, fetch, acknowledge) at each rate of a sweep,
# several runs per rate, printing latency, loss, CPU per process and memory as Markdown. Arguments go to the bench
# command (`localhub Release bench --help`), e.g.
#   deploy/bench.sh --rates 200,400 --runs 5 --seconds 15 --warm-up 60 --record
#   deploy/bench.sh --refused 1 --rates 400            # S5: refused referrals alone
#   deploy/bench.sh --baseline b9fa340 --rates 200,400 # the same sweep on that commit first, in the same run
# --baseline REF checks REF out into .hub/baseline (a detached worktree), builds it in Release and hands it to the
# command. Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

args=()
baseline=""
while (($#)); do
  case $1 in
    --baseline) baseline=${2:?--baseline takes a commit}; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

"$repo_root/deploy/prerequisites.sh"
if [[ -n $baseline ]]; then
  tree="$repo_root/.hub/baseline"
  commit=$(git -C "$repo_root" rev-parse --verify "$baseline^{commit}")
  if [[ "$(git -C "$tree" rev-parse HEAD 2>/dev/null || true)" != "$commit" ]]; then
    git -C "$repo_root" worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
    git -C "$repo_root" worktree prune
    git -C "$repo_root" worktree add --detach "$tree" "$commit" >/dev/null
  fi
  echo "Building the baseline $baseline ($commit) in $tree ..."
  dotnet build "$tree/FamiljecentralHub.sln" -c Release --nologo --verbosity quiet
  args+=(--baseline-root "$tree" --baseline-label "$(git -C "$repo_root" rev-parse --short "$commit")" \
    --label "$(git -C "$repo_root" rev-parse --short HEAD)$(git -C "$repo_root" diff --quiet HEAD -- . ':!docs' || echo '+changes')")
fi
echo "Building ..."
dotnet build "$repo_root/FamiljecentralHub.sln" -c Release --nologo --verbosity quiet
localhub Release bench "${args[@]}"
