#!/usr/bin/python3
"""Static checks of monoroute's deploy files (no Docker engine or cluster needed).

Every YAML parses; docker-compose.yml's services, ports, volumes and Prometheus targets agree
with each other and with the agreed service flags; `promtool check config` accepts both
Prometheus configs; the Grafana dashboard uses the provisioned datasource and only the agreed
metric names; the Kubernetes manifests' Services, ports, volumes and ConfigMap keys resolve.
Run: /usr/bin/python3 deploy/tests/check_deploy.py   (registered with ctest as deploy_config)
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")

# Metric names the team agreed on (see docs/deploy.md).
METRICS = {
    "monoroute_trainer_jobs", "monoroute_trainer_steps_total",
    "monoroute_trainer_tokens_per_second", "monoroute_trainer_loss",
    "monoroute_trainer_load_max_violation", "monoroute_trainer_load_entropy",
    "monoroute_trainer_checkpoint_seconds", "monoroute_trainer_events_sent_total",
    "monoroute_trainer_events_dropped_total",
    "monoroute_recorder_events_ingested_total", "monoroute_recorder_batches_ingested_total",
    "monoroute_recorder_ingested_bytes_total", "monoroute_recorder_batch_write_seconds",
    "monoroute_recorder_duplicate_batches_total", "monoroute_recorder_rejected_batches_total",
    "monoroute_recorder_db_size_bytes", "monoroute_recorder_pending_compaction_bytes",
    "monoroute_analysis_reports_total", "monoroute_analysis_cache_hits_total",
    "monoroute_analysis_compute_seconds",
}
# gRPC and metrics ports of each service (the project defaults).
PORTS = {"recorder": (7101, 9101), "analysis": (7102, 9102), "trainer": (7103, 9103)}


class Loader(yaml.SafeLoader):
    """SafeLoader that also accepts Compose's `!reset` / `!override` tags."""


Loader.add_constructor("!reset", lambda loader, node: None)
Loader.add_constructor("!override", lambda loader, node: loader.construct_object(
    node) if not isinstance(node, yaml.MappingNode) else loader.construct_mapping(node))


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=Loader) if d is not None]


