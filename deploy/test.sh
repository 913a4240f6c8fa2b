#!/usr/bin/env bash
# Builds the solution and runs every test project, on one of two paths (docs/testing.md):
#   containers  the fixtures start RabbitMQ and PostgreSQL from the hub's own images with Testcontainers, one pair per
#               hub; a container engine must answer: DOCKER_HOST when set, otherwise this script starts podman's API
#               on .hub/podman/podman.sock (installing podman with apt when missing) and builds the two images
#               (deploy/containers/build.sh nodes: unchanged ones come from podman's layer cache)
#   private     one private RabbitMQ node and one PostgreSQL cluster from Debian's packages are started for the whole
#               run (state in .hub/test-nodes, free ports) and handed to every fixture through the HUB_EXTERNAL_NODES
#               variables; each fixture takes its own virtual host, users and databases on them
# HUB_TEST_NODES=containers or =private chooses; unset, containers when an engine answers (DOCKER_HOST or the default
# socket), private otherwise. Tests that kill, freeze or cluster nodes take private nodes of their own on both paths.
# Whatever the run started is stopped on exit, however the run ends. Extra arguments go to dotnet test, e.g.
#   deploy/test.sh --filter "FullyQualifiedName~LocalHub"
# Exit code: the tests'. Run as root (re-executes with sudo otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_root "$@"
cd "$repo_root"

deploy/prerequisites.sh
dotnet build FamiljecentralHub.sln -c Debug --nologo --verbosity quiet

state=.hub/test-nodes
podman_dir=.hub/podman
# One value per run: the label on every container this run's fixtures start, so the clean-up below removes this run's
# leftovers (a test process killed before it disposed its fixtures) and never another run's.
export HUB_TEST_RUN="${HUB_TEST_RUN:-run-$(date +%s)-$$}"
podman_pid=""

# Answers when DOCKER_HOST (a unix socket) or the default socket has an engine behind it.
engine_answers() {
  local socket=/var/run/docker.sock
  if [[ -n ${DOCKER_HOST:-} ]]; then
    [[ $DOCKER_HOST == unix://* ]] || return 0   # tcp: Testcontainers itself says whether it answers
    socket=${DOCKER_HOST#unix://}
  fi
  [[ -S $socket ]] && curl -fsS --max-time 5 --unix-socket "$socket" http://engine/_ping >/dev/null 2>&1
}

nodes=${HUB_TEST_NODES:-auto}
case $nodes in
  auto) if engine_answers; then nodes=containers; else nodes=private; fi ;;
  containers | private) ;;
  *) echo "test.sh: HUB_TEST_NODES is containers, private or unset, not '$nodes'" >&2; exit 2 ;;
esac
export HUB_TEST_NODES=$nodes

stop_nodes() {
  if [[ $nodes == private ]]; then
    localhub Debug stop --state-dir "$state" >/dev/null 2>&1 || echo "test.sh: stopping the test nodes failed; see $state/hub-state.json" >&2
    return
  fi
  local left
  left=$(podman ps -aq --filter "label=familjecentralhub.test-run=$HUB_TEST_RUN" 2>/dev/null || true)
  if [[ -n $left ]]; then
    echo "test.sh: removing $(wc -w <<<"$left") container(s) this run's fixtures left" >&2
    podman rm -f $left >/dev/null 2>&1 || true
  fi
  if [[ -n $podman_pid ]]; then
    kill "$podman_pid" 2>/dev/null || true
    wait "$podman_pid" 2>/dev/null || true
  fi
}
trap stop_nodes EXIT
# 'exit' runs the EXIT trap, so an interrupted run also stops the nodes.
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $nodes == containers ]]; then
  source deploy/containers/podman-env.sh
  if [[ -z ${DOCKER_HOST:-} ]] && ! engine_answers; then
    # podman's Docker-compatible API for this run only, with the settings that work here (podman-env.sh).
    ensure_podman
    mkdir -p "$podman_dir"
    rm -f "$podman_dir/podman.sock"
    podman system service --time=0 "unix://$repo_root/$podman_dir/podman.sock" >"$podman_dir/service.log" 2>&1 &
    podman_pid=$!
    export DOCKER_HOST="unix://$repo_root/$podman_dir/podman.sock"
    for _ in $(seq 1 50); do engine_answers && break; sleep 0.2; done
    engine_answers || { echo "test.sh: podman's API did not answer on $DOCKER_HOST; see $podman_dir/service.log" >&2; exit 1; }
  fi
  engine_answers || { echo "test.sh: HUB_TEST_NODES=containers, but nothing answers on ${DOCKER_HOST:-/var/run/docker.sock}" >&2; exit 1; }
  # Ryuk's image comes from a registry these machines do not reach: the fixtures remove their containers themselves,
  # and stop_nodes what a killed process left. The host override keeps every connection on 127.0.0.1.
  export TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
  # As root, built (or found unchanged in podman's layer cache, in seconds) at every run: an image older than its entry
  # point would test what the repository no longer holds. Another user (whose engine root's build.sh does not fill)
  # gets them built when missing.
  if command -v podman >/dev/null 2>&1 && [[ -z ${HUB_TEST_RABBITMQ_IMAGE:-}${HUB_TEST_POSTGRES_IMAGE:-} ]] \
    && { [[ $EUID -eq 0 ]] || ! { podman image exists localhost/familjecentralhub/rabbitmq:dev \
      && podman image exists localhost/familjecentralhub/postgres:dev; }; }; then
    echo "test.sh: the hub's RabbitMQ and PostgreSQL images (deploy/containers/build.sh nodes) ..."
    deploy/containers/build.sh nodes >/dev/null
  fi
  echo "test.sh: container path: the fixtures start the hub's RabbitMQ and PostgreSQL images on $DOCKER_HOST." >&2
else
  exports="$(localhub Debug nodes --state-dir "$state")"
  eval "$exports"
  echo "test.sh: private path: the fixtures share the RabbitMQ node and PostgreSQL cluster in $state." >&2
fi

status=0
# The private path's log lies beside its nodes (which 'nodes' wipes at the next run); the container path's apart.
logs=$state
[[ $nodes == containers ]] && logs=.hub/test-containers
mkdir -p "$logs"
log="$logs/dotnet-test.log"
started=$SECONDS
# One test assembly at a time: the end-to-end and fault suites each run whole hubs, and side by side on a small
# machine they starve each other into timeouts that say nothing about the hub.
dotnet test FamiljecentralHub.sln --no-build -m:1 "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole run, summed over the test assemblies' own summaries.
awk -v nodes="$nodes" -v seconds=$((SECONDS - started)) '/(Passed|Failed)! +- +Failed:/ { gsub(/,/, ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) } }
     END { printf "%d passed, %d failed (%s path, dotnet test %d s)\n", p, f, nodes, seconds }' "$log"
exit "$status"
