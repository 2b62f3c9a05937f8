#!/usr/bin/env bash
# Regenerates prometheusrule.yaml from deploy/prometheus/alerts.yml: the
# header of the current file, then alerts.yml's groups indented under spec:.
set -euo pipefail
cd "$(dirname "$0")"
out=prometheusrule.yaml
{
  sed -n '1,/^spec:$/p' "$out"
  sed -n '/^groups:/,$p' ../../prometheus/alerts.yml | sed 's/^\(.\)/  \1/'
} >"$out.tmp"
mv "$out.tmp" "$out"
