#!/usr/bin/python3
"""Static checks of deploy/k8s/distributed (no cluster or kubectl needed).

Renders both variants the way `kubectl kustomize` does for these files (resources resolved
recursively, the kustomization's namespace applied) and checks: every object is well formed; the
PyTorchJob (kubeflow.org/v1) has a Master and Workers whose `pytorch` container runs `monoroute
train` on the job spec's mount with the operator's port; the Indexed Job's RANK is the completion
index, WORLD_SIZE equals completions and parallelism, MASTER_ADDR names index 0 through the
headless Service that is the pods' subdomain; every worker requests a GPU, mounts the shared volume,
the job ConfigMap and the TLS / token files its recorder flags name; the job spec puts data and
output_dir on the shared volume and its global batch divides by the world size.
Run: /usr/bin/python3 deploy/tests/check_distributed.py   (ctest: deploy_distributed)
"""

import os
import unittest

import yaml

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BASE = os.path.join(REPO, "deploy", "k8s")
DIST = os.path.join(BASE, "distributed")
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}


def render(directory):
    """The objects `kubectl kustomize directory` prints for these kustomizations."""
    with open(os.path.join(directory, "kustomization.yaml"), encoding="utf-8") as f:
        k = yaml.safe_load(f)
    objects = []
    for res in k.get("resources", []):
        path = os.path.normpath(os.path.join(directory, res))
        if os.path.isdir(path):
            objects += render(path)
        else:
            with open(path, encoding="utf-8") as f:
                objects += [d for d in yaml.safe_load_all(f) if d is not None]
    if "namespace" in k:
        for o in objects:
            if o["kind"] not in CLUSTER_SCOPED:
                o["metadata"]["namespace"] = k["namespace"]
    return objects


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def flag(command, name):
    for arg in command:
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


class Common:
    """Checks of one rank's pod template, shared by both variants."""

    def check_pod(self, pod, container_name):
        spec = pod["spec"]
        (c,) = [c for c in spec["containers"] if c["name"] == container_name]
        cmd = c["command"]
        self.assertEqual(cmd[:2], ["monoroute", "train"])
        self.assertNotIn("--nproc-per-node", " ".join(cmd))  # one rank per pod
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        for name in mounts:
            self.assertIn(name, volumes)
        self.assertEqual(os.path.dirname(flag(cmd, "--config")), mounts["job"])
        self.assertEqual(volumes["job"]["configMap"]["name"], self.job_cm["metadata"]["name"])
        self.assertEqual(mounts["shared"], "/shared")
        self.assertEqual(volumes["shared"]["persistentVolumeClaim"]["claimName"],
                         self.pvc["metadata"]["name"])
        self.assertEqual(str(c["resources"]["limits"]["nvidia.com/gpu"]), "1")
        # Every recorder file flag names a file of a mounted secret.
        files = {}
        for name, path in mounts.items():
            sec = volumes[name].get("secret")
            if sec:
                for item in sec["items"]:
                    files[os.path.join(path, item["path"])] = (sec["secretName"], item["key"])
        for f in ("--recorder-tls-ca", "--recorder-tls-cert", "--recorder-tls-key",
                  "--recorder-token-file"):
            self.assertIn(flag(cmd, f), files, f)
        self.assertTrue(flag(cmd, "--run-id"))
        self.assertEqual(flag(cmd, "--recorder"), "$(MONOROUTE_RECORDER_ADDR)")
        ref = env_of(c)["MONOROUTE_RECORDER_ADDR"]["valueFrom"]["configMapKeyRef"]
        with open(os.path.join(BASE, "configmap.yaml"), encoding="utf-8") as f:
            base_cm = yaml.safe_load(f)
        self.assertEqual(ref["name"], base_cm["metadata"]["name"])
        self.assertIn(ref["key"], base_cm["data"])
        return c

    def check_job_spec(self, world_size):
        spec = yaml.safe_load(self.job_cm["data"]["job.yaml"])
        self.assertEqual(spec["optim"]["batch_size"] % world_size, 0)
        self.assertTrue(spec["output_dir"].startswith("/shared/"))
        self.assertTrue(spec["data"]["train_path"].startswith("/shared/"))
        self.assertTrue(spec["model_dir"].startswith("/shared/"))
        self.assertEqual(spec["device"], "cuda")

    def load(self, directory):
        self.objects = render(directory)
        for o in self.objects:
            self.assertIn("apiVersion", o)
            self.assertTrue(o["metadata"]["name"])
            self.assertEqual(o["metadata"]["namespace"], "monoroute")
        (self.job_cm,) = [o for o in by_kind(self.objects, "ConfigMap")
                          if "job.yaml" in o.get("data", {})]
        (self.pvc,) = by_kind(self.objects, "PersistentVolumeClaim")
        self.assertIn("ReadWriteMany", self.pvc["spec"]["accessModes"])


class PyTorchJobTest(Common, unittest.TestCase):
    def test_default_render_is_the_pytorchjob(self):
        self.load(DIST)
        self.assertEqual(len(by_kind(self.objects, "PyTorchJob")), 1)

    def test_pytorchjob(self):
        self.load(os.path.join(DIST, "pytorchjob"))
        (job,) = by_kind(self.objects, "PyTorchJob")
        self.assertEqual(job["apiVersion"], "kubeflow.org/v1")
        specs = job["spec"]["pytorchReplicaSpecs"]
        self.assertEqual(specs["Master"]["replicas"], 1)
        world = 1 + specs["Worker"]["replicas"]
        for role in ("Master", "Worker"):
            c = self.check_pod(specs[role]["template"], "pytorch")
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            self.assertIn("pytorchjob-port", ports)  # the operator's MASTER_PORT
            # The operator sets the rank environment: none of it hard-coded here.
            for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
                self.assertNotIn(var, env_of(c))
        self.check_job_spec(world)


class IndexedJobTest(Common, unittest.TestCase):
    def test_indexed_job_and_headless_service(self):
        self.load(os.path.join(DIST, "indexed-job"))
        (job,) = by_kind(self.objects, "Job")
        (svc,) = by_kind(self.objects, "Service")
        spec = job["spec"]
        self.assertEqual(spec["completionMode"], "Indexed")
        self.assertEqual(spec["completions"], spec["parallelism"])
        pod = spec["template"]
        self.assertEqual(svc["spec"]["clusterIP"], "None")
        self.assertTrue(svc["spec"]["publishNotReadyAddresses"])
        self.assertEqual(pod["spec"]["subdomain"], svc["metadata"]["name"])
        self.assertEqual(svc["spec"]["selector"], {"job-name": job["metadata"]["name"]})
        c = self.check_pod(pod, "rank")
        env = env_of(c)
        self.assertEqual(
            env["RANK"]["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        self.assertEqual(int(env["WORLD_SIZE"]["value"]), spec["completions"])
        self.assertEqual(env["MASTER_ADDR"]["value"],
                         "%s-0.%s" % (job["metadata"]["name"], svc["metadata"]["name"]))
        port = int(env["MASTER_PORT"]["value"])
        self.assertIn(port, [p["port"] for p in svc["spec"]["ports"]])
        self.assertIn(port, [p["containerPort"] for p in c["ports"]])
        self.check_job_spec(spec["completions"])


if __name__ == "__main__":
    unittest.main()
