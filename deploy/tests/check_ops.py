#!/usr/bin/python3
"""Operational checks of monoroute's deploy files (no Docker engine or cluster needed).

Hardening: every compose service and Kubernetes container runs as a non-root user with a
read-only root filesystem, all capabilities dropped and no privilege escalation, with a
healthcheck (compose) or probes and resources (Kubernetes); the images' USER is numeric and
non-root. Monitoring: the alert rules pass `promtool check rules` and cover dropped events,
MaxVio, failed jobs, the recorder's disk and a service down; the three copies of the rules
(compose, the Kubernetes ConfigMap, the PrometheusRule) and the two of the Grafana dashboard are
identical; `kubectl kustomize` renders deploy/k8s and deploy/k8s/monitoring (skipped without
kubectl).
Run: /usr/bin/python3 deploy/tests/check_ops.py   (registered with ctest as deploy_ops)
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_deploy import DEPLOY, METRICS, REPO, load_all, promtool, read  # noqa: E402

RULES = os.path.join(DEPLOY, "prometheus", "rules", "monoroute.rules.yml")
K8S = os.path.join(DEPLOY, "k8s")


def k8s_docs(directory=K8S):
    docs = []
    for f in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        if os.path.basename(f) != "kustomization.yaml":
            docs += load_all(f)
    return docs


class ComposeHardening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.services = load_all(os.path.join(REPO, "docker-compose.yml"))[0]["services"]

    def test_every_service_is_hardened_and_has_a_healthcheck(self):
        self.assertEqual(set(self.services),
                         {"recorder", "analysis", "trainer", "prometheus", "grafana"})
        for name, svc in self.services.items():
            with self.subTest(service=name):
                user = str(svc.get("user", ""))
                self.assertRegex(user, r"^[1-9][0-9]*(:[0-9]+)?$", "numeric non-root user")
                self.assertIs(svc.get("read_only"), True)
                self.assertEqual(svc.get("cap_drop"), ["ALL"])
                self.assertIn("no-new-privileges:true", svc.get("security_opt", []))
                self.assertTrue(any(t.startswith("/tmp") for t in svc.get("tmpfs", [])))
                hc = svc.get("healthcheck", {})
                self.assertEqual(hc.get("test", [None])[0], "CMD")
                self.assertTrue(hc.get("interval") and hc.get("retries"))

    def test_prometheus_loads_the_rules(self):
        prom = self.services["prometheus"]
        self.assertIn("./deploy/prometheus/rules:/etc/prometheus/rules:ro", prom["volumes"])
        cfg = load_all(os.path.join(DEPLOY, "prometheus", "prometheus.yml"))[0]
        self.assertEqual(cfg["rule_files"], ["rules/*.yml"])
        self.assertEqual(self.services["grafana"]["depends_on"],
                         {"prometheus": {"condition": "service_healthy"}})


class ImageUsers(unittest.TestCase):
    def test_images_run_as_numeric_non_root(self):
        for name in ("Dockerfile", "Dockerfile.cuda"):
            text = read(os.path.join(DEPLOY, "docker", name))
            users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
            with self.subTest(image=name):
                self.assertEqual(users, ["10001:10001"])
                self.assertIn("--uid 10001", text)


class KubernetesHardening(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = k8s_docs()
        cls.workloads = [d for d in cls.docs if d["kind"] in ("Deployment", "StatefulSet")]

    def test_every_workload_is_present(self):
        self.assertEqual({w["metadata"]["name"] for w in self.workloads},
                         {"recorder", "analysis", "trainer", "prometheus", "grafana"})

    def test_pods_and_containers_are_hardened(self):
        for w in self.workloads:
            spec = w["spec"]["template"]["spec"]
            pod = spec["securityContext"]
            with self.subTest(workload=w["metadata"]["name"]):
                self.assertIs(pod["runAsNonRoot"], True)
                self.assertGreater(pod["runAsUser"], 0)
                self.assertEqual(pod["seccompProfile"], {"type": "RuntimeDefault"})
                mounts_tmp = False
                for c in spec["containers"]:
                    sc = c["securityContext"]
                    self.assertIs(sc["allowPrivilegeEscalation"], False)
                    self.assertIs(sc["readOnlyRootFilesystem"], True)
                    self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
                    self.assertIn("memory", c["resources"]["limits"])
                    self.assertIn("cpu", c["resources"]["requests"])
                    self.assertIn("readinessProbe", c)
                    self.assertIn("livenessProbe", c)
                    mounts_tmp |= any(m["mountPath"] == "/tmp" for m in c["volumeMounts"])
                if w["metadata"]["name"] in ("recorder", "analysis", "trainer", "grafana"):
                    self.assertTrue(mounts_tmp, "a writable /tmp on a read-only root")

    def test_prometheus_has_probes_resources_and_a_volume(self):
        prom = next(w for w in self.workloads if w["metadata"]["name"] == "prometheus")
        spec = prom["spec"]["template"]["spec"]
        c = spec["containers"][0]
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/-/ready")
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/-/healthy")
        tsdb = next(m for m in c["volumeMounts"] if m["mountPath"] == "/prometheus")
        vol = next(v for v in spec["volumes"] if v["name"] == tsdb["name"])
        claims = {d["metadata"]["name"] for d in self.docs if d["kind"] == "PersistentVolumeClaim"}
        self.assertIn(vol["persistentVolumeClaim"]["claimName"], claims)
        cfg = next(v for v in spec["volumes"] if v["name"] == "config")
        self.assertIn({"key": "monoroute.rules.yml", "path": "rules/monoroute.rules.yml"},
                      cfg["configMap"]["items"])

    def test_grafana_dashboard_copy_is_identical(self):
        self.assertEqual(read(os.path.join(K8S, "grafana-dashboard.json")),
                         read(os.path.join(DEPLOY, "grafana", "dashboards", "monoroute.json")))
        prov = yaml.safe_load(next(d for d in self.docs if d["metadata"]["name"] ==
                                   "grafana-provisioning")["data"]["datasources.yml"])
        compose_ds = load_all(os.path.join(DEPLOY, "grafana", "provisioning", "datasources",
                                           "prometheus.yml"))[0]
        self.assertEqual(prov["datasources"][0]["uid"], compose_ds["datasources"][0]["uid"])


class AlertRules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = load_all(RULES)[0]
        cm = next(d for d in k8s_docs() if d["metadata"]["name"] == "monoroute-config")
        cls.configmap_rules = yaml.safe_load(cm["data"]["monoroute.rules.yml"])
        cls.operator = {d["kind"]: d for d in k8s_docs(os.path.join(K8S, "monitoring"))}

    def test_promtool_accepts_every_copy(self):
        rc, out = promtool(RULES, "rules")
        self.assertEqual(rc, 0, out)
        for name, groups in (("configmap", self.configmap_rules),
                             ("PrometheusRule", self.operator["PrometheusRule"]["spec"])):
            with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
                yaml.safe_dump(groups, f)
                f.flush()
                rc, out = promtool(f.name, "rules")
            self.assertEqual(rc, 0, f"{name}: {out}")

    def test_the_copies_are_identical(self):
        self.assertEqual(self.configmap_rules, self.rules)
        self.assertEqual(self.operator["PrometheusRule"]["spec"], self.rules)

    def test_alerts_cover_the_failure_modes_with_known_metrics(self):
        rules = {r["alert"]: r for g in self.rules["groups"] for r in g["rules"]}
        want = {"MonorouteServiceDown": "up{", "MonorouteEventsDropped": "events_dropped_total",
                "MonorouteLoadImbalance": "load_max_violation",
                "MonorouteJobFailed": 'state="FAILED"',
                "MonorouteRecorderDiskHigh": "db_size_bytes"}
        for alert, needle in want.items():
            self.assertIn(needle, rules[alert]["expr"], alert)
        for alert, r in rules.items():
            for m in re.findall(r"monoroute_[a-z_]+", r["expr"]):
                self.assertIn(m, METRICS, f"{alert}: unknown metric {m}")
            self.assertIn(r["labels"]["severity"], ("warning", "critical"))
            self.assertTrue(r["annotations"]["summary"])

    def test_service_monitor_selects_the_three_services(self):
        sm = self.operator["ServiceMonitor"]
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], "metrics")
        names = next(e["values"] for e in sm["spec"]["selector"]["matchExpressions"]
                     if e["key"] == "app.kubernetes.io/name")
        services = {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == "Service"}
        for n in names:
            self.assertIn("metrics", [p["name"] for p in services[n]["spec"]["ports"]], n)


class Render(unittest.TestCase):
    def test_kustomize_renders(self):
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise unittest.SkipTest("needs kubectl (kustomize built in): absent")
        for d in (K8S, os.path.join(K8S, "monitoring")):
            r = subprocess.run([kubectl, "kustomize", d], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            docs = [x for x in yaml.safe_load_all(r.stdout) if x]
            self.assertTrue(docs)
            if d == K8S:
                cm = [x for x in docs if x["kind"] == "ConfigMap" and
                      x["metadata"]["name"].startswith("grafana-dashboards")]
                self.assertEqual(len(cm), 1)
                graf = next(x for x in docs if x["kind"] == "Deployment" and
                            x["metadata"]["name"] == "grafana")
                vols = {v["name"]: v for v in graf["spec"]["template"]["spec"]["volumes"]}
                self.assertEqual(vols["dashboards"]["configMap"]["name"],
                                 cm[0]["metadata"]["name"])


if __name__ == "__main__":
    unittest.main(verbosity=1)
