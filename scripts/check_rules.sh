#!/usr/bin/env bash
# Checks the Prometheus alert rules: `promtool check rules` (syntax, PromQL, templates)
# and `promtool test rules` (each alert fires on synthetic series of a namespace or pod in
# trouble and stays silent for a healthy one). promtool comes from Debian's prometheus
# package, installed on first use. scripts/check_deploy.sh holds the PrometheusRule of
# deploy/kubernetes/monitoring equal to these rules.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${PROMTOOL:-}" ]; then
    promtool="$PROMTOOL"
elif command -v promtool >/dev/null 2>&1; then
    promtool="$(command -v promtool)"
else
    echo "installing promtool (Debian package prometheus)" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
        { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
    promtool="$(command -v promtool)"
fi

"$promtool" check rules deploy/prometheus/leadcheck-rules.yaml
# Relative to the test file: its rule_files entry names the rules beside it.
(cd deploy/prometheus && "$promtool" test rules leadcheck-rules.test.yaml)
echo "check_rules: OK"
