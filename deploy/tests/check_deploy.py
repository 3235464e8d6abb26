#!/usr/bin/python3
"""Static checks of monoroute's deploy files (no Docker engine or cluster needed).

Every YAML parses; docker-compose.yml's services, ports, volumes and Prometheus targets agree
with each other and with the agreed service flags; `promtool check config` accepts both
Prometheus configs; the Grafana dashboard uses the provisioned datasource and only the agreed
metric names; the Kubernetes manifests' Services, ports, volumes and ConfigMap keys resolve;
deploy/tls/make-certs.sh's certificates chain to its CA and name the services, and every TLS/token
flag of compose and Kubernetes points at a mounted secret holding the right file.
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
# The metrics every service exposes through common/service (service_metrics.h).
for _svc in ("recorder", "analysis", "trainer"):
    METRICS |= {f"monoroute_{_svc}_rpc_requests_total", f"monoroute_{_svc}_rpc_seconds",
                f"monoroute_{_svc}_build_info"}
# gRPC and metrics ports of each service (the project defaults; metrics off Prometheus' exporter
# range 9100-9999, whose 9101-9103 belong to other exporters).
PORTS = {"recorder": (7101, 7111), "analysis": (7102, 7112), "trainer": (7103, 7113)}
# The plaintext health-only gRPC port of each service (--health-listen).
HEALTH_PORTS = {"recorder": 7121, "analysis": 7122, "trainer": 7123}
# Where the images install the data (cmake --install --prefix /opt/monoroute).
SHARE = "/opt/monoroute/share/monoroute"


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


def secret_flags(svc):
    """{flag: secret file name} a service's TLS and token flags must point at (compose and k8s)."""
    files = {"--tls-cert": f"{svc}.crt", "--tls-key": f"{svc}.key",
             "--auth-token-file": f"{svc}.token"}
    if svc == "recorder":
        files["--tls-client-ca"] = "ca.crt"
    else:
        files.update({"--recorder-tls-ca": "ca.crt", "--recorder-tls-cert": "client.crt",
                      "--recorder-tls-key": "client.key"})
    if svc == "trainer":
        files["--recorder-token-file"] = "recorder.token"
    return files


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def promtool(path, what="config"):
    """(exit code, output) of `promtool check <what> <path>` (what: config or rules); skips the
    test when promtool is absent."""
    tool = shutil.which("promtool")
    if tool is None:
        raise unittest.SkipTest("needs promtool (Debian package prometheus): absent")
    r = subprocess.run([tool, "check", what, path], capture_output=True, text=True)
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
        for sc in prom["scrape_configs"]:
            # The trainer labels its series job_id, so nothing clashes with Prometheus' `job`.
            self.assertFalse(sc.get("honor_labels"), sc["job_name"])

    def test_healthchecks_ask_the_health_port(self):
        for name, port in HEALTH_PORTS.items():
            with self.subTest(service=name):
                svc = self.svcs[name]
                self.assertEqual(flags(svc["command"])["--health-listen"], f"0.0.0.0:{port}")
                hc = svc["healthcheck"]
                self.assertEqual(hc["test"][:3], ["CMD", "monoroute", "health"])
                self.assertEqual(hc["test"][hc["test"].index("--address") + 1],
                                 f"127.0.0.1:{port}")
                for key in ("interval", "timeout", "retries"):
                    self.assertIn(key, hc)
        for name in ("analysis", "trainer"):
            self.assertEqual(self.svcs[name]["depends_on"]["recorder"]["condition"],
                             "service_healthy")

    def test_trainer_mounts_inputs_and_outputs_under_its_allowed_root(self):
        f = flags(self.svcs["trainer"]["command"])
        self.assertEqual(f["--allowed-root"], "/data")
        # "SRC:DST[:ro]", SRC possibly "${VAR:-default}"
        target = lambda v: [x for x in v.split(":") if x not in ("ro", "rw")][-1]
        mounts = {target(v): v for v in self.svcs["trainer"]["volumes"]}
        for path in ("/data/models", "/data/corpus"):
            self.assertTrue(mounts[path].endswith(":ro"), mounts[path])
        self.assertFalse(mounts["/data/trainer"].endswith(":ro"))

    def test_analysis_has_the_installed_lexicon(self):
        self.assertEqual(flags(self.svcs["analysis"]["command"])["--lexicon"], f"{SHARE}/lexicon")

    def test_promtool_accepts_compose_config(self):
        rc, out = promtool(os.path.join(DEPLOY, "prometheus", "prometheus.yml"))
        self.assertEqual(rc, 0, out)


