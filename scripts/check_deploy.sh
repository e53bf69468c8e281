#!/usr/bin/env bash
# Checks the deployment files without a cluster or Docker:
#   1. every Kubernetes manifest under deploy/kubernetes validates, strictly (unknown
#      fields are errors), against the OpenAPI schemas of one fixed Kubernetes release
#      (kubernetes-validate from PyPI, installed into .tools/deploy-venv on first use);
#   2. the parts the deployment relies on are still there: gRPC liveness/readiness/startup
#      probes on the health port, a headless Service, lists mounted as a directory, a
#      drain that fits the termination grace period, auth on (tokens from a Secret) with
#      reflection behind it, /metrics and health on ports the Service leaves out,
#      NetworkPolicies for the server and for Redis, Redis with a password,
#      kustomizations that list every manifest, a PodMonitor on the metrics port and a
#      PrometheusRule equal to deploy/prometheus/leadcheck-rules.yaml, and a multi-stage
#      Dockerfile whose image runs as a non-root user.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Kubernetes release the manifests are validated against, and the validator release
# that carries its schemas (kubernetes-validate 1.37.0 ships 1.25 to 1.37).
K8S_VERSION=1.32.0
VALIDATOR=kubernetes-validate==1.37.0
VENV=.tools/deploy-venv

if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
    mkdir -p .tools
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$VALIDATOR"
fi

# kustomization.yaml files are kustomize's input, not Kubernetes objects: the validator
# has no schema for them (it only warns), so they are left out here and checked below.
mapfile -t manifests < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort)
if [ "${#manifests[@]}" -eq 0 ]; then
    echo "check_deploy: no manifests under deploy/kubernetes" >&2
    exit 1
fi
# monitoring/ holds the Prometheus Operator's kinds (PodMonitor, PrometheusRule): CRDs the
# validator has no schema for. The structure check below covers them.
mapfile -t core < <(printf '%s\n' "${manifests[@]}" | grep -v '^deploy/kubernetes/monitoring/')