def flags(command):
    """{'--listen': '0.0.0.0:7101', ...} of a command list of --flag=value items."""
    out = {}
    for item in command[1:]:
        if item.startswith("--") and "=" in item:
            k, v = item.split("=", 1)
            out[k] = v
    return out


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def promtool(path):
    tool = shutil.which("promtool")
    if tool is None:
        raise unittest.SkipTest("needs promtool (Debian package prometheus): absent")
    r = subprocess.run([tool, "check", "config", path], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


class YamlParses(unittest.TestCase):
    def test_every_yaml_parses(self):
        files = [os.path.join(REPO, "docker-compose.yml")]
        files += glob.glob(os.path.join(DEPLOY, "**", "*.y*ml"), recursive=True)
        self.assertGreaterEqual(len(files), 10)
        for f in files:
            with self.subTest(file=os.path.relpath(f, REPO)):
                self.assertTrue(load_all(f), f"{f}: empty")

    def test_dashboard_json_parses(self):
        with open(os.path.join(DEPLOY, "grafana", "dashboards", "monoroute.json")) as f:
            self.assertIn("panels", json.load(f))


class Compose(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = load_all(os.path.join(REPO, "docker-compose.yml"))[0]
        cls.svcs = cls.doc["services"]

    def test_services_present(self):
        self.assertLessEqual({"recorder", "analysis", "trainer", "prometheus", "grafana"},
                             set(self.svcs))

    def test_service_commands_and_ports(self):
        for name, (grpc_port, metrics_port) in PORTS.items():
            with self.subTest(service=name):
                svc = self.svcs[name]
                self.assertEqual(svc["command"][0], f"monoroute-{name}")
                f = flags(svc["command"])
                self.assertEqual(f["--listen"], f"0.0.0.0:{grpc_port}")
                self.assertEqual(f["--metrics-listen"], f"0.0.0.0:{metrics_port}")
                self.assertIn(f"127.0.0.1:{grpc_port}:{grpc_port}", svc["ports"])
                self.assertIn(str(metrics_port), [str(p) for p in svc.get("expose", [])])
                if name != "recorder":
                    self.assertEqual(f["--recorder"], "recorder:7101")
                    self.assertIn("recorder", svc["depends_on"])

    def test_volumes_consistent(self):
        declared = set(self.doc.get("volumes", {}))
        used = set()
        for name, svc in self.svcs.items():
            for v in svc.get("volumes", []):
                src, dst = v.split(":")[:2]
                if src.startswith((".", "/", "$")):
                    if not src.startswith("$"):
                        self.assertTrue(os.path.exists(os.path.join(REPO, src)),
                                        f"{name}: bind source {src} missing")
                else:
                    self.assertIn(src, declared, f"{name}: volume {src} not declared")
                    used.add(src)
        self.assertEqual(declared, used, "declared volumes that no service mounts")
        mounts = lambda s: {v.split(":")[1]: v.split(":")[0] for v in self.svcs[s]["volumes"]}
        self.assertEqual(mounts("recorder")["/data/recorder"], "recorder-data")
        self.assertEqual(flags(self.svcs["recorder"]["command"])["--data-dir"], "/data/recorder")
        self.assertEqual(mounts("trainer")["/data/trainer"], "trainer-data")
        self.assertEqual(flags(self.svcs["trainer"]["command"])["--data-dir"], "/data/trainer")

    def test_trainer_gpu_reservation(self):
        devices = self.svcs["trainer"]["deploy"]["resources"]["reservations"]["devices"]
        self.assertEqual(devices[0]["driver"], "nvidia")
        self.assertIn("gpu", devices[0]["capabilities"])
        cpu = load_all(os.path.join(DEPLOY, "compose.cpu.yml"))[0]
        self.assertIn("trainer", cpu["services"])

    def test_prometheus_targets_match_services(self):
        prom = load_all(os.path.join(DEPLOY, "prometheus", "prometheus.yml"))[0]
        targets = {t for sc in prom["scrape_configs"] for c in sc["static_configs"]
                   for t in c["targets"]}
        for name, (_, metrics_port) in PORTS.items():
            self.assertIn(f"{name}:{metrics_port}", targets)
        mount = self.svcs["prometheus"]["volumes"][0].split(":")
        self.assertEqual(os.path.normpath(os.path.join(REPO, mount[0])),
                         os.path.join(DEPLOY, "prometheus", "prometheus.yml"))
        trainer = [sc for sc in prom["scrape_configs"] if sc["job_name"] == "monoroute-trainer"]
        self.assertTrue(trainer[0].get("honor_labels"), "trainer's own `job` label needs it")

    def test_promtool_accepts_compose_config(self):
        rc, out = promtool(os.path.join(DEPLOY, "prometheus", "prometheus.yml"))
        self.assertEqual(rc, 0, out)


class Grafana(unittest.TestCase):
    def test_dashboard_uses_provisioned_datasource_and_agreed_metrics(self):
        ds = load_all(os.path.join(DEPLOY, "grafana", "provisioning", "datasources",
                                   "prometheus.yml"))[0]["datasources"][0]
        self.assertEqual(ds["url"], "http://prometheus:9090")
        with open(os.path.join(DEPLOY, "grafana", "dashboards", "monoroute.json")) as f:
            dash = json.load(f)
        used = set()
        for p in dash["panels"]:
            self.assertEqual(p["datasource"]["uid"], ds["uid"])
            for t in p["targets"]:
                for m in re.findall(r"monoroute_[a-z_]+", t["expr"]):
                    m = re.sub(r"_(bucket|sum|count)$", "", m)
                    self.assertIn(m, METRICS, f"panel '{p['title']}': unknown metric {m}")
                    used.add(m)
        titles = " ".join(p["title"].lower() for p in dash["panels"])
        for topic in ("loss", "tokens", "load balance", "recorder ingest", "analysis latency"):
            self.assertIn(topic, titles)
        self.assertEqual(used, METRICS, "agreed metrics without a panel")
        prov = load_all(os.path.join(DEPLOY, "grafana", "provisioning", "dashboards",
                                     "monoroute.yml"))[0]
        compose = load_all(os.path.join(REPO, "docker-compose.yml"))[0]
        self.assertIn(f"./deploy/grafana/dashboards:{prov['providers'][0]['options']['path']}:ro",
                      compose["services"]["grafana"]["volumes"])


class Kubernetes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = []
        for f in sorted(glob.glob(os.path.join(DEPLOY, "k8s", "*.yaml"))):
            if os.path.basename(f) != "kustomization.yaml":
                cls.docs += load_all(f)
        cls.by_kind = {}
        for d in cls.docs:
            cls.by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d

    def test_kustomization_lists_every_manifest(self):
        k = load_all(os.path.join(DEPLOY, "k8s", "kustomization.yaml"))[0]
        files = {os.path.basename(f) for f in glob.glob(os.path.join(DEPLOY, "k8s", "*.yaml"))}
        self.assertEqual(set(k["resources"]), files - {"kustomization.yaml"})

    def test_objects_well_formed(self):
        for d in self.docs:
            self.assertIn("apiVersion", d)
            self.assertTrue(d["metadata"]["name"])
            if d["kind"] != "Namespace":
                self.assertEqual(d["metadata"]["namespace"], "monoroute")

    def workloads(self):
        for kind in ("Deployment", "StatefulSet"):
            yield from self.by_kind.get(kind, {}).values()

    def test_services_select_workloads_and_ports_resolve(self):
        for svc in self.by_kind["Service"].values():
            with self.subTest(service=svc["metadata"]["name"]):
                sel = svc["spec"]["selector"]
                matches = [w for w in self.workloads()
                           if sel.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
                self.assertEqual(len(matches), 1)
                port_names = {p["name"] for c in matches[0]["spec"]["template"]["spec"]["containers"]
                              for p in c.get("ports", [])}
                for p in svc["spec"]["ports"]:
                    self.assertIn(p["targetPort"], port_names)

    def test_recorder_statefulset_with_volume(self):
        rec = self.by_kind["StatefulSet"]["recorder"]
        claim = rec["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
        c = rec["spec"]["template"]["spec"]["containers"][0]
        self.assertIn({"name": claim, "mountPath": "/data/recorder"}, c["volumeMounts"])
        self.assertEqual(flags(c["command"])["--data-dir"], "/data/recorder")

    def test_trainer_gpu_and_persistent_store(self):
        tr = self.by_kind["Deployment"]["trainer"]
        spec = tr["spec"]["template"]["spec"]
        c = spec["containers"][0]
        self.assertEqual(c["resources"]["limits"]["nvidia.com/gpu"], 1)
        claim = spec["volumes"][0]["persistentVolumeClaim"]["claimName"]
        self.assertIn(claim, self.by_kind["PersistentVolumeClaim"])
        self.assertEqual(flags(c["command"])["--data-dir"], "/data/trainer")

    def test_configmap_keys_exist(self):
        cm = self.by_kind["ConfigMap"]["monoroute-config"]["data"]
        for w in self.workloads():
            for c in w["spec"]["template"]["spec"]["containers"]:
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("configMapKeyRef")
                    if ref:
                        self.assertIn(ref["key"], cm, f"{w['metadata']['name']}: {ref['key']}")
            for v in w["spec"]["template"]["spec"].get("volumes", []):
                for item in v.get("configMap", {}).get("items", []):
                    self.assertIn(item["key"], cm)

    def test_promtool_accepts_k8s_config(self):
        cm = self.by_kind["ConfigMap"]["monoroute-config"]["data"]
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            f.write(cm["prometheus.yml"])
            f.flush()
            rc, out = promtool(f.name)
        self.assertEqual(rc, 0, out)


class Dockerfiles(unittest.TestCase):
    def test_dockerfiles(self):
        cpu = read(os.path.join(DEPLOY, "docker", "Dockerfile"))
        self.assertIn("FROM debian:12", cpu)
        self.assertIn("scripts/bootstrap.sh", cpu)
        self.assertTrue(os.path.exists(os.path.join(REPO, "scripts", "bootstrap.sh")))
        self.assertTrue(os.path.exists(os.path.join(REPO, "scripts", "build.sh")))
        cuda = read(os.path.join(DEPLOY, "docker", "Dockerfile.cuda"))
        self.assertIn("download.pytorch.org/libtorch", cuda)
        self.assertIn("MONOROUTE_WITH_SERVICES", cuda)
        compose = load_all(os.path.join(REPO, "docker-compose.yml"))[0]
        self.assertEqual(compose["services"]["recorder"]["build"]["dockerfile"],
                         "deploy/docker/Dockerfile")


if __name__ == "__main__":
    unittest.main(verbosity=1)