class Images(unittest.TestCase):
    """The Dockerfiles install with `cmake --install` and the Python client with pip."""

    def test_cpu_image(self):
        text = read(os.path.join(DEPLOY, "docker", "Dockerfile"))
        self.assertIn("cmake --install build --prefix /opt/monoroute", text)
        self.assertIn("pip install --no-deps --no-build-isolation", text)
        self.assertIn("clients/python", text)
        self.assertNotIn("cp build/bin", text)
        for port in list(HEALTH_PORTS.values()) + [m for _, m in PORTS.values()]:
            self.assertIn(str(port), text.split("EXPOSE", 1)[1].split("\n", 1)[0])

    def test_cuda_image(self):
        text = read(os.path.join(DEPLOY, "docker", "Dockerfile.cuda"))
        self.assertIn("cmake --install build --prefix /opt/monoroute", text)
        self.assertNotIn("cp build/bin", text)


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
        data = next(m["name"] for m in c["volumeMounts"] if m["mountPath"] == "/data/trainer")
        volume = next(v for v in spec["volumes"] if v["name"] == data)
        self.assertIn(volume["persistentVolumeClaim"]["claimName"],
                      self.by_kind["PersistentVolumeClaim"])
        self.assertEqual(flags(c["command"])["--data-dir"], "/data/trainer")

    def test_trainer_mounts_models_and_corpora_under_its_allowed_root(self):
        spec = self.by_kind["Deployment"]["trainer"]["spec"]["template"]["spec"]
        c = spec["containers"][0]
        self.assertEqual(flags(c["command"])["--allowed-root"], "/data")
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        for path in ("/data/models", "/data/corpus"):
            m = mounts[path]
            self.assertTrue(m.get("readOnly"), path)
            claim = volumes[m["name"]]["persistentVolumeClaim"]["claimName"]
            self.assertIn(claim, self.by_kind["PersistentVolumeClaim"])

    def test_grpc_health_probes(self):
        for name, port in HEALTH_PORTS.items():
            w = [d for d in self.workloads() if d["metadata"]["name"] == name][0]
            with self.subTest(workload=name):
                c = w["spec"]["template"]["spec"]["containers"][0]
                self.assertEqual(flags(c["command"])["--health-listen"], f"0.0.0.0:{port}")
                self.assertIn(port, [p["containerPort"] for p in c["ports"]])
                self.assertEqual(c["readinessProbe"]["grpc"], {"port": port})
                self.assertEqual(c["livenessProbe"]["grpc"], {"port": port, "service": "liveness"})
                self.assertNotIn("tcpSocket", c["readinessProbe"])
                self.assertNotIn("httpGet", c["livenessProbe"])
                self.assertEqual(flags(c["command"])["--metrics-listen"],
                                 f"0.0.0.0:{PORTS[name][1]}")
        ana = [d for d in self.workloads() if d["metadata"]["name"] == "analysis"][0]
        self.assertEqual(flags(ana["spec"]["template"]["spec"]["containers"][0]["command"])[
            "--lexicon"], f"{SHARE}/lexicon")

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


SERVICES = ("recorder", "analysis", "trainer")


def secret_files():
    """Names of the files deploy/tls/make-certs.sh writes, and the directory it wrote them to."""
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("needs openssl (Debian package openssl): absent")
    out = os.path.join(tempfile.mkdtemp(prefix="monoroute_certs_"), "secrets")
    r = subprocess.run(["/bin/sh", os.path.join(DEPLOY, "tls", "make-certs.sh"), out],
                       capture_output=True, text=True, env=dict(os.environ, MONOROUTE_TLS_DAYS="2"))
    if r.returncode != 0:
        raise AssertionError("make-certs.sh failed: " + r.stdout + r.stderr)
    return set(os.listdir(out)), out


def openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