echo "== kubernetes-validate --strict, Kubernetes $K8S_VERSION"
status=0
output=$("$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "${core[@]}" 2>&1) || status=$?
echo "$output"
# A kind or apiVersion it has no schema for (a misspelt kind) is only a warning to it: an
# error here.
if [ "$status" -ne 0 ] || grep -q '^WARN' <<<"$output"; then
    echo "check_deploy: manifest validation failed" >&2
    exit 1
fi

echo "== structure"
"$VENV/bin/python" - "${manifests[@]}" <<'PY'
import os
import re
import sys

import yaml

errors = []


def fail(message):
    errors.append(message)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


# Every manifest holds at least one object, and each object has its kind and name (an
# empty file would otherwise pass the schema check unseen).
objects = {}
for path in sys.argv[1:]:
    docs = load(path)
    if not docs:
        fail(f"{path}: no Kubernetes object in it")
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            fail(f"{path}: an object without apiVersion or kind")
            continue
        name = (doc.get("metadata") or {}).get("name")
        objects[(doc["kind"], name)] = (path, doc)


def get(kind, name):
    found = objects.get((kind, name))
    if found is None:
        fail(f"no {kind} {name!r} under deploy/kubernetes")
        return None
    return found[1]


def flags(container):
    """The container's `--flag value` arguments, by flag."""
    args = [str(a) for a in container.get("args") or []]
    return {a: args[i + 1] for i, a in enumerate(args[:-1]) if a.startswith("--")}


def port_of(address):
    """The port of an `IP:PORT` address, as an int; None when there is none."""
    try:
        return int(str(address).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def selects(selector, labels):
    """Whether a matchLabels selector selects pods with these labels (and is not empty)."""
    wanted = (selector or {}).get("matchLabels") or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


# The server's duration syntax (humantime), as far as manifests use it: `5s`, `250ms`,
# `1m 30s`, or a bare 0.
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(text):
    text = str(text).strip()
    if text == "0":
        return 0
    parts = re.findall(r"(\d+)\s*(ms|s|m|h)\s*", text)
    if not parts or "".join(re.findall(r"\d+\s*(?:ms|s|m|h)\s*", text)) != text:
        fail(f"Deployment leadcheck: `{text}` is not a duration like 5s or 250ms")
        return 0
    return sum(int(n) * DURATION_UNITS[unit] for n, unit in parts)


def env_seconds(container, name, default):
    for var in container.get("env") or []:
        if var.get("name") == name and "value" in var:
            return seconds(var["value"])
    return default


# Names the server reads only with a deprecation warning (docs/configuration.md, "Old
# names"): the manifests use the current ones.
OLD_ENV = re.compile(r"^LEADCHECK_[A-Z_]+_(MS|SECS)$")


deployment = get("Deployment", "leadcheck")
if deployment:
    pod = deployment["spec"]["template"]["spec"]
    containers = [c for c in pod.get("containers", []) if c.get("name") == "leadcheck"]
    if not containers:
        fail("Deployment leadcheck: no container named leadcheck")
    pod_labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    served_ports = {}
    for c in containers:
        args = flags(c)
        listen = port_of(args.get("--listen"))
        health = port_of(args.get("--health-listen"))
        metrics = port_of(args.get("--metrics-listen"))
        served_ports = {"listen": listen, "health": health, "metrics": metrics}
        if listen != 50051:
            fail("Deployment leadcheck: --listen is not on port 50051")
        # Probes on a health port of their own: outside the connection cap and auth of
        # the public port, so a client holding its connections gets no pod restarted.
        if health is None or health == listen:
            fail("Deployment leadcheck: no --health-listen on a port other than --listen")
        if metrics is None or metrics in (listen, health):
            fail("Deployment leadcheck: --metrics-listen is not on a port of its own")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            grpc = (c.get(probe) or {}).get("grpc")
            if not grpc or grpc.get("port") != health:
                fail(f"Deployment leadcheck: {probe} is not a grpc probe on the health port")
        # Auth on: the tokens file is a mounted Secret, required, and reflection needs a
        # token too.
        tokens = args.get("--auth-tokens-file")
        secret_volumes = {
            v["name"]: v["secret"]
            for v in pod.get("volumes") or []
            if v.get("secret")
        }
        mounted = [
            m
            for m in c.get("volumeMounts") or []
            if m.get("name") in secret_volumes
            and tokens
            and tokens.startswith(m["mountPath"].rstrip("/") + "/")
        ]
        if not tokens or not mounted:
            fail("Deployment leadcheck: --auth-tokens-file is not a file of a mounted Secret")
        for m in mounted:
            if secret_volumes[m["name"]].get("optional"):
                fail("Deployment leadcheck: the tokens Secret is optional: pods would serve without auth")
        if args.get("--reflection") not in ("auth", "off"):
            fail("Deployment leadcheck: reflection is open although auth is on (--reflection auth)")
        readiness = ((c.get("readinessProbe") or {}).get("grpc") or {})
        if readiness.get("service", "") != "":
            fail('Deployment leadcheck: the readiness probe must ask for the overall service ""')
        sc = c.get("securityContext") or {}
        pod_sc = pod.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            fail("Deployment leadcheck: runAsNonRoot is not set")
        if sc.get("readOnlyRootFilesystem") is not True:
            fail("Deployment leadcheck: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail("Deployment leadcheck: allowPrivilegeEscalation is not false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            fail("Deployment leadcheck: capabilities are not dropped (ALL)")
        # Lists mounted as a directory: a subPath mount is never updated by the kubelet,
        # so a ConfigMap edit would not reach the server's reload.
        list_volumes = {
            v["name"]
            for v in pod.get("volumes") or []
            if (v.get("configMap") or {}).get("name") == "leadcheck-lists"
        }
        mounts = [m for m in c.get("volumeMounts") or [] if m.get("name") in list_volumes]
        if not mounts:
            fail("Deployment leadcheck: the ConfigMap leadcheck-lists is not mounted")
        for m in mounts:
            if "subPath" in m or "subPathExpr" in m:
                fail("Deployment leadcheck: leadcheck-lists is mounted with subPath")
        # The drain (shutdown delay + grace) must end before the kubelet's SIGKILL.
        for var in c.get("env") or []:
            if OLD_ENV.match(var.get("name", "")):
                fail(f"Deployment leadcheck: {var['name']} is an old name (docs/configuration.md)")
        drain_secs = env_seconds(c, "LEADCHECK_SHUTDOWN_DELAY", 0) + env_seconds(
            c, "LEADCHECK_SHUTDOWN_GRACE", 10
        )
        if pod.get("terminationGracePeriodSeconds", 30) <= drain_secs:
            fail(
                "Deployment leadcheck: terminationGracePeriodSeconds is not above the "
                f"shutdown delay + grace ({drain_secs:g} s)"
            )

service = get("Service", "leadcheck")
if service:
    spec = service["spec"]
    if spec.get("clusterIP") != "None":
        fail("Service leadcheck: not headless (clusterIP: None)")
    if not any(p.get("port") == 50051 and p.get("name") == "grpc" for p in spec.get("ports", [])):
        fail("Service leadcheck: no port 50051 named grpc")
    # Clients reach the gRPC port alone: /metrics and the health port stay off the Service.
    if deployment:
        names = {
            p.get("containerPort"): p.get("name")
            for c in deployment["spec"]["template"]["spec"].get("containers", [])
            for p in c.get("ports") or []
        }
        for what in ("metrics", "health"):
            port = served_ports.get(what)
            for p in spec.get("ports", []):
                if port is not None and (p.get("targetPort") in (port, names.get(port)) or p.get("port") == port):
                    fail(f"Service leadcheck: exposes the {what} port {port}")

# NetworkPolicies: the server's admits the gRPC port from chosen pods and /metrics from
# a chosen namespace, never from everywhere; Redis's admits the server pods alone and
# lets nothing out.
policy = get("NetworkPolicy", "leadcheck")
if policy and deployment:
    spec = policy["spec"]
    if not selects(spec.get("podSelector"), pod_labels):
        fail("NetworkPolicy leadcheck: does not select the leadcheck pods")
    if "Ingress" not in (spec.get("policyTypes") or []):
        fail("NetworkPolicy leadcheck: no Ingress policy type")
    allowed = {}
    for rule in spec.get("ingress") or []:
        sources = rule.get("from") or []
        for p in rule.get("ports") or [{"port": None}]:
            allowed.setdefault(p.get("port"), []).append(sources)
    if None in allowed:
        fail("NetworkPolicy leadcheck: a rule admits every port")
    if "grpc" not in allowed:
        fail("NetworkPolicy leadcheck: the grpc port is not admitted")
    # Each source names whom it admits: pods or namespaces by label, not every one.
    def chosen(selector):
        return bool((selector or {}).get("matchLabels") or (selector or {}).get("matchExpressions"))

    for port, rules in allowed.items():
        for sources in rules:
            if not sources or any(
                not (chosen(src.get("podSelector")) or chosen(src.get("namespaceSelector")))
                for src in sources
            ):
                fail(f"NetworkPolicy leadcheck: port {port} is open to every pod or namespace")
    if "health" in allowed or served_ports.get("health") in allowed:
        fail("NetworkPolicy leadcheck: the health port is admitted from pods (probes come from the node)")

redis = get("Deployment", "redis")
redis_policy = get("NetworkPolicy", "redis")
if redis and redis_policy and deployment:
    redis_labels = redis["spec"]["template"]["metadata"].get("labels") or {}
    spec = redis_policy["spec"]
    if not selects(spec.get("podSelector"), redis_labels):
        fail("NetworkPolicy redis: does not select the redis pods")
    if sorted(spec.get("policyTypes") or []) != ["Egress", "Ingress"] or spec.get("egress"):
        fail("NetworkPolicy redis: egress is not closed (policyTypes Ingress and Egress, no egress rule)")
    rules = spec.get("ingress") or []
    if not rules or any(
        not rule.get("from")
        or any(not selects(src.get("podSelector"), pod_labels) or "namespaceSelector" in src for src in rule["from"])
        for rule in rules
    ):
        fail("NetworkPolicy redis: admits other pods than the leadcheck server's")
    # A password: requirepass from an environment variable read from a Secret.
    for c in redis["spec"]["template"]["spec"].get("containers", []):
        password = flags(c).get("--requirepass", "")
        match = re.fullmatch(r"\$\((\w+)\)", password)
        secret_env = {
            e["name"]: (e.get("valueFrom") or {}).get("secretKeyRef")
            for e in c.get("env") or []
        }
        if not match or not secret_env.get(match.group(1)):
            fail("Deployment redis: no --requirepass $(VAR) with VAR from a Secret")
        elif secret_env[match.group(1)].get("optional"):
            fail("Deployment redis: the password Secret is optional: Redis would start without one")

# No password in git: the Secrets holding them are created out of git.
for kind, name in objects:
    if kind == "Secret":
        fail(f"Secret {name}: a Secret in the manifests; create it out of git (see deploy/kubernetes/README.md)")

# Monitoring (Prometheus Operator): a PodMonitor on the pods' metrics port, and a
# PrometheusRule holding exactly the rules of deploy/prometheus/leadcheck-rules.yaml.
pod_monitor = get("PodMonitor", "leadcheck")
if pod_monitor and deployment:
    spec = pod_monitor.get("spec") or {}
    if not selects(spec.get("selector"), pod_labels):
        fail("PodMonitor leadcheck: does not select the leadcheck pods")
    port_names = {
        p.get("name")
        for c in deployment["spec"]["template"]["spec"].get("containers", [])
        for p in c.get("ports") or []
        if p.get("containerPort") == served_ports.get("metrics")
    }
    endpoints = spec.get("podMetricsEndpoints") or []
    if not endpoints or any(e.get("port") not in port_names for e in endpoints):
        fail("PodMonitor leadcheck: an endpoint is not the container's metrics port")
rule = get("PrometheusRule", "leadcheck")
if rule:
    with open("deploy/prometheus/leadcheck-rules.yaml", encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    if rule.get("spec") != rules:
        fail("PrometheusRule leadcheck: spec differs from deploy/prometheus/leadcheck-rules.yaml")
if any("monitoring" in entry for entry in (load("deploy/kubernetes/kustomization.yaml")[0].get("resources") or [])):
    fail("deploy/kubernetes/kustomization.yaml: includes the optional monitoring/ (it needs the Operator's CRDs)")

get("PodDisruptionBudget", "leadcheck")
get("ConfigMap", "leadcheck-lists")

# Each kustomization lists every manifest of its directory, and only existing files; the
# main one leaves the optional Redis out.
for root, _, files in os.walk("deploy/kubernetes"):
    if "kustomization.yaml" not in files:
        fail(f"{root}: no kustomization.yaml")
        continue
    kustomization = load(os.path.join(root, "kustomization.yaml"))[0]
    listed = kustomization.get("resources") or []
    for entry in listed:
        if not os.path.exists(os.path.join(root, entry)):
            fail(f"{root}/kustomization.yaml: {entry} does not exist")
    for name in files:
        if name.endswith(".yaml") and name != "kustomization.yaml" and name not in listed:
            fail(f"{root}/kustomization.yaml: {name} is not listed in resources")
    if root == "deploy/kubernetes" and any("redis" in entry for entry in listed):
        fail("deploy/kubernetes/kustomization.yaml: includes the optional redis/")

# The Dockerfile: a build stage and a runtime stage that copies from it, and a runtime
# user that is not root.
with open("Dockerfile", encoding="utf-8") as f:
    lines = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
stages = [i for i, line in enumerate(lines) if re.match(r"(?i)FROM\s", line)]
if len(stages) < 2:
    fail("Dockerfile: not multi-stage (fewer than two FROM)")
else:
    final = lines[stages[-1]:]
    if not any(re.match(r"(?i)COPY\s+--from=", line) for line in final):
        fail("Dockerfile: the final stage copies nothing from a build stage")
    users = [line.split(None, 1)[1] for line in final if re.match(r"(?i)USER\s", line)]
    if not users:
        fail("Dockerfile: the final stage sets no USER")
    elif users[-1].split(":")[0] in ("root", "0"):
        fail(f"Dockerfile: the final stage runs as {users[-1]}")

if errors:
    for e in errors:
        print(f"FAIL {e}", file=sys.stderr)
    sys.exit(1)
print(f"structure OK: {len(objects)} objects, probes on the health port, headless Service, "
      "lists mount, auth from a Secret, metrics and health off the Service, NetworkPolicies, "
      "Redis password, kustomizations, multi-stage non-root Dockerfile")
PY
echo "check_deploy: OK"
