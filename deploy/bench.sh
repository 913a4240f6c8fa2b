#!/usr/bin/env bash
# The performance harness (docs/benchmarks.md): builds the solution (Release) and runs one scenario, each on its own
# fresh hub or nodes, printing its figures as Markdown (--record appends them, with date and command, to
# docs/benchmarks.md). --scenario chooses (default end-to-end); the other arguments go to its command
# (`dotnet deploy/LocalHub/bin/Release/net10.0/FamiljecentralHub.LocalHub.dll <command> --help`):
#   end-to-end (bench)     S4/S5: referrals submitted, gated, received, fetched and acknowledged through the gateway at
#                          a sweep of rates, several runs each: latency, loss, CPU per process, memory
#                            deploy/bench.sh --rates 200,400 --runs 5 --seconds 15 --warm-up 60 --record
#                            deploy/bench.sh --refused 1 --rates 400             # S5: refused referrals alone
#                            deploy/bench.sh --baseline b9fa340 --rates 200,400  # that commit first, in the same run
#                            deploy/bench.sh --backlog consent,social-services   # S6: each stopped for a minute under load
#   gateway (bench-gateway)      S1: one request through the gateway and straight to the service's Kestrel
#   transport (bench-transport)  S2: MassTransit against RabbitMQ.Client on one quorum queue of a private node
#   ledger (bench-ledger)        ten million generated ledger entries verified, an altered one named; log extract by subject
#   search (bench-search)        the ops console's search on a million messages
# --baseline REF checks REF out into .hub/baseline (a detached worktree), builds it in Release and hands it to the
# end-to-end command. Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"

args=()
baseline=""
scenario=end-to-end
while (($#)); do
  case $1 in
    --baseline) baseline=${2:?--baseline takes a commit}; shift 2 ;;
    --scenario) scenario=${2:?--scenario takes a name}; shift 2 ;;
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
case $scenario in
  end-to-end) command=bench ;;
  gateway | transport | ledger | search) command=bench-$scenario ;;
  *) echo "bench.sh: --scenario is end-to-end, gateway, transport, ledger or search, not '$scenario'" >&2; exit 2 ;;
esac
[[ -z $baseline || $command == bench ]] || { echo "bench.sh: --baseline is for the end-to-end scenario" >&2; exit 2; }
localhub Release "$command" "${args[@]}"