class Tls(unittest.TestCase):
    """make-certs.sh's CA and certificates, and how compose and Kubernetes mount and use them."""

    @classmethod
    def setUpClass(cls):
        cls.files, cls.dir = secret_files()
        cls.compose = load_all(os.path.join(REPO, "docker-compose.yml"))[0]
        cls.k8s = []
        for f in sorted(glob.glob(os.path.join(DEPLOY, "k8s", "*.yaml"))):
            if os.path.basename(f) != "kustomization.yaml":
                cls.k8s += load_all(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(os.path.dirname(cls.dir), ignore_errors=True)

    def test_certificates_chain_and_name_the_services(self):
        expected = {"ca.crt", "ca.key", "client.crt", "client.key"}
        for svc in SERVICES:
            expected |= {f"{svc}.crt", f"{svc}.key", f"{svc}.token"}
        self.assertEqual(self.files, expected)
        ca = os.path.join(self.dir, "ca.crt")
        for svc in SERVICES:
            cert = os.path.join(self.dir, f"{svc}.crt")
            rc, out = openssl("verify", "-CAfile", ca, "-purpose", "sslserver", cert)
            self.assertEqual(rc, 0, out)
            rc, out = openssl("x509", "-in", cert, "-noout", "-ext", "subjectAltName")
            for name in (f"DNS:{svc}", f"DNS:{svc}.monoroute.svc.cluster.local",
                         "DNS:localhost", "IP Address:127.0.0.1"):
                self.assertIn(name, out, f"{svc}.crt")
            rc, _ = openssl("x509", "-in", cert, "-noout", "-checkend", "86400")
            self.assertEqual(rc, 0, f"{svc}.crt expires within a day")
        rc, out = openssl("verify", "-CAfile", ca, "-purpose", "sslclient",
                          os.path.join(self.dir, "client.crt"))
        self.assertEqual(rc, 0, out)
        self.assertEqual(os.stat(os.path.join(self.dir, "ca.key")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.dir).st_mode & 0o777, 0o700)
        for svc in SERVICES:
            token = read(os.path.join(self.dir, f"{svc}.token")).strip()
            self.assertRegex(token, r"^[0-9a-f]{64}$")
        # A second run never overwrites the CA.
        r = subprocess.run(["/bin/sh", os.path.join(DEPLOY, "tls", "make-certs.sh"), self.dir],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("exists", r.stderr)

    def test_secrets_stay_out_of_git(self):
        self.assertIn("/secrets/", read(os.path.join(DEPLOY, ".gitignore")).split())

    def test_compose_services_use_their_secrets(self):
        secrets = self.compose["secrets"]
        for name, spec in secrets.items():
            src = spec["file"]
            self.assertTrue(src.startswith("./deploy/secrets/"), f"{name}: {src}")
            self.assertIn(os.path.basename(src), self.files - {"ca.key"}, f"{name}: {src}")
        for svc in SERVICES:
            with self.subTest(service=svc):
                s = self.compose["services"][svc]
                f = flags(s["command"])
                mounted = set(s.get("secrets", []))
                self.assertLessEqual(mounted, set(secrets))

                def file_of(flag):
                    path = f[flag]
                    self.assertTrue(path.startswith("/run/secrets/"), f"{flag}={path}")
                    name = path[len("/run/secrets/"):]
                    self.assertIn(name, mounted, f"{flag}: secret {name} not mounted")
                    return os.path.basename(secrets[name]["file"])

                for flag, want in secret_flags(svc).items():
                    self.assertEqual(file_of(flag), want, flag)

    def test_kubernetes_flags_point_into_mounted_secret_items(self):
        workloads = {d["metadata"]["name"]: d for d in self.k8s
                     if d["kind"] in ("Deployment", "StatefulSet")}
        for svc in SERVICES:
            with self.subTest(workload=svc):
                spec = workloads[svc]["spec"]["template"]["spec"]
                self.assertEqual(spec["securityContext"].get("fsGroup"), 10001,
                                 "secret files are 0440: the pod's group must read them")
                c = spec["containers"][0]
                f = flags(c["command"])
                volumes = {v["name"]: v for v in spec.get("volumes", [])}
                mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}

                def key_of(flag):
                    path = f[flag]
                    d, base = os.path.split(path)
                    self.assertIn(d, mounts, f"{flag}={path}: directory not mounted")
                    secret = volumes[mounts[d]]["secret"]
                    self.assertIn(secret["secretName"], ("monoroute-tls", "monoroute-tokens"))
                    items = {i["path"]: i["key"] for i in secret["items"]}
                    self.assertIn(base, items, f"{flag}={path}: no such item")
                    self.assertIn(items[base], self.files - {"ca.key"})
                    return items[base]

                for flag, want in secret_flags(svc).items():
                    self.assertEqual(key_of(flag), want, flag)

    def test_kubernetes_addresses_are_in_the_certificates(self):
        cm = [d for d in self.k8s if d["kind"] == "ConfigMap"][0]["data"]
        for svc in SERVICES:
            host = cm[f"MONOROUTE_{svc.upper()}_ADDR"].rsplit(":", 1)[0]
            rc, out = openssl("x509", "-in", os.path.join(self.dir, f"{svc}.crt"), "-noout",
                              "-ext", "subjectAltName")
            self.assertIn(f"DNS:{host}", out)


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
